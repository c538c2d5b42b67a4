import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineSchema } from '../../manifest/baseline/index.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { expectNoPassword, runCli, withPassword, type CliResult } from './run-cli.js';

/**
 * rollback --targets undoes the rollout: on each target the run apply's state
 * file recorded, nothing where the rollout applied nothing, and never an apply
 * made by hand since. Two small JSON manifests over the MeStore tables keep
 * each step quick; the canary fails partway through an event trigger that
 * refuses one statement (no timing involved).
 */
describeServer('fleet rollback: the rollout, not each target\'s last apply', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sd-fleetrb-'));
  const prefix = `sd_fleetrb_${Math.random().toString(36).slice(2, 8)}`;
  const dbs: Record<string, Awaited<ReturnType<typeof createTestDatabase>>> = {};
  const results: CliResult[] = [];
  const small = join(dir, 'small.json');
  const big = join(dir, 'big.json');
  const REASON = 'the last rollout applied nothing here';

  const cli = async (args: string[]) => {
    const r = await runCli(args);
    results.push(r);
    return r;
  };
  const targetsFile = (name: string, labels: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, labels.map((l) => `${l} ${withPassword(dbs[l].url)}`).join('\n') + '\n');
    return path;
  };
  const checks = async (label: string) =>
    (await runSql(dbs[label].url, `select conname from pg_constraint where conname like 'ck\\_%' order by 1`)).rows.map((r: { conname: string }) => r.conname);
  const json = (r: CliResult) =>
    (JSON.parse(r.stdout) as { targets: Record<string, unknown>[] }).targets.map(({ ms, startedAt, finishedAt, lockWaitMs, ...rest }) => rest);
  const table = (r: CliResult) => r.stdout.trimEnd().split('\n').map((l) => l.replace(/\d+ ms/g, 'T').replace(/-+/g, '-').replace(/ +/g, ' '));
  const warnings = (r: CliResult) => r.stderr.split('\n').filter((l) => l.startsWith('warning:'));

  beforeAll(async () => {
    const manifest = (name: string, tables: object) => JSON.stringify({ version: 1, name, tables });
    const attempts = { name: 'ck_users_attempts', expr: 'failed_login_attempts >= 0' };
    writeFileSync(small, manifest('small', { users: { checks: [attempts] } }));
    writeFileSync(big, manifest('big', {
      users: { checks: [attempts, { name: 'ck_users_otp', expr: 'otp_attempts >= 0' }] },
      products: { checks: [{ name: 'ck_products_peso', expr: 'peso >= 0' }] },
    }));
    for (const label of ['c', 'u1', 'u2', 'h1', 'h2']) {
      dbs[label] = await createTestDatabase(prefix);
      await runSql(dbs[label].url, baselineSchema('postgres'));
    }
    // the canary's apply of big fails at its second step, after the first is journaled
    await runSql(dbs.c.url, `
      create function refuse_peso() returns event_trigger language plpgsql as $$
      begin
        if current_query() ilike '%add constraint ck_products_peso%' then raise exception 'refused by the test'; end if;
      end $$;
      create event trigger refuse_peso on ddl_command_start when tag in ('ALTER TABLE') execute function refuse_peso();`);
  }, 30_000);

  afterAll(async () => {
    for (const db of Object.values(dbs)) await db.drop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    for (const r of results) expectNoPassword(r);
  });

  test('a canary that fails partway: rollback undoes its run only, the untouched targets keep their older apply', async () => {
    const older = await cli(['apply', '--manifest', small, '--targets', targetsFile('older.txt', ['c', 'u1', 'u2']), '--yes', '--quiet']);
    expect(older.code).toBe(0);
    const file = targetsFile('rollout.txt', ['c', 'u1', 'u2']);
    const rollout = await cli(['apply', '--manifest', big, '--targets', file, '--yes', '--quiet', '--format', 'json']);
    expect(rollout.code).toBe(1);
    expect(json(rollout)).toEqual([
      { target: 'c', status: 'failed', steps: 0, canary: true, error: expect.stringContaining('refused by the test') },
      { target: 'u1', status: 'untouched', steps: 0 },
      { target: 'u2', status: 'untouched', steps: 0 },
    ]);
    expect(await checks('c')).toEqual(['ck_users_attempts', 'ck_users_otp']);
    // the state names the run the canary applied a step in (run 1 was the older apply), and none for the others
    const state = JSON.parse(readFileSync(`${file}.state.json`, 'utf8')) as { manifest: string; targets: Record<string, { runs?: { id: number; fingerprint: string }[] }> };
    expect(state.manifest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(Object.entries(state.targets).map(([label, t]) => [label, t.runs?.map((r) => r.id)])).toEqual([['c', [2]]]);
    expect(state.targets.c.runs?.[0].fingerprint).toMatch(/^sha256:/);

    const dry = await cli(['rollback', '--targets', file, '--dry-run', '--quiet', '--format', 'json']);
    expect([dry.code, warnings(dry)]).toEqual([2, []]);
    const review = JSON.parse(dry.stdout) as { plans: { id: string; targets: string[]; script: string }[] };
    expect(review.plans.map((p) => [p.id, p.targets])).toEqual([['A', ['c']]]);
    expect(review.plans[0].script).toContain('DROP CONSTRAINT IF EXISTS ck_users_otp');
    expect(review.plans[0].script).not.toContain('ck_users_attempts');
    expect(json(dry)).toEqual([
      { target: 'c', status: 'pending', steps: 1, plan: 'A' },
      { target: 'u1', status: 'untouched', steps: 0, note: REASON },
      { target: 'u2', status: 'untouched', steps: 0, note: REASON },
    ]);

    const r = await cli(['rollback', '--targets', file, '--yes', '--quiet', '--format', 'json']);
    // every target is where the rollback should leave it: the skipped ones (with their note) count as done
    expect([r.code, warnings(r)]).toEqual([0, []]);
    expect(json(r)).toEqual([
      { target: 'c', status: 'ok', steps: 1, canary: true },
      { target: 'u1', status: 'untouched', steps: 0, note: REASON },
      { target: 'u2', status: 'untouched', steps: 0, note: REASON },
    ]);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 1, command: 'rollback', state: `${file}.rollback.state.json` });
    expect([await checks('c'), await checks('u1'), await checks('u2')]).toEqual([['ck_users_attempts'], ['ck_users_attempts'], ['ck_users_attempts']]);

    // again: the rollout's run is already undone on the canary; the older applies stay as they are
    const again = await cli(['rollback', '--targets', file, '--yes']);
    expect(again.code).toBe(0);
    expect(table(again)).toEqual([
      'target status steps time lock wait error',
      '- - - - - -',
      'c ok 0 T —',
      `u1 untouched 0 ${REASON}`,
      `u2 untouched 0 ${REASON}`,
      '',
      '3 target(s): 1 ok, 2 untouched',
    ]);
    expect(again.stderr).toContain(`[1/1] c: ok (canary), 0 steps`);
    expect(await checks('u1')).toEqual(['ck_users_attempts']);
  }, 40_000);

  test('a target applied again by hand after the rollout is refused; without a state file a warning says the scope', async () => {
    const file = targetsFile('hand.txt', ['h1', 'h2']);
    expect((await cli(['apply', '--manifest', small, '--targets', file, '--yes', '--quiet'])).code).toBe(0);
    expect((await cli(['apply', '--manifest', big, '--database-url', withPassword(dbs.h2.url), '--yes', '--quiet'])).code).toBe(0);

    const r = await cli(['rollback', '--targets', file, '--yes', '--quiet', '--format', 'json']);
    expect([r.code, warnings(r)]).toEqual([1, []]);
    expect(json(r)).toEqual([
      { target: 'h1', status: 'ok', steps: 1, canary: true },
      {
        target: 'h2',
        status: 'failed',
        steps: 0,
        error: "apply run 2 ran here after the rollout's run 1 and is in effect; nothing was changed (roll this target back with --database-url, see history)",
      },
    ]);
    expect([await checks('h1'), await checks('h2')]).toEqual([[], ['ck_products_peso', 'ck_users_attempts', 'ck_users_otp']]);

    // a query's fleet has no state file unless --state names one: each target's own last apply, said once
    const query = `select datname from pg_database where datname in ('${dbs.h1.name}', '${dbs.h2.name}') order by 1`;
    const dry = await cli(['rollback', '--targets-query', query, '--database-url', withPassword(dbs.h1.url), '--dry-run', '--quiet']);
    expect(dry.code).toBe(2);
    expect(warnings(dry)).toEqual([
      "warning: no rollout state file (--targets-query without --state): each target's own last apply is undone, which may predate the last rollout; review with --dry-run",
    ]);
    // h2's last apply is the one made by hand: that is what the unguarded scope would undo
    expect(dry.stdout).toContain('ck_products_peso');
  }, 40_000);
});
