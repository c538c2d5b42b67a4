import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { baselineSchema, demoRows, demoViolations } from '../../manifest/baseline/index.js';
import { freePort, startExtraCluster, type ExtraCluster } from '../helpers/cluster.js';
import { ADMIN_URL, REQUIRE_PG, describeServer, runSql } from '../helpers/postgres.js';
import { seededFile } from '../sqlite/helpers.js';
import { PASSWORD, expectNoPassword, expectOneLineError, runCli, withPassword, type CliResult } from './run-cli.js';

/**
 * One manifest over a fleet: MeStore databases on the main server and on a
 * second cluster, a SQLite file, one database with violating rows and targets
 * nobody listens for. Run through the real executable.
 */
describeServer('fleets: --targets over two servers and SQLite', () => {
  const prefix = `sd_fleet_${Math.random().toString(36).slice(2, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), 'sd-fleet-'));
  const results: CliResult[] = [];
  const urls: Record<string, string> = {};
  let cluster: ExtraCluster | null = null;
  let dead: string[] = [];
  let sqlite: ReturnType<typeof seededFile>;

  const cli = async (args: string[]) => {
    const r = await runCli(['--manifest', 'manifest/index.ts', ...args]);
    results.push(r);
    return r;
  };
  const targetsFile = (name: string, labels: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, ['# fleet under test', ...labels.map((l) => `${l} ${urls[l]}  # ${l}`)].join('\n') + '\n');
    return path;
  };
  const checkCount = async (label: string) =>
    Number((await runSql(urls[label].replace(/:[^:@/]+@/, '@'), `select count(*) as n from pg_constraint where conname like 'ck\\_%'`)).rows[0].n);
  const json = (r: CliResult) =>
    (JSON.parse(r.stdout) as { targets: Record<string, unknown>[] }).targets.map(({ ms, startedAt, finishedAt, lockWaitMs, ...rest }) => rest);
  /** Each target's longest lock wait as the JSON gives it: a number of ms where a lock was taken, else absent. */
  const lockWaits = (r: CliResult) =>
    Object.fromEntries((JSON.parse(r.stdout) as { targets: { target: string; lockWaitMs?: unknown }[] }).targets.map((t) => [t.target, typeof t.lockWaitMs]));
  /** The summary table, whitespace and times aside (widths follow the times). */
  const table = (r: CliResult) => r.stdout.trimEnd().split('\n').map((l) => l.replace(/\d+ ms/g, 'T').replace(/-+/g, '-').replace(/ +/g, ' '));

  async function createDb(adminUrl: string, name: string, seed: string): Promise<string> {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    await runSql(url.toString(), seed);
    return withPassword(url.toString());
  }

  beforeAll(async () => {
    const started = await startExtraCluster();
    cluster = started.cluster;
    if (!cluster) {
      if (REQUIRE_PG) throw new Error(started.reason);
      console.warn(`fleet tests: ${started.reason}; the "second server" databases live on the main server instead`);
    }
    const second = cluster?.adminUrl ?? ADMIN_URL;
    const clean = baselineSchema('postgres') + demoRows();
    for (const n of ['m1', 'm2', 'm3']) urls[n] = await createDb(ADMIN_URL, `${prefix}_${n}`, clean);
    urls.bad = await createDb(ADMIN_URL, `${prefix}_bad`, clean + demoViolations());
    for (const n of ['x1', 'x2']) urls[n] = await createDb(second, `${prefix}_${n}`, clean);
    sqlite = seededFile(baselineSchema('sqlite') + demoRows());
    urls.s1 = `sqlite:///${sqlite.path}`;
    dead = [await freePort(), await freePort()].map((p) => withPassword(`postgres://postgres@127.0.0.1:${p}/nothing`));
    [urls.dead1, urls.dead2] = dead;
  }, 60_000);

  afterAll(async () => {
    for (const n of ['m1', 'm2', 'm3', 'bad']) await runSql(ADMIN_URL, `drop database if exists ${prefix}_${n} with (force)`).catch(() => {});
    for (const n of ['x1', 'x2']) await runSql(cluster?.adminUrl ?? ADMIN_URL, `drop database if exists ${prefix}_${n} with (force)`).catch(() => {});
    cluster?.drop();
    sqlite?.dispose();
    rmSync(dir, { recursive: true, force: true });
    for (const r of results) expectNoPassword(r);
  });

  test('plan groups the targets by identical plan; --targets-query lists one server', async () => {
    const file = targetsFile('plan.txt', ['m1', 'x1', 'bad', 's1', 'dead1']);
    const r = await cli(['plan', '--targets', file, '--format', 'json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { summary: string; plans: { id: string; steps: number; targets: string[] }[] };
    const pgSteps = report.plans[0].steps;
    expect(report.summary).toBe(`5 targets: 3 share plan A (${pgSteps} steps), 1 has plan B (${report.plans[1].steps} steps), 1 unreachable`);
    expect(report.plans.map((p) => [p.id, p.targets])).toEqual([['A', ['m1', 'x1', 'bad']], ['B', ['s1']]]);
    expect(json(r)).toEqual([
      { target: 'm1', status: 'pending', steps: pgSteps, plan: 'A' },
      { target: 'x1', status: 'pending', steps: pgSteps, plan: 'A' },
      { target: 'bad', status: 'pending', steps: pgSteps, plan: 'A' },
      { target: 's1', status: 'pending', steps: report.plans[1].steps, plan: 'B' },
      { target: 'dead1', status: 'unreachable', steps: 0, error: expect.stringMatching(/^cannot connect to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/nothing: connection refused/) },
    ]);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(5);

    const q = await cli(['verify', '--targets-query', `select datname from pg_database where datname like '${prefix}\\_m%' order by 1`, '--database-url', urls.m1]);
    expect(q.code).toBe(2);
    expect(table(q)).toEqual([
      'target status drift time error',
      '- - - - -',
      ...['m1', 'm2', 'm3'].map((n) => expect.stringMatching(new RegExp(`^${prefix}_${n} pending \\d+ T$`))),
      '',
      '3 target(s): 3 pending',
    ]);
  });

  test('a canary that fails stops the rollout: no other target is touched', async () => {
    const file = targetsFile('canary.txt', ['dead1', 'm1', 'x1']);
    const r = await cli(['apply', '--targets', file, '--yes']);
    expect(r.code).toBe(1);
    expect(table(r)).toEqual([
      'target status steps time lock wait error',
      '- - - - - -',
      expect.stringMatching(/^dead1 unreachable 0 T — cannot connect to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/nothing: connection refused/),
      'm1 untouched 0',
      'x1 untouched 0',
      '',
      '3 target(s): 1 unreachable, 2 untouched',
    ]);
    expect([await checkCount('m1'), await checkCount('x1')]).toEqual([0, 0]);

    // a dry run changes nothing, on a fleet too: it is refused before any target is touched
    expectOneLineError(await cli(['apply', '--targets', targetsFile('dry.txt', ['m1']), '--dry-run', '--yes']), /apply --dry-run does not take a fleet; run plan --targets/);
    expect(await checkCount('m1')).toBe(0);
  });

  test('--max-failures K stops at the K+1th failure; a re-run converges the rest and skips the converged', async () => {
    const file = targetsFile('fleet.txt', ['m1', 'dead1', 'm2', 'bad', 'dead2', 'm3', 'x1', 'x2', 's1']);
    const first = await cli(['apply', '--targets', file, '--yes', '--parallel', '1', '--max-failures', '1', '--format', 'json']);
    expect(first.code).toBe(1);
    const steps = (json(first)[0] as { steps: number }).steps;
    expect(json(first)).toEqual([
      { target: 'm1', status: 'ok', steps, canary: true },
      { target: 'dead1', status: 'unreachable', steps: 0, error: expect.stringContaining('connection refused') },
      { target: 'm2', status: 'ok', steps },
      { target: 'bad', status: 'violations', steps: 0, error: expect.stringMatching(/^existing rows violate \d+ constraint\(s\)/) },
      { target: 'dead2', status: 'unreachable', steps: 0, error: expect.stringContaining('connection refused') },
      { target: 'm3', status: 'untouched', steps: 0 },
      { target: 'x1', status: 'untouched', steps: 0 },
      { target: 'x2', status: 'untouched', steps: 0 },
      { target: 's1', status: 'untouched', steps: 0 },
    ]);
    // a target that ran steps took write-blocking locks; one that never connected took none
    expect(lockWaits(first)).toMatchObject({ m1: 'number', m2: 'number', dead1: 'undefined', bad: 'undefined', m3: 'undefined' });
    expect(await checkCount('m3')).toBe(0);
    const state = JSON.parse(readFileSync(`${file}.state.json`, 'utf8')) as { targets: Record<string, { status: string }> };
    expect(Object.fromEntries(Object.entries(state.targets).map(([k, v]) => [k, v.status]))).toEqual({
      m1: 'ok', dead1: 'unreachable', m2: 'ok', bad: 'violations', dead2: 'unreachable',
    });
    expect(readFileSync(`${file}.state.json`, 'utf8')).not.toContain(PASSWORD);

    // the re-run: converged targets have nothing to do, the rest run four at a time
    const again = await cli(['apply', '--targets', file, '--yes', '--max-failures', '5', '--format', 'json']);
    expect(again.code).toBe(1);
    const rerun = json(again) as { target: string; status: string; steps: number }[];
    expect(rerun.map((t) => [t.target, t.status, t.steps > 0])).toEqual([
      ['m1', 'ok', false], ['dead1', 'unreachable', false], ['m2', 'ok', false], ['bad', 'violations', false],
      ['dead2', 'unreachable', false], ['m3', 'ok', true], ['x1', 'ok', true], ['x2', 'ok', true], ['s1', 'ok', true],
    ]);
    expect(lockWaits(again)).toMatchObject({ m1: 'undefined', s1: 'number', x1: 'number' });
    const outcomes = (JSON.parse(again.stdout) as { targets: { canary?: boolean; target: string; startedAt?: string; finishedAt?: string }[] }).targets;
    // a re-run's canary is the first target never tried: one that converged would prove nothing
    expect(outcomes.filter((t) => t.canary).map((t) => t.target)).toEqual(['m3']);
    const spans = (rs: typeof outcomes) => rs.filter((t) => t.startedAt && !t.canary).map((t) => [t.startedAt as string, t.finishedAt as string]);
    const overlapping = (xs: string[][]) => xs.some(([s1, f1], i) => xs.some(([s2, f2], j) => i !== j && s1 < f2 && s2 < f1));
    expect(overlapping(spans(outcomes))).toBe(true);
    expect(overlapping(spans((JSON.parse(first.stdout) as { targets: typeof outcomes }).targets))).toBe(false);

    const onlyFailed = await cli(['apply', '--targets', file, '--yes', '--only-failed', '--canary', '0']);
    expect(onlyFailed.code).toBe(1);
    expect(table(onlyFailed).slice(2)).toEqual([
      expect.stringMatching(/^dead1 unreachable 0 T — cannot connect/),
      expect.stringMatching(/^dead2 unreachable 0 T — cannot connect/),
      '',
      '2 target(s): 2 unreachable',
    ]);
    expect(await checkCount('x2')).toBeGreaterThan(0);
  });
  test('rollback --targets: a dry run groups the undo scripts; each target undoes its own last apply, canary first', async () => {
    const file = targetsFile('rollback.txt', ['m1', 'x1', 's1', 'bad']);
    const dry = await cli(['rollback', '--targets', file, '--dry-run', '--format', 'json']);
    expect(dry.code).toBe(2);
    const review = JSON.parse(dry.stdout) as { dryRun: boolean; plans: { id: string; targets: string[]; script: string }[] };
    expect(review.plans.map((p) => [p.id, p.targets])).toEqual([['A', ['m1', 'x1']], ['B', ['s1']]]);
    expect(review.plans[0].script).toContain('DROP');
    expect(json(dry).map((t) => [t.target, t.status])).toEqual([['m1', 'pending'], ['x1', 'pending'], ['s1', 'pending'], ['bad', 'ok']]);
    expect(await checkCount('m1')).toBeGreaterThan(0);

    // a canary that cannot be reached stops the rollback before any other target
    const stopped = await cli(['rollback', '--targets', targetsFile('rollback-dead.txt', ['dead1', 'm2']), '--yes']);
    expect(stopped.code).toBe(1);
    expect(table(stopped).slice(2, 4)).toEqual([expect.stringMatching(/^dead1 unreachable 0 T — cannot connect/), 'm2 untouched 0']);
    expect(await checkCount('m2')).toBeGreaterThan(0);

    const r = await cli(['rollback', '--targets', file, '--yes', '--format', 'json']);
    expect(r.code).toBe(0);
    const undone = json(r) as { target: string; status: string; steps: number; canary?: boolean }[];
    expect(undone.map((t) => [t.target, t.status, t.steps > 0, t.canary ?? false])).toEqual([
      ['m1', 'ok', true, true], ['x1', 'ok', true, false], ['s1', 'ok', true, false], ['bad', 'ok', false, false],
    ]);
    expect(lockWaits(r)).toMatchObject({ m1: 'number', s1: 'number', bad: 'undefined' });
    expect([await checkCount('m1'), await checkCount('x1')]).toEqual([0, 0]);
    // its own state file: apply's (and its --only-failed) is left as the apply left it
    const state = JSON.parse(readFileSync(`${file}.rollback.state.json`, 'utf8')) as { command: string; targets: Record<string, { status: string }> };
    expect([state.command, Object.keys(state.targets).sort()]).toEqual(['rollback', ['bad', 'm1', 's1', 'x1']]);
    expect(existsSync(`${file}.state.json`)).toBe(false);

    // a second rollback finds nothing more of this rollout to undo on the targets that had one apply
    const again = await cli(['rollback', '--targets', file, '--yes', '--dry-run']);
    expect(again.code).toBe(0);
    expect(table(again).at(-1)).toBe('4 target(s): 4 ok');
  });

  test('targets in the config file: a list of URLs or { label, url }; --database-url overrides it; a bad URL is refused', async () => {
    const project = mkdtempSync(join(dir, 'project-'));
    writeFileSync(join(project, 'package.json'), '{}');
    const config = (targets: unknown) =>
      writeFileSync(join(project, 'schema-diff.config.json'), JSON.stringify({ manifest: join(process.cwd(), 'manifest/index.ts'), targets }));
    config([{ label: 'm2', url: urls.m2 }, urls.x2]);
    const r = await runCli(['verify'], {}, project);
    results.push(r);
    expect(r.code).toBe(0);
    expect(table(r).slice(2)).toEqual(['m2 ok 0 T', expect.stringMatching(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/\w+_x2 ok 0 T$/), '', '2 target(s): 2 ok']);

    const one = await runCli(['verify', '--database-url', urls.m2], {}, project);
    results.push(one);
    expect(one.code).toBe(0);
    expect(one.stdout).not.toContain('target(s)');
    const env = await runCli(['verify'], { DATABASE_URL: urls.m2 }, project);
    results.push(env);
    expect([env.code, env.stdout.includes('target(s)')]).toEqual([0, false]);

    config([{ label: 'a', url: urls.m2 }, { url: 'mysql://h/d' }]);
    const bad = await runCli(['plan'], {}, project);
    results.push(bad);
    expectOneLineError(bad, /^error: config schema-diff\.config\.json: targets\[1\]: unsupported database URL/);
  });
});
