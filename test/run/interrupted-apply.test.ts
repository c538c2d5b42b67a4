import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { forgetObjects } from '../../src/run/forget.js';
import { BIN, runCli } from '../cli/run-cli.js';
import { describeEachDatabase } from '../helpers/each.js';
import { testApplyOptions } from '../helpers/options.js';
import { ADMIN_URL, createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';

/**
 * A CREATE INDEX CONCURRENTLY commits on its own; its journal row is written
 * after it. An apply killed in between leaves a valid index the journal does
 * not know. The next apply (or rollback), holding the lock, marks that run
 * 'interrupted' and journals what of its plan now exists as planned.
 * These run the built CLI (bin/schema-diff → dist/): `npm run build` first.
 */

const seed = `
  CREATE TABLE orders (id integer PRIMARY KEY, status text NOT NULL);
  INSERT INTO orders SELECT g, 'status ' || (g % 7) FROM generate_series(1, 2000) g;
`;
const manifestJson = JSON.stringify({ version: 1, tables: { orders: { indexes: [{ name: 'ix_orders_status', columns: ['status'] }] } } });

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: 'test-holder' });
  await c.connect();
  return c;
}

const exited = (child: ChildProcess) =>
  new Promise<NodeJS.Signals | null>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.signalCode) : child.on('exit', (_c, s) => resolve(s))));

describeServer('an apply killed -9 around CREATE INDEX CONCURRENTLY', () => {
  let dir: string;
  let manifest: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sd-interrupted-'));
    manifest = join(dir, 'manifest.json');
    writeFileSync(manifest, manifestJson);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * A database where a killed client's backend notices at once that its client
   * is gone (as a server behind a proxy or with TCP keepalives does, sooner or
   * later), and an apply started on it, its index build held back by a writer
   * on orders until the test lets it go.
   */
  async function startHeldApply() {
    const db = await createTestDatabase();
    await runSql(db.url, seed);
    await runSql(ADMIN_URL, `ALTER DATABASE ${db.name} SET client_connection_check_interval = '50ms'`);
    const writer = await client(db.url);
    await writer.query('BEGIN; LOCK TABLE orders IN ROW EXCLUSIVE MODE');
    const child = spawn(process.execPath, [BIN, 'apply', '--yes', '-d', db.url, '-m', manifest], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    // startRun has committed the run and its planned step; the build waits for the writer
    await until('the planned step in the journal', async () => {
      const r = await runSql(db.url, `SELECT to_regclass('schema_diff.steps') IS NOT NULL AS ok`);
      if (!r.rows[0].ok) return false;
      return (await runSql(db.url, `SELECT count(*)::int AS n FROM schema_diff.steps WHERE state = 'planned'`)).rows[0].n === 1;
    });
    await until('the index build waiting for the writer', async () => {
      const r = await runSql(db.url, `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'schema-diff' AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'`);
      return r.rowCount === 1;
    });
    const backendGone = () =>
      until('the killed apply\'s backend to end', async () => {
        const r = await runSql(db.url, `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'schema-diff'`);
        return r.rowCount === 0;
      });
    return { db, writer, child, stderr: () => stderr, backendGone };
  }

  const cli = (url: string, ...args: string[]) => runCli([...args, '-d', url]);
  const historyJson = async (url: string) => JSON.parse((await cli(url, 'history', '--format', 'json')).stdout) as { runs: { id: number; status: string; steps: { action: string; name: string }[] }[] };

  test('killed after the build, before its journal row: the next apply marks the run interrupted and adopts the index; rollback drops it', async () => {
    const { db, writer, child, backendGone } = await startHeldApply();
    const journal = await client(db.url);
    try {
      // Hold the journal's steps table so the row for the finished build cannot be written, then let the build finish.
      await journal.query('BEGIN; LOCK TABLE schema_diff.steps IN SHARE ROW EXCLUSIVE MODE');
      await writer.query('COMMIT');
      await until('the index VALID and the apply waiting to journal it', async () => {
        const valid = await runSql(db.url, `SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('public.ix_orders_status')`);
        const waiting = await runSql(db.url, `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'schema-diff' AND query ILIKE '%insert into schema_diff.steps%' AND wait_event_type = 'Lock'`);
        return valid.rows[0]?.indisvalid === true && waiting.rowCount === 1;
      });
      child.kill('SIGKILL');
      expect(await exited(child)).toBe('SIGKILL');
      await backendGone();
      await journal.query('ROLLBACK');

      const killed = await historyJson(db.url);
      expect(killed.runs.map((r) => [r.id, r.status, r.steps.length])).toEqual([[1, 'running', 0]]);
      expect((await cli(db.url, 'history')).stdout).toMatch(/^#1 {5}apply {5}running/);

      const again = await cli(db.url, 'apply', '--yes', '-m', manifest);
      expect(again.stderr).not.toMatch(/error/);
      expect(again.code).toBe(0);
      expect(again.stderr).toContain(
        'apply run 1 was interrupted (its process is gone); marked interrupted; what it made is now in its journal: create_index ix_orders_status on public.orders',
      );
      const after = await historyJson(db.url);
      expect(after.runs.map((r) => [r.id, r.status, r.steps.map((s) => `${s.action} ${s.name}`)])).toEqual([[1, 'interrupted', ['create_index ix_orders_status']]]);
      expect((await cli(db.url, 'history')).stdout).toMatch(/^#1 {5}apply {5}interrupted {2}\d{4}-/);

      const undo = await cli(db.url, 'rollback', '--yes', '--constraint', 'ix_orders_status');
      expect(undo.stderr).not.toMatch(/error/);
      expect(undo.code).toBe(0);
      expect((await runSql(db.url, `SELECT to_regclass('public.ix_orders_status') AS ix`)).rows[0].ix).toBeNull();
    } finally {
      child.kill('SIGKILL');
      await journal.end().catch(() => {});
      await writer.end().catch(() => {});
      await db.drop();
    }
  });

  test('killed during the build: the INVALID leftover is not adopted, the run is marked interrupted, the next apply rebuilds it', async () => {
    const { db, writer, child, backendGone } = await startHeldApply();
    try {
      child.kill('SIGKILL');
      expect(await exited(child)).toBe('SIGKILL');
      await backendGone();
      await writer.query('COMMIT');
      const leftover = await runSql(db.url, `SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('public.ix_orders_status')`);
      expect(leftover.rows).toEqual([{ indisvalid: false }]);

      const again = await cli(db.url, 'apply', '--yes', '-m', manifest);
      expect(again.code).toBe(0);
      expect(again.stderr).toContain('apply run 1 was interrupted (its process is gone); marked interrupted\n');
      const after = await historyJson(db.url);
      expect(after.runs.map((r) => [r.id, r.status, r.steps.map((s) => `${s.action} ${s.name}`)])).toEqual([
        [1, 'interrupted', []],
        [2, 'done', ['replace_index ix_orders_status']],
      ]);
      const valid = await runSql(db.url, `SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('public.ix_orders_status')`);
      expect(valid.rows).toEqual([{ indisvalid: true }]);
    } finally {
      child.kill('SIGKILL');
      await writer.end().catch(() => {});
      await db.drop();
    }
  });
});

/** The journal as schema-diff wrote it before planned steps and 'interrupted' existed, with a run a kill left 'running'. */
const OLD_JOURNAL = {
  postgres: `
    CREATE SCHEMA schema_diff;
    CREATE TABLE schema_diff.runs (
      id bigserial PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('apply', 'rollback')),
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
      manifest text NOT NULL,
      fingerprint text NOT NULL
    );
    CREATE TABLE schema_diff.steps (
      run_id bigint NOT NULL REFERENCES schema_diff.runs (id),
      seq integer NOT NULL,
      action text NOT NULL,
      table_name text NOT NULL,
      name text NOT NULL,
      objects text[] NOT NULL,
      sql text[] NOT NULL,
      inverse text[] NOT NULL,
      transactional boolean NOT NULL,
      lock_timeout boolean NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      undone_by bigint REFERENCES schema_diff.runs (id),
      PRIMARY KEY (run_id, seq)
    );
    INSERT INTO schema_diff.runs (kind, manifest, fingerprint) VALUES ('apply', 'old.json', 'sha256:old');`,
  sqlite: `
    CREATE TABLE schema_diff_runs (
      id INTEGER PRIMARY KEY,
      kind TEXT NOT NULL CHECK (kind IN ('apply', 'rollback')),
      started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      finished_at TEXT,
      status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
      manifest TEXT NOT NULL,
      fingerprint TEXT NOT NULL
    );
    CREATE TABLE schema_diff_steps (
      run_id INTEGER NOT NULL REFERENCES schema_diff_runs (id),
      seq INTEGER NOT NULL,
      action TEXT NOT NULL,
      table_name TEXT NOT NULL,
      name TEXT NOT NULL,
      objects TEXT NOT NULL,
      sql TEXT NOT NULL,
      inverse TEXT NOT NULL,
      transactional INTEGER NOT NULL,
      lock_timeout INTEGER NOT NULL,
      applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      after_definition TEXT,
      origin TEXT,
      undone_by INTEGER REFERENCES schema_diff_runs (id),
      PRIMARY KEY (run_id, seq)
    );
    INSERT INTO schema_diff_runs (id, kind, manifest, fingerprint) VALUES (1, 'apply', 'old.json', 'sha256:old');
    INSERT INTO schema_diff_steps (run_id, seq, action, table_name, name, objects, sql, inverse, transactional, lock_timeout)
      VALUES (1, 1, 'validate_constraint', 'main.t', 'ck_old', '["ck_old"]', '[]', '[]', 1, 0);`,
};

const small: LoadedManifest = { version: 1, tables: { t: { indexes: [{ name: 'ix_t_n', columns: ['n'] }] } } };

describeEachDatabase(['postgres', 'pglite', 'sqlite'], 'an old journal with a run left running', (make, kind) => {
  test('the next apply migrates the journal, marks the run interrupted, and history shows it', async () => {
    const target = await make(`CREATE TABLE t (id integer PRIMARY KEY, n integer NOT NULL); ${OLD_JOURNAL[kind === 'sqlite' ? 'sqlite' : 'postgres']}`);
    try {
      const notices: string[] = [];
      const result = await applyManifest(target.dialect, small, { ...testApplyOptions, backup: false, events: { notice: (m) => notices.push(m) } });
      expect(result.runId).toBe(2);
      expect(notices).toContain('apply run 1 was interrupted (its process is gone); marked interrupted');
      const history = await target.dialect.history();
      expect(history.map((r) => [r.id, r.status, r.steps.length])).toEqual([
        [1, 'interrupted', kind === 'sqlite' ? 1 : 0],
        [2, 'done', 1],
      ]);
      expect(history[0].finishedAt).not.toBeNull();
      // a second apply finds nothing left running
      const quiet: string[] = [];
      await applyManifest(target.dialect, small, { ...testApplyOptions, backup: false, events: { notice: (m) => quiet.push(m) } });
      expect(quiet.filter((m) => m.includes('interrupted'))).toEqual([]);
      // the old journal also learns the 'forget' run kind and the steps' effects
      await forgetObjects(target.dialect, ['ix_t_n'], { lockWaitMs: 2000 });
      expect((await target.dialect.history()).map((r) => r.kind)).toEqual(['apply', 'apply', 'forget']);
    } finally {
      await target.dispose();
    }
  });
});
