import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { openDialect } from '../../src/dialect/open.js';
import type { PostgresDialect } from '../../src/dialect/postgres/postgres-dialect.js';
import { expectOneLineError, runCli } from '../cli/run-cli.js';
import { ADMIN_URL, createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { seededFile } from '../sqlite/helpers.js';

/** A manifest with one change the MeStore baseline does not have: apply has work to do. */
function extraManifest(dir: string): string {
  const path = join(dir, 'extra.json');
  writeFileSync(path, JSON.stringify({ version: 1, tables: { orders: { checks: [{ name: 'ck_sd_ro_extra', expr: 'id > 0' }] } } }));
  return path;
}

/**
 * docs/rollout.md promises that plan, verify, validate and history run as a
 * read-only user: a role with only CONNECT, USAGE, SELECT and TEMPORARY
 * (docs/security.md lists the privileges of each command).
 */
describeServer('read-only commands as a role with only CONNECT, USAGE, SELECT and TEMPORARY', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dir: string;
  const role = `sd_ro_${randomBytes(5).toString('hex')}`;
  let roleUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sd-ro-'));
    db = await createTestDatabase('sd_ro');
    await runSql(db.url, baselineSchema('postgres') + demoRows());
    const applied = await runCli(['apply', '--yes', '--quiet', '--database-url', db.url]);
    expect(applied.code).toBe(0);
    await runSql(
      db.url,
      `CREATE ROLE ${role} LOGIN;
       REVOKE ALL ON DATABASE ${db.name} FROM PUBLIC;
       GRANT CONNECT, TEMPORARY ON DATABASE ${db.name} TO ${role};
       GRANT USAGE ON SCHEMA public, schema_diff TO ${role};
       GRANT SELECT ON ALL TABLES IN SCHEMA public, schema_diff TO ${role};`,
    );
    const url = new URL(db.url);
    url.username = role;
    roleUrl = url.toString();
  });
  afterAll(async () => {
    await db?.drop();
    await runSql(ADMIN_URL, `DROP ROLE IF EXISTS ${role}`);
    rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    ['plan', ['--exit-code']],
    ['verify', []],
    ['validate', []],
    ['history', ['--steps']],
    ['pull', []],
  ])('%s succeeds', async (command, extra) => {
    const result = await runCli([command, ...extra, '--database-url', roleUrl]);
    expect({ code: result.code, stderr: result.stderr.split('\n').filter((l) => l.startsWith('error:')) }).toEqual({ code: 0, stderr: [] });
    if (command === 'history') expect(result.stdout).toMatch(/#1 +apply +done/);
  });

  test('plan of a manifest with changes works too: normalization needs only TEMPORARY, and is rolled back', async () => {
    const result = await runCli(['plan', '-m', extraManifest(dir), '--database-url', roleUrl]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('ADD CONSTRAINT ck_sd_ro_extra CHECK (id > 0) NOT VALID;');
  });

  test('apply as that role fails cleanly: one error line, nothing changed', async () => {
    const before = (await runSql(db.url, 'select count(*)::int as n from schema_diff.runs')).rows;
    const result = await runCli(['apply', '--yes', '--quiet', '-m', extraManifest(dir), '--database-url', roleUrl]);
    expectOneLineError(result, /permission denied|must be owner/);
    expect((await runSql(db.url, 'select count(*)::int as n from schema_diff.runs')).rows).toEqual(before);
    expect((await runSql(db.url, `select count(*)::int as n from pg_constraint where conname = 'ck_sd_ro_extra'`)).rows).toEqual([{ n: 0 }]);
  });
});

describeServer('read-only sessions on PostgreSQL', () => {
  test('transactions default to READ ONLY; history creates no journal; normalization still plans', async () => {
    const db = await createTestDatabase('sd_ro_session');
    try {
      await runSql(db.url, 'CREATE TABLE orders (id integer PRIMARY KEY)');
      const dialect = (await openDialect(db.url, { readOnly: true })) as PostgresDialect;
      try {
        const { rows } = await sql<{ ro: string }>`select current_setting('default_transaction_read_only') as ro`.execute(dialect.handles.session);
        expect(rows).toEqual([{ ro: 'on' }]);
        await expect(sql`create table written (x int)`.execute(dialect.handles.session)).rejects.toThrow(/read-only transaction/);
        expect(await dialect.history()).toEqual([]);
      } finally {
        await dialect.close();
      }
      const dir = mkdtempSync(join(tmpdir(), 'sd-ro-'));
      try {
        const plan = await runCli(['plan', '-m', extraManifest(dir), '--database-url', db.url]);
        expect(plan.code).toBe(0);
        const history = await runCli(['history', '--database-url', db.url]);
        expect(history.stdout).toMatch(/no applies recorded/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      expect((await runSql(db.url, `select count(*)::int as n from pg_namespace where nspname = 'schema_diff'`)).rows).toEqual([{ n: 0 }]);
    } finally {
      await db.drop();
    }
  });
});

describe('read-only commands on SQLite leave the file untouched', () => {
  test('plan, verify, validate, history and pull: same bytes, same mtime; the connection is query_only', async () => {
    const file = seededFile(baselineSchema('sqlite') + demoRows());
    const url = `sqlite:///${file.path}`;
    try {
      expect((await runCli(['apply', '--yes', '--quiet', '--no-backup', '--database-url', url])).code).toBe(0);
      const extra = extraManifest(file.dir);
      const bytes = readFileSync(file.path);
      const mtime = statSync(file.path).mtimeMs;
      for (const args of [['plan'], ['plan', '-m', extra], ['verify'], ['verify', '-m', extra], ['validate'], ['history', '--steps'], ['pull']]) {
        const result = await runCli([...args, '--database-url', url]);
        expect({ args, code: result.code === 1 ? result.stderr : 'ok' }).toEqual({ args, code: 'ok' });
      }
      expect(readFileSync(file.path).equals(bytes)).toBe(true);
      expect(statSync(file.path).mtimeMs).toBe(mtime);

      const dialect = await openDialect(url, { readOnly: true });
      try {
        // read the message by hand: better-sqlite3 keeps the error class of the first test file that loaded it in
        // this jest worker, whose errors are then not instances of this file's Error, and toThrow would not see them
        const refusal = await dialect.exec('CREATE TABLE written (x)').then(
          () => 'written',
          (e: unknown) => String((e as { message?: unknown }).message ?? e),
        );
        expect(refusal).toMatch(/readonly database/);
      } finally {
        await dialect.close();
      }
      expect(readFileSync(file.path).equals(bytes)).toBe(true);
    } finally {
      file.dispose();
    }
  });

  test('a spliced CHECK is refused by plan and apply, and the file is unchanged', async () => {
    const file = seededFile('CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER);');
    try {
      const manifest = join(file.dir, 'splice.json');
      writeFileSync(manifest, JSON.stringify({ version: 1, tables: { orders: { checks: [{ name: 'ck_splice', expr: 'total > 0) , CHECK (1' }] } } }));
      const bytes = readFileSync(file.path);
      for (const command of ['plan', 'apply']) {
        const result = await runCli([command, '--yes', '-m', manifest, '--database-url', `sqlite:///${file.path}`].filter((a) => command === 'apply' || a !== '--yes'));
        expectOneLineError(result, /^error: manifest tables\.orders\.checks\[0\]\.expr: not a single SQL expression \(unbalanced "\)"\)$/);
      }
      expect(readFileSync(file.path).equals(bytes)).toBe(true);
    } finally {
      file.dispose();
    }
  });
});
