import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupPlans, planSummary } from '../../src/run/fleet/plans.js';
import { fleetExitStatus, rollOut, type TargetOutcome, type WorkResult } from '../../src/run/fleet/rollout.js';
import { readFleetState, rolloutRunsOf, stateRecorder, type FleetState } from '../../src/run/fleet/state.js';
import { parseTargetsFile, targetsFromList, targetsOnServer, type FleetTarget } from '../../src/run/fleet/targets.js';
import { fleetProgress, progressBar, summaryTable } from '../../src/cli/commands/fleet/output.js';

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

test('exit status: a target left on purpose (untouched, with its note) is done; one the rollout stopped before is not', () => {
  const ok = { label: 'a', status: 'ok' as const, count: 1, ms: 1 };
  expect(fleetExitStatus([ok, { label: 'b', status: 'untouched', count: 0, ms: 0, note: 'the last rollout applied nothing here' }])).toBe(0);
  expect(fleetExitStatus([ok, { label: 'b', status: 'untouched', count: 0, ms: 0 }])).toBe(2);
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

test('progress on a terminal: each target\'s line, then the bar redrawn under it; erased when the last target ends', () => {
  expect(progressBar(3, 12, new Map([['ok', 2], ['failed', 1]]), 12)).toBe('[###---------]  3/12  ok 2 · failed 1');
  const written: string[] = [];
  const terminal = { isTTY: true, columns: 60, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
  const events = fleetProgress('steps', false, terminal);
  events.finished?.({ label: 'a', status: 'ok', count: 3, ms: 40 }, 1, 3);
  events.finished?.({ label: 'b', status: 'failed', count: 0, ms: 5, error: 'boom' }, 2, 3);
  // the rollout stops here: the third target stays untouched, and the bar goes
  events.ended?.();
  expect(written).toEqual([
    '\r\x1b[K[1/3] a: ok, 3 steps, 40 ms\n[#######-------------] 1/3  ok 1',
    '\r\x1b[K[2/3] b: failed, 0 steps, 5 ms — boom\n[#############-------] 2/3  ok 1 · failed 1',
    '\r\x1b[K',
  ]);
});

describe('the state file: the runs of the rollout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sd-fleet-state-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const outcome = (label: string, status: TargetOutcome['status'], applied?: { id: number; fingerprint: string }): TargetOutcome => ({
    label, status, count: 0, ms: 0, ...(applied ? { applied } : {}),
  });
  const runsIn = (state: FleetState | null) => Object.fromEntries(Object.entries(state?.targets ?? {}).map(([l, t]) => [l, (t.runs ?? []).map((r) => r.id)]));
  const rollout = async (path: string, manifest: string, outcomes: TargetOutcome[]) => {
    const recorder = stateRecorder(path, 'apply', await readFleetState(path), manifest);
    for (const o of outcomes) void recorder.record(o);
    await recorder.settled();
    return (await readFleetState(path)) as FleetState;
  };

  test('a re-run of the same manifest resumes the rollout: runs add up; another manifest forgets them all at once', async () => {
    const path = join(dir, 'fleet.txt.state.json');
    const r1 = { id: 4, fingerprint: 'sha256:a' };
    let state = await rollout(path, 'sha256:m1', [outcome('a', 'ok', r1), outcome('b', 'failed', { id: 9, fingerprint: 'sha256:b' }), outcome('c', 'untouched')]);
    expect(runsIn(state)).toEqual({ a: [4], b: [9] });
    // a converged target applies nothing the second time: its run stays the rollout's
    state = await rollout(path, 'sha256:m1', [outcome('a', 'ok'), outcome('b', 'ok', { id: 10, fingerprint: 'sha256:b2' }), outcome('c', 'ok', { id: 2, fingerprint: 'sha256:c' })]);
    expect(runsIn(state)).toEqual({ a: [4], b: [9, 10], c: [2] });
    expect(rolloutRunsOf(state, 'b', path)).toEqual([{ id: 9, fingerprint: 'sha256:b' }, { id: 10, fingerprint: 'sha256:b2' }]);
    // a new manifest whose canary fails: every other target is left with no run of this rollout, its status kept
    const recorder = stateRecorder(path, 'apply', state, 'sha256:m2');
    await recorder.settled();
    state = (await readFleetState(path)) as FleetState;
    expect([state.manifest, runsIn(state), state.targets.c.status]).toEqual(['sha256:m2', { a: [], b: [], c: [] }, 'ok']);
    expect(rolloutRunsOf(state, 'a', path)).toEqual([]);
    expect(rolloutRunsOf(state, 'nobody', path)).toEqual([]);
  });

  test('runs in a state file are data: anything but { id, fingerprint } is refused with where', () => {
    const state = { version: 1, command: 'apply', updatedAt: '', manifest: 'x', targets: { a: { status: 'ok', at: '', runs: [{ id: '1; drop', fingerprint: 'f' }] } } } as unknown as FleetState;
    expect(() => rolloutRunsOf(state, 'a', 'f.json')).toThrow('fleet state f.json: targets["a"].runs is not a list of { id, fingerprint }; remove it to start afresh');
  });
});
