import { groupPlans, planSummary } from '../../src/run/fleet/plans.js';
import { fleetExitStatus, rollOut, type WorkResult } from '../../src/run/fleet/rollout.js';
import { parseTargetsFile, targetsFromList, targetsOnServer, type FleetTarget } from '../../src/run/fleet/targets.js';
import { summaryTable } from '../../src/cli/commands/fleet/output.js';

describe('targets', () => {
  test('a targets file: comments, blank lines, optional labels; unlabelled URLs shown redacted', () => {
    const text = '# fleet\n\ntenant-1 postgres://u:pw-secret@h/t1  # first\npostgres://u:pw-secret@h/t2\nfile.db\n';
    expect(parseTargetsFile(text, 'f')).toEqual([
      { label: 'tenant-1', url: 'postgres://u:pw-secret@h/t1' },
      { label: 'postgres://u:***@h/t2', url: 'postgres://u:pw-secret@h/t2' },
      { label: 'file.db', url: 'file.db' },
    ]);
  });

  test('refused: three words, a bad URL, a label twice, no target', () => {
    expect(() => parseTargetsFile('a b c', 'f')).toThrow('f:1: expected "URL" or "LABEL URL", got 3 words');
    expect(() => parseTargetsFile('x mysql://h/d', 'f')).toThrow(/^f:1: unsupported database URL/);
    expect(() => parseTargetsFile('x a.db\nx b.db', 'f')).toThrow('f: target x is listed twice');
    expect(() => parseTargetsFile('# none', 'f')).toThrow('f: no targets');
  });

  test('a name from the targets query is data: it replaces the database and cannot add a host or option', () => {
    const [t] = targetsOnServer('postgres://u:pw@h:5432/postgres?sslmode=disable', ['evil/../x?host=other#y']);
    expect(t.label).toBe('evil/../x?host=other#y');
    const url = new URL(t.url);
    expect([url.host, decodeURIComponent(url.pathname.slice(1)), url.search]).toEqual(['h:5432', 'evil/../x?host=other#y', '?sslmode=disable']);
  });
});

describe('rollout', () => {
  const fleet: FleetTarget[] = ['a', 'b', 'c', 'd', 'e', 'f'].map((label) => ({ label, url: `${label}.db` }));
  const working = (failing: string[]) => {
    const ran: string[] = [];
    const work = async (t: FleetTarget): Promise<WorkResult> => {
      ran.push(t.label);
      await new Promise((r) => setTimeout(r, 1));
      return failing.includes(t.label) ? { status: 'failed', count: 0, error: 'boom' } : { status: 'ok', count: 3 };
    };
    return { ran, work };
  };

  test('a failing canary leaves every other target untouched', async () => {
    const { ran, work } = working(['a']);
    const out = await rollOut(fleet, work, { canary: 1, parallel: 4, maxFailures: 5 });
    expect(ran).toEqual(['a']);
    expect(out.map((o) => o.status)).toEqual(['failed', 'untouched', 'untouched', 'untouched', 'untouched', 'untouched']);
    expect(fleetExitStatus(out)).toBe(1);
  });

  test('--max-failures 1 stops at the second failure (one at a time)', async () => {
    const { ran, work } = working(['b', 'd', 'e']);
    const out = await rollOut(fleet, work, { canary: 1, parallel: 1, maxFailures: 1 });
    expect(ran).toEqual(['a', 'b', 'c', 'd']);
    expect(out.map((o) => o.status)).toEqual(['ok', 'failed', 'ok', 'failed', 'untouched', 'untouched']);
  });

  test('the canary is the first candidate; outcomes stay in the fleet order', async () => {
    const { ran, work } = working([]);
    const out = await rollOut(fleet, work, { canary: 2, parallel: 4, maxFailures: 0, canaryCandidate: (t) => t.label > 'c' });
    expect(ran.slice(0, 2)).toEqual(['d', 'e']);
    expect(out.map((o) => [o.label, o.canary ?? false])).toEqual([['a', false], ['b', false], ['c', false], ['d', true], ['e', true], ['f', false]]);
    expect(fleetExitStatus(out)).toBe(0);
  });
});

test('plans are grouped by statements, the largest group first', () => {
  const o = (label: string, status: 'pending' | 'ok' | 'unreachable', planKey?: string, count = 0) => ({ label, status, planKey, count, ms: 0 });
  const outcomes = [o('a', 'pending', 'k2', 4), o('b', 'pending', 'k1', 51), o('c', 'pending', 'k1', 51), o('d', 'ok'), o('e', 'unreachable')];
  const groups = groupPlans(outcomes);
  expect(groups.map((g) => [g.id, g.targets])).toEqual([['A', ['b', 'c']], ['B', ['a']]]);
  expect(planSummary(outcomes, groups)).toBe('5 targets: 2 share plan A (51 steps), 1 has plan B (4 steps), 1 up to date, 1 unreachable');
});

describe('targets in the config file', () => {
  test('URLs or { label, url }; an unlabelled URL is shown redacted', () => {
    expect(targetsFromList(['postgres://u:pw@h/a', { label: 'b', url: 'b.db' }], 'config c.json')).toEqual([
      { label: 'postgres://u:***@h/a', url: 'postgres://u:pw@h/a' },
      { label: 'b', url: 'b.db' },
    ]);
  });

  test('refused with where: not a list, a bad entry, an unknown field, a bad URL, a label twice, none', () => {
    expect(() => targetsFromList('a.db', 'config c')).toThrow('config c: targets must be a list of URLs or { label?, url }');
    expect(() => targetsFromList([3], 'config c')).toThrow('config c: targets[0]: expected a URL or { label?, url }');
    expect(() => targetsFromList([{ url: 'a.db', name: 'x' }], 'config c')).toThrow('config c: targets[0]: unknown field "name" (known: label, url)');
    expect(() => targetsFromList([{ label: '', url: 'a.db' }], 'config c')).toThrow('config c: targets[0]: label must be a non-empty string');
    expect(() => targetsFromList(['a.db', { url: 'mysql://h/d' }], 'config c')).toThrow(/^config c: targets\[1\]: unsupported database URL/);
    expect(() => targetsFromList([{ label: 'x', url: 'a.db' }, { label: 'x', url: 'b.db' }], 'config c')).toThrow('config c: target x is listed twice');
    expect(() => targetsFromList([], 'config c')).toThrow('config c: no targets');
  });
});

test('the summary table: lock wait for apply and rollback, — when none was taken, blank when untouched', () => {
  const outcomes = [
    { label: 'a', status: 'ok' as const, count: 3, ms: 40, lockWaitMs: 12 },
    { label: 'b', status: 'failed' as const, count: 0, ms: 5, error: 'boom' },
    { label: 'c', status: 'untouched' as const, count: 0, ms: 0 },
  ];
  expect(summaryTable(outcomes, 'steps', { lockWait: true })).toEqual([
    'target  status     steps   time  lock wait  error',
    '------  ---------  -----  -----  ---------  -----',
    'a       ok             3  40 ms      12 ms',
    'b       failed         0   5 ms          —  boom',
    'c       untouched      0',
  ]);
  expect(summaryTable(outcomes, 'drift')[0]).toBe('target  status     drift   time  error');
});
