import { PGlite } from '@electric-sql/pglite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import type { Plan } from '../../src/plan/types.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { expectNoPassword, runCli, withPassword, type CliResult } from './run-cli.js';

/** What the README's tour promises, run through the real executable on a fresh MeStore database. */
describeServer('schema-diff on a fresh MeStore database (real server)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let url: string;
  const results: CliResult[] = [];
  const cli = async (args: string[], env: Record<string, string | undefined> = {}) => {
    const result = await runCli(args, env);
    results.push(result);
    return result;
  };
  const constraintCount = async () =>
    Number((await runSql(db.url, `select count(*) as n from pg_constraint where conname like 'ck\\_%'`)).rows[0].n);

  beforeAll(async () => {
    db = await createTestDatabase('sd_cli_flow');
    await runSql(db.url, baselineSchema('postgres') + demoRows());
    url = withPassword(db.url);
  });
  afterAll(async () => db?.drop());
  afterAll(() => {
    for (const r of results) expectNoPassword(r);
  });

  test('plan prints a psql script on stdout and nothing on stderr', async () => {
    const result = await cli(['plan', '--database-url', url]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^-- schema-diff plan\n-- database: +postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/sd_cli_flow_/);
    expect(result.stdout).toContain('CREATE INDEX CONCURRENTLY ix_orders_status_created ON public.orders (status, created_at);');
    expect(result.stdout).toMatch(/ADD CONSTRAINT ck_order_total_positive CHECK \(.*\) NOT VALID;/);
    expect(result.stdout).toMatch(/SET LOCAL lock_timeout = '25ms';/);
  });

  test('plan --format json is the documented plan, version 1', async () => {
    const result = await cli(['plan', '--format', 'json', '--database-url', url]);
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as Plan;
    expect(plan.version).toBe(1);
    expect(plan.dialect).toBe('postgres');
    expect(plan.target).toContain(':***@');
    expect(plan.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(plan.steps.length).toBeGreaterThan(40);
    for (const step of plan.steps) {
      expect(Object.keys(step)).toEqual(
        expect.arrayContaining(['id', 'action', 'table', 'name', 'objects', 'reason', 'sql', 'inverse', 'transactional', 'lockTimeout', 'lock', 'hazards']),
      );
    }
  });

  test('plan --exit-code exits 2 while there are steps; DATABASE_URL is honoured', async () => {
    expect((await cli(['plan', '--exit-code', '--database-url', url])).code).toBe(2);
    const viaEnv = await cli(['plan', '--exit-code', '--format', 'text'], { DATABASE_URL: url });
    expect(viaEnv.code).toBe(2);
    expect(viaEnv.stdout).toContain(db.name);
  });

  test('--database-url wins over DATABASE_URL', async () => {
    const result = await cli(['plan', '--exit-code', '--database-url', url], { DATABASE_URL: 'mysql://nowhere/x' });
    expect(result.code).toBe(2);
  });

  test('verify exits 2 before apply, listing the drift on stdout', async () => {
    const result = await cli(['verify', '--database-url', url]);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/object\(s\) drift from manifest\/index\.ts/);
    expect(result.stdout).toContain('ck_order_total_positive');
  });

  test('apply without --yes and without a terminal refuses, exit 1, and changes nothing', async () => {
    const result = await cli(['apply', '--database-url', url]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: refusing to change the database without confirmation: stdin is not a terminal; pass --yes$/m);
    expect(await constraintCount()).toBe(0);
    const journal = await runSql(db.url, `select count(*) as n from pg_namespace where nspname = 'schema_diff'`);
    expect(Number(journal.rows[0].n)).toBe(0);
  });

  test('apply --yes applies every step: result on stdout, progress on stderr', async () => {
    const result = await cli(['apply', '--yes', '--database-url', url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^applied \d+ step\(s\) to postgres:\/\/postgres:\*\*\*@.* \(run 1\)\n$/);
    expect(result.stderr).toMatch(/^\[1\/\d+\] create_index /m);
    expect(await constraintCount()).toBe(29);
  });

  test('verify exits 0 after apply, plan --exit-code 0 with nothing to do, history lists the run', async () => {
    expect((await cli(['verify', '--database-url', url])).code).toBe(0);
    const plan = await cli(['plan', '--exit-code', '--database-url', url]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('-- nothing to do');
    const history = await cli(['history', '--format', 'json', '--database-url', url]);
    expect(history.code).toBe(0);
    const runs = (JSON.parse(history.stdout) as { runs: { kind: string; status: string }[] }).runs;
    expect(runs.map((r) => [r.kind, r.status])).toEqual([['apply', 'done']]);
  });
});

describe('schema-diff on an embedded PGlite data directory (no server)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sd-cli-pglite-'));
    const db = new PGlite(dir);
    await db.exec(baselineSchema('postgres') + demoRows());
    await db.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('plan --exit-code 2, apply --yes, verify 0: the same commands as on a server', async () => {
    const url = `pglite:${dir}`;
    expect((await runCli(['plan', '--exit-code', '--format', 'text', '-d', url])).code).toBe(2);
    const applied = await runCli(['apply', '--yes', '--quiet', '-d', url]);
    expect(applied).toMatchObject({ code: 0, stderr: '' });
    expect(applied.stdout).toMatch(/^applied \d+ step\(s\) to pglite:/);
    const verified = await runCli(['verify', '-d', url]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('present, equal and valid');
  }, 120_000);
});
