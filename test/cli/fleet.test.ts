import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { baselineSchema, demoRows, demoViolations } from '../../manifest/baseline/index.js';
import { extraClusters, freePort } from '../helpers/cluster.js';
import { ADMIN_URL, REQUIRE_PG, describeServer, runSql } from '../helpers/postgres.js';
import { seededFile } from '../sqlite/helpers.js';
import { PASSWORD, expectNoPassword, expectOneLineError, runCli, withPassword, type CliResult } from './run-cli.js';

/**
 * One manifest over a fleet, as issue 16 has it: 20 MeStore databases spread
 * over three PostgreSQL 15 servers (the main one and two extra clusters,
 * started side by side), and a SQLite file. One database has violating rows,
 * one has drift (a constraint of the manifest made by hand with another
 * definition), and three sit on the third cluster, stopped once they are
 * created: unreachable because a real server is down. Run through the real
 * executable.
 */
describeServer('fleets: --targets over three servers and SQLite', () => {
  const prefix = `sd_fleet_${Math.random().toString(36).slice(2, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), 'sd-fleet-'));
  const results: CliResult[] = [];
  const urls: Record<string, string> = {};
  const clusters = extraClusters();
  const onMain = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'bad', 'drift'];
  const onSecond = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7'];
  const onStopped = ['y1', 'y2', 'y3'];
  /** The rollout's order: the first five are what a --parallel 1 --max-failures 1 run reaches. */
  const fleet = ['m1', 'y1', 'm2', 'bad', 'y2', 'm3', 'x1', 'drift', 'm4', 'x2', 'y3', 'm5', 'x3', 'm6', 'x4', 'm7', 'x5', 'm8', 'x6', 'x7', 's1'];
  /** The hand-made constraint: the manifest's name, another definition. */
  const driftSql = 'alter table orders add constraint ck_order_subtotal_non_negative check (subtotal >= -1)';
  /** Steps of the plans the plan test finds: the clean PostgreSQL one, the drifting database's, SQLite's. */
  const planned = { pg: 0, drift: 0, sqlite: 0 };
  let stoppedPort = 0;
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
  const plainUrl = (label: string) => urls[label].replace(/:[^:@/]+@/, '@');
  const checkCount = async (label: string) =>
    Number((await runSql(plainUrl(label), `select count(*) as n from pg_constraint where conname like 'ck\\_%'`)).rows[0].n);
  const subtotalCheck = async (label: string) =>
    (await runSql(plainUrl(label), `select pg_get_constraintdef(oid) as def from pg_constraint where conname = 'ck_order_subtotal_non_negative'`)).rows.map((r) => r.def as string);
  const json = (r: CliResult) =>
    (JSON.parse(r.stdout) as { targets: Record<string, unknown>[] }).targets.map(({ ms, startedAt, finishedAt, lockWaitMs, ...rest }) => rest);
  /** Each target's longest lock wait as the JSON gives it: a number of ms where a lock was taken, else absent. */
  const lockWaits = (r: CliResult) =>
    Object.fromEntries((JSON.parse(r.stdout) as { targets: { target: string; lockWaitMs?: unknown }[] }).targets.map((t) => [t.target, typeof t.lockWaitMs]));
  /** The summary table, whitespace and times aside (widths follow the times). */
  const table = (r: CliResult) => r.stdout.trimEnd().split('\n').map((l) => l.replace(/\d+ ms/g, 'T').replace(/-+/g, '-').replace(/ +/g, ' '));
  /** The error of a target on the stopped cluster: its own port, refused. */
  const refused = (label: string) => `cannot connect to postgres://postgres:***@127.0.0.1:${stoppedPort}/${prefix}_${label}: connection refused`;
  const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  const dbUrl = (adminUrl: string, name: string) => {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };

  /**
   * MeStore's tables and rows seeded once in a template on the server, each
   * database a copy of it (CREATE DATABASE … TEMPLATE copies files, far
   * faster than running the seed again), then each one's own extra SQL.
   */
  async function createFromTemplate(adminUrl: string, labels: readonly string[], extra: Readonly<Record<string, string>> = {}): Promise<void> {
    const template = `${prefix}_tpl_${labels[0]}`;
    await runSql(adminUrl, `create database ${template}`);
    await runSql(dbUrl(adminUrl, template), baselineSchema('postgres') + demoRows());
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      for (const l of labels) await admin.query(`create database ${prefix}_${l} template ${template}`);
    } finally {
      await admin.end();
    }
    for (const l of labels) urls[l] = withPassword(dbUrl(adminUrl, `${prefix}_${l}`));
    for (const [l, sql] of Object.entries(extra)) await runSql(dbUrl(adminUrl, `${prefix}_${l}`), sql);
  }

  beforeAll(async () => {
    const started = await clusters.start(2);
    if (!started.clusters) {
      if (REQUIRE_PG) throw new Error(started.reason);
      console.warn(`fleet tests: ${started.reason}; the second server's databases live on the main server, and the stopped one's targets are free ports`);
    }
    const [second, stopped] = started.clusters ?? [];
    sqlite = seededFile(baselineSchema('sqlite') + demoRows());
    urls.s1 = `sqlite:///${sqlite.path}`;
    await Promise.all([
      createFromTemplate(ADMIN_URL, onMain, { bad: demoViolations(), drift: driftSql }),
      createFromTemplate(second?.adminUrl ?? ADMIN_URL, onSecond),
      stopped
        ? createFromTemplate(stopped.adminUrl, onStopped).then(() => stopped.stop())
        : freePort().then((port) => onStopped.forEach((l) => (urls[l] = withPassword(`postgres://postgres@127.0.0.1:${port}/${prefix}_${l}`)))),
    ]);
    stoppedPort = Number(new URL(urls.y1).port);
  }, 120_000);

  afterAll(async () => {
    // the clusters first and whatever else fails: they are whole servers, and their databases go with them
    clusters.dropAll();
    const left = await runSql(ADMIN_URL, `select datname from pg_database where datname like '${prefix}\\_%'`).catch(() => ({ rows: [] }));
    for (const { datname } of left.rows) await runSql(ADMIN_URL, `drop database if exists ${datname} with (force)`).catch(() => {});
    sqlite?.dispose();
    rmSync(dir, { recursive: true, force: true });
    for (const r of results) expectNoPassword(r);
  });

  test('plan groups the targets by identical plan; the drifting database has its own; --targets-query lists one server', async () => {
    const file = targetsFile('plan.txt', ['m1', 'x1', 'bad', 'drift', 's1', 'y1']);
    const r = await cli(['plan', '--targets', file, '--format', 'json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { summary: string; plans: { id: string; steps: number; targets: string[] }[] };
    [planned.pg, planned.drift, planned.sqlite] = report.plans.map((p) => p.steps);
    expect(report.summary).toBe(
      `6 targets: 3 share plan A (${planned.pg} steps), 1 has plan B (${planned.drift} steps), 1 has plan C (${planned.sqlite} steps), 1 unreachable`,
    );
    expect(report.plans.map((p) => [p.id, p.targets])).toEqual([['A', ['m1', 'x1', 'bad']], ['B', ['drift']], ['C', ['s1']]]);
    expect(json(r)).toEqual([
      { target: 'm1', status: 'pending', steps: planned.pg, plan: 'A' },
      { target: 'x1', status: 'pending', steps: planned.pg, plan: 'A' },
      { target: 'bad', status: 'pending', steps: planned.pg, plan: 'A' },
      { target: 'drift', status: 'pending', steps: planned.drift, plan: 'B' },
      { target: 's1', status: 'pending', steps: planned.sqlite, plan: 'C' },
      { target: 'y1', status: 'unreachable', steps: 0, error: expect.stringMatching(new RegExp(`^${escaped(refused('y1'))}`)) },
    ]);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(6);
    // the drifting database's plan replaces the hand-made constraint with the manifest's
    const text = await cli(['plan', '--targets', targetsFile('plan-drift.txt', ['drift']), '--format', 'sql']);
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(/ck_order_subtotal_non_negative[\s\S]*subtotal >= 0/);

    const q = await cli(['verify', '--targets-query', `select datname from pg_database where datname like '${prefix}\\_x%' order by 1`, '--database-url', urls.x1]);
    expect(q.code).toBe(2);
    expect(table(q)).toEqual([
      'target status drift time error',
      '- - - - -',
      ...onSecond.map((n) => expect.stringMatching(new RegExp(`^${prefix}_${n} pending \\d+ T$`))),
      '',
      '7 target(s): 7 pending',
    ]);
  });

  test('a canary that fails stops the rollout: no other target is touched', async () => {
    const file = targetsFile('canary.txt', ['y1', 'm1', 'x1']);
    const r = await cli(['apply', '--targets', file, '--yes']);
    expect(r.code).toBe(1);
    expect(table(r)).toEqual([
      'target status steps time lock wait error',
      '- - - - - -',
      expect.stringMatching(new RegExp(`^y1 unreachable 0 T — ${escaped(refused('y1'))}`)),
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

  test('--max-failures K stops at the K+1th failure; a re-run converges the rest, drift included, and skips the converged', async () => {
    const file = targetsFile('fleet.txt', fleet);
    const unreachable = (t: string) => ({ target: t, status: 'unreachable', steps: 0, error: expect.stringMatching(new RegExp(`^${escaped(refused(t))}`)) });
    const violations = { target: 'bad', status: 'violations', steps: 0, error: expect.stringMatching(/^existing rows violate \d+ constraint\(s\)/) };
    const first = await cli(['apply', '--targets', file, '--yes', '--parallel', '1', '--max-failures', '1', '--format', 'json']);
    expect(first.code).toBe(1);
    expect(json(first)).toEqual([
      { target: 'm1', status: 'ok', steps: planned.pg, canary: true },
      unreachable('y1'),
      { target: 'm2', status: 'ok', steps: planned.pg },
      violations,
      unreachable('y2'),
      ...fleet.slice(5).map((t) => ({ target: t, status: 'untouched', steps: 0 })),
    ]);
    // a target that ran steps took write-blocking locks; one that never connected took none
    expect(lockWaits(first)).toMatchObject({ m1: 'number', m2: 'number', y1: 'undefined', bad: 'undefined', m3: 'undefined' });
    expect([await checkCount('m3'), await checkCount('x7')]).toEqual([0, 0]);
    const state = JSON.parse(readFileSync(`${file}.state.json`, 'utf8')) as { targets: Record<string, { status: string }> };
    expect(Object.fromEntries(Object.entries(state.targets).map(([k, v]) => [k, v.status]))).toEqual({
      m1: 'ok', y1: 'unreachable', m2: 'ok', bad: 'violations', y2: 'unreachable',
    });
    expect(readFileSync(`${file}.state.json`, 'utf8')).not.toContain(PASSWORD);

    // the re-run: converged targets have nothing to do, the rest run four at a time; three failures are within --max-failures 3
    const again = await cli(['apply', '--targets', file, '--yes', '--max-failures', '3', '--format', 'json']);
    expect(again.code).toBe(1);
    const stepsOf = (t: string) => (t === 'drift' ? planned.drift : t === 's1' ? planned.sqlite : planned.pg);
    expect(json(again)).toEqual(
      fleet.map((t) =>
        t === 'm1' || t === 'm2'
          ? { target: t, status: 'ok', steps: 0 }
          : t === 'bad'
            ? violations
            : onStopped.includes(t)
              ? unreachable(t)
              : { target: t, status: 'ok', steps: stepsOf(t), ...(t === 'm3' ? { canary: true } : {}) },
      ),
    );
    expect(lockWaits(again)).toMatchObject({ m1: 'undefined', s1: 'number', x1: 'number', drift: 'number', y3: 'undefined' });
    // the hand-made definition is replaced by the manifest's, as a database that never had it gets it
    expect(await subtotalCheck('drift')).toEqual(await subtotalCheck('m3'));
    expect(await subtotalCheck('drift')).toEqual([expect.stringContaining('>= (0)')]);

    type Outcome = { canary?: boolean; target: string; startedAt?: string; finishedAt?: string };
    const outcomes = (r: CliResult) => (JSON.parse(r.stdout) as { targets: Outcome[] }).targets;
    // a re-run's canary is the first target never tried: one that converged would prove nothing
    expect(outcomes(again).filter((t) => t.canary).map((t) => t.target)).toEqual(['m3']);
    /** The most targets in flight at one instant after the canary, from the recorded spans: --parallel, really. */
    const peak = (rs: Outcome[]) => {
      const spans = rs.filter((t) => t.startedAt && !t.canary).map((t) => [t.startedAt as string, t.finishedAt as string]);
      return Math.max(...spans.map(([s]) => spans.filter(([s2, f2]) => s2 <= s && s < f2).length));
    };
    expect([peak(outcomes(first)), peak(outcomes(again))]).toEqual([1, 4]);

    // zero false diffs after the fleet apply, on the replaced constraint too
    const after = await cli(['plan', '--targets', targetsFile('after.txt', ['drift', 'x7', 'm8', 's1']), '--format', 'text']);
    expect([after.code, after.stdout.split('\n')[0]]).toEqual([0, '4 targets: 4 up to date']);

    const onlyFailed = await cli(['apply', '--targets', file, '--yes', '--only-failed', '--canary', '0']);
    expect(onlyFailed.code).toBe(1);
    expect(table(onlyFailed).slice(2)).toEqual([
      ...onStopped.map((t) => expect.stringMatching(new RegExp(`^${t} unreachable 0 T — ${escaped(refused(t))}`))),
      '',
      '3 target(s): 3 unreachable',
    ]);
    expect(await checkCount('x7')).toBeGreaterThan(0);
  });
  test('rollback --targets: a dry run groups the undo scripts; each target undoes its own last apply, canary first', async () => {
    const file = targetsFile('rollback.txt', ['m1', 'x1', 's1', 'bad']);
    const dry = await cli(['rollback', '--targets', file, '--dry-run', '--format', 'json']);
    expect(dry.code).toBe(2);
    const review = JSON.parse(dry.stdout) as { dryRun: boolean; plans: { id: string; targets: string[]; script: string }[] };
    expect(review.plans.map((p) => [p.id, p.targets])).toEqual([['A', ['m1', 'x1']], ['B', ['s1']]]);
    expect(review.plans[0].script).toContain('DROP');
    expect(json(dry).map((t) => [t.target, t.status])).toEqual([['m1', 'pending'], ['x1', 'pending'], ['s1', 'pending'], ['bad', 'ok']]);
    // no apply ran with this targets file, so there is no rollout state to scope the rollback by: said once
    expect(dry.stderr.split('\n').filter((l) => l.startsWith('warning:'))).toEqual([
      `warning: no rollout state file (${file}.state.json): each target's own last apply is undone, which may predate the last rollout; review with --dry-run`,
    ]);
    expect(await checkCount('m1')).toBeGreaterThan(0);

    // a canary that cannot be reached stops the rollback before any other target
    const stopped = await cli(['rollback', '--targets', targetsFile('rollback-dead.txt', ['y1', 'm2']), '--yes']);
    expect(stopped.code).toBe(1);
    expect(table(stopped).slice(2, 4)).toEqual([expect.stringMatching(new RegExp(`^y1 unreachable 0 T — ${escaped(refused('y1'))}`)), 'm2 untouched 0']);
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
