import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { preparePlan } from '../../src/run/prepare.js';
import { rollback } from '../../src/run/rollback.js';
import { describeServer } from '../helpers/postgres.js';
import { postgresTarget } from '../helpers/targets.js';
import { catalogDump, rollbackOptions, rowDigest } from './helpers.js';

/**
 * What only a server can show: a CLI apply really killed, an apply really
 * running in another process, and the CLI's own output and exit codes.
 * These run the built CLI (bin/schema-diff → dist/): `npm run build` first.
 */

const seed = baselineSchema('postgres') + demoRows();

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/schema-diff', ...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A CLI apply that will be stuck retrying its lock on order_items while `blocker` holds it. */
function stuckApply(url: string): ChildProcessWithoutNullStreams {
  return spawn(
    process.execPath,
    ['bin/schema-diff', 'apply', '--yes', '-d', url, '-m', 'manifest/mestore.ts', '--lock-retries', '100000', '--retry-budget', '10m'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
}

function waitForOutput(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<string> {
  let seen = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (b: Buffer) => {
      seen += b.toString();
      if (pattern.test(seen)) resolve(seen);
    });
    child.on('exit', (code) => reject(new Error(`apply exited (${code}) before ${pattern}: ${seen}`)));
  });
}

const exited = (child: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', (code) => resolve(code))));

/** An application transaction that holds order_items: apply's ALTER on it waits, retries, and never gets through. */
async function holdOrderItems(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: 'mestore-app' });
  await c.connect();
  await c.query('BEGIN; LOCK TABLE order_items IN ACCESS SHARE MODE');
  return c;
}

describeServer('rollback on the real server', () => {
  test('after a CLI apply killed with SIGKILL half-way, rollback returns the catalog exactly to where it was', async () => {
    const t = await postgresTarget(seed);
    const blocker = await holdOrderItems(t.url);
    try {
      const before = await catalogDump(t);
      const rows = await rowDigest(t);
      const firstPlan = (await preparePlan(t.dialect, mestore, 'x')).plan;
      const child = stuckApply(t.url);
      await waitForOutput(child, /on public\.order_items \(attempt \d+\)/);
      child.kill('SIGKILL');
      await exited(child);
      await blocker.query('COMMIT');

      const [killed] = await t.dialect.history();
      expect(killed.status).toBe('running');
      expect(killed.steps.length).toBeGreaterThan(8); // the indexes and orders' constraints got through
      const r = cli(['rollback', '--yes', '-d', t.url]);
      expect(r.stderr).not.toMatch(/error/);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^rolled back ${killed.steps.filter((s) => s.inverse.length).length} step\\(s\\) of apply run 1 on `));
      expect(await catalogDump(t)).toEqual(before);
      expect(await rowDigest(t)).toEqual(rows);
      expect((await preparePlan(t.dialect, mestore, 'x')).plan.steps).toEqual(firstPlan.steps);
    } finally {
      await blocker.end().catch(() => {});
      await t.dispose();
    }
  });

  test('while an apply runs, rollback is refused clearly, or waits for it and then undoes it whole', async () => {
    const t = await postgresTarget(seed);
    const blocker = await holdOrderItems(t.url);
    try {
      const before = await catalogDump(t);
      const child = stuckApply(t.url);
      await waitForOutput(child, /on public\.order_items \(attempt \d+\)/);

      const refused = cli(['rollback', '--yes', '-d', t.url, '--lock-wait', '200ms']);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/^error: another schema-diff apply or rollback is running on this database \(pid \d+, connected since [\d:]+\); nothing was changed\n$/);
      await expect(rollback(t.dialect, rollbackOptions({ kind: 'last' }, { lockWaitMs: 200 }))).rejects.toMatchObject({ code: 'refused' });
      expect((await t.dialect.history()).map((r) => r.kind)).toEqual(['apply']);

      const waiting = rollback(t.dialect, rollbackOptions({ kind: 'last' }, { lockWaitMs: 60_000 }));
      await blocker.query('COMMIT');
      expect(await exited(child)).toBe(0);
      const result = await waiting;
      expect(result.plan.applies).toEqual([1]);
      const [apply] = await t.dialect.history();
      expect(apply.status).toBe('done');
      expect(apply.steps.every((s) => s.undoneBy === result.runId)).toBe(true);
      expect(await catalogDump(t)).toEqual(before);
    } finally {
      await blocker.end().catch(() => {});
      await t.dispose();
    }
  });

  test('a rollback stopped half-way by a lock it cannot get says what it did; the next rollback finishes, nothing twice', async () => {
    const t = await postgresTarget(seed);
    try {
      const before = await catalogDump(t);
      expect(cli(['apply', '--yes', '-q', '-d', t.url, '-m', 'manifest/mestore.ts']).status).toBe(0);
      const blocker = await holdOrderItems(t.url);
      let failure: unknown;
      try {
        await rollback(t.dialect, rollbackOptions({ kind: 'last' }, { lockRetries: 3, retryBudgetMs: 1_000 }));
      } catch (e) {
        failure = e;
      } finally {
        await blocker.query('COMMIT');
        await blocker.end();
      }
      expect(failure).toMatchObject({
        code: 'lock',
        message: expect.stringMatching(
          /on public\.order_items\) could not get its lock in 3 attempts.*blocked by: pid \d+ \(mestore-app, idle in transaction.*; \d+ of \d+ undo step\(s\) before it completed and are recorded in run 2: run rollback again to finish$/,
        ),
      });
      const [, stopped] = await t.dialect.history();
      expect(stopped.status).toBe('failed');
      const finished = await rollback(t.dialect, rollbackOptions({ kind: 'last' }));
      const [apply, first, second] = await t.dialect.history();
      expect(apply.steps.every((s) => s.undoneBy !== null)).toBe(true);
      expect(first.steps.length + second.steps.length).toBe(apply.steps.filter((s) => s.inverse.length > 0).length);
      expect(finished.runId).toBe(3);
      expect(await catalogDump(t)).toEqual(before);
    } finally {
      await t.dispose();
    }
  });

  test('the dry-run script, run by psql, reaches the same catalog as rollback', async () => {
    const t = await postgresTarget(seed);
    try {
      const before = await catalogDump(t);
      expect(cli(['apply', '--yes', '-q', '-d', t.url, '-m', 'manifest/mestore.ts']).status).toBe(0);
      const dry = cli(['rollback', '--dry-run', '-d', t.url]);
      const dir = mkdtempSync(join(tmpdir(), 'sd-rollback-'));
      const file = join(dir, 'rollback.sql');
      writeFileSync(file, dry.stdout);
      const psql = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', t.url, '-f', file], { encoding: 'utf8' });
      rmSync(dir, { recursive: true, force: true });
      expect([psql.status, psql.stderr]).toEqual([0, '']);
      expect(await catalogDump(t)).toEqual(before);
    } finally {
      await t.dispose();
    }
  });

  test('the CLI: dry run, confirmation, --constraint, nothing to undo, json, history, exit codes', async () => {
    const t = await postgresTarget(seed);
    try {
      const before = await catalogDump(t);
      const db = ['-d', t.url];
      expect(cli(['rollback', ...db]).stdout).toBe('nothing to undo: no apply is recorded in this database\n');
      expect(cli(['apply', '--yes', '-q', ...db, '-m', 'manifest/mestore.ts']).status).toBe(0);
      const applied = await catalogDump(t);

      const dry = cli(['rollback', '--dry-run', ...db]);
      expect(dry.status).toBe(0);
      expect(dry.stdout).toMatch(/^-- schema-diff rollback --dry-run \(nothing was changed\)\n/);
      expect(dry.stdout).toContain('DROP INDEX CONCURRENTLY IF EXISTS public.ix_orders_status_created;');

      const unconfirmed = cli(['rollback', ...db]);
      expect(unconfirmed.status).toBe(1);
      expect(unconfirmed.stderr).toMatch(/^error: refusing to change the database without confirmation: stdin is not a terminal; pass --yes\n$/);
      expect(await catalogDump(t)).toEqual(applied);

      const one = cli(['rollback', '--constraint', 'ck_order_total_positive', '--yes', '-q', ...db]);
      expect([one.status, one.stderr]).toEqual([0, '']);
      expect(one.stdout).toMatch(/^rolled back 1 step\(s\) of apply run 1 on postgres:\/\/\S+ \(run 2\): ck_order_total_positive\n$/);
      const again = cli(['rollback', '-c', 'ck_order_total_positive', '--yes', ...db]);
      expect([again.status, again.stdout]).toEqual([0, 'nothing to undo for ck_order_total_positive: already rolled back (run 2)\n']);

      const typo = cli(['rollback', '-c', 'ck_order_total_positiv', '--yes', ...db]);
      expect(typo.status).toBe(1);
      expect(typo.stderr).toBe(
        'error: --constraint ck_order_total_positiv: no apply in the history changed an object of that name (did you mean ck_order_total_positive?)\n',
      );
      expect(cli(['rollback', '-c', 'x', '--to', '1', ...db]).stderr).toMatch(/^error: --constraint and --to do not combine/);

      const rest = cli(['rollback', '--yes', '-q', '--format', 'json', ...db]);
      expect(rest.status).toBe(0);
      const json = JSON.parse(rest.stdout);
      expect(json).toMatchObject({ version: 1, dryRun: false, runId: 3, applies: [1] });
      expect(json.steps.length).toBeGreaterThan(40);
      expect(await catalogDump(t)).toEqual(before);

      const history = cli(['history', ...db]);
      expect(history.status).toBe(0);
      const heads = history.stdout.split('\n').filter((l) => l.startsWith('#'));
      expect(heads).toEqual([
        expect.stringMatching(/^#1 {5}apply {5}done {9}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}sha256:[0-9a-f]{12}… {2}\d+ step\(s\), all undone by #2, #3$/),
        expect.stringMatching(/^#2 {5}rollback  done .* 1 step\(s\), undid #1$/),
        expect.stringMatching(/^#3 {5}rollback  done .* \d+ step\(s\), undid #1$/),
      ]);
      expect(history.stdout).toContain('      objects:  ck_order_total_positive\n');
      const asJson = JSON.parse(cli(['history', '--format', 'json', ...db]).stdout);
      expect(asJson.runs.map((r: { kind: string }) => r.kind)).toEqual(['apply', 'rollback', 'rollback']);
      expect(asJson.runs[1].undid).toEqual([{ runId: 1, seq: expect.any(Number) }]);
    } finally {
      await t.dispose();
    }
  });
});
