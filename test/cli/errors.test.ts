import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { ADMIN_URL, createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { PASSWORD, expectNoPassword, expectOneLineError, runCli, withPassword } from './run-cli.js';

const fixture = (name: string) => `test/fixtures/manifests/${name}`;

describe('connection errors: one line, exit 1, never the password', () => {
  test('an unsupported URL scheme', async () => {
    const result = await runCli(['plan', '--database-url', `mysql://root:${PASSWORD}@db/mestore`]);
    expectOneLineError(result, /^error: unsupported database URL mysql:\/\/root:\*\*\*@db\/mestore: expected postgres:\/\//);
  });

  test('no database given at all', async () => {
    expectOneLineError(await runCli(['plan']), /^error: no database: pass --database-url, set DATABASE_URL, or set databaseUrl in schema-diff.config.ts$/);
  });

  test('an unreachable server', async () => {
    const result = await runCli(['plan', '--database-url', `postgres://postgres:${PASSWORD}@127.0.0.1:1/x`]);
    expectOneLineError(result, /^error: cannot connect to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/x: connection refused/);
  });

  test('a bad manifest is reported before any connection, every problem on its own line', async () => {
    const result = await runCli(['plan', '-m', fixture('invalid.json'), '-d', `postgres://postgres:${PASSWORD}@127.0.0.1:1/x`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `error: invalid manifest ${fixture('invalid.json')}: 3 problems (one per line below)`,
      '  tables.orders.checks[2].expr: must be a non-empty string',
      '  tables.orders.foreignKeys[0].onDelete: unknown action "nullify" (expected one of: no action, restrict, cascade, set null, set default)',
      '  tables.orders.checks[1].name: duplicate constraint name "ck_a" in table orders (also tables.orders.checks[0].name)',
    ]);
    expectNoPassword(result);
  });

  test('a missing manifest file', async () => {
    expectOneLineError(await runCli(['plan', '-m', 'nope.ts', '-d', 'pglite:memory']), /^error: manifest file not found: nope\.ts$/);
  });

  test('--debug adds the stack trace, still without the password', async () => {
    const result = await runCli(['plan', '--debug', '--database-url', `postgres://postgres:${PASSWORD}@127.0.0.1:1/x`]);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').length).toBeGreaterThan(2);
    expect(result.stderr).toMatch(/\n\s+at /);
    expectNoPassword(result);
  });
});

describeServer('errors against the real server', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let url: string;
  beforeAll(async () => {
    db = await createTestDatabase('sd_cli_err');
    await runSql(db.url, baselineSchema('postgres') + demoRows());
    url = withPassword(db.url);
  });
  afterAll(async () => db?.drop());

  /** The managed objects present: nothing may change after a refused command. */
  const managedObjects = async () =>
    (
      await runSql(
        db.url,
        `select conname as name from pg_constraint where conname like 'ck\\_%' or conname like 'fk\\_%'
         union all select indexname from pg_indexes where indexname like 'ix\\_%'
         union all select nspname from pg_namespace where nspname = 'schema_diff'`,
      )
    ).rows;

  test('a database that does not exist', async () => {
    const missing = new URL(withPassword(ADMIN_URL));
    missing.pathname = '/sd_no_such_database';
    const result = await runCli(['plan', '--database-url', missing.toString()]);
    expectOneLineError(result, /^error: cannot connect to .*sd_no_such_database.*does not exist/);
  });

  test('an unknown table in the manifest, named with its path', async () => {
    const result = await runCli(['plan', '-m', fixture('unknown-table.json'), '-d', url]);
    expectOneLineError(result, /^error: .*tables\.ordrs: table public\.ordrs does not exist/);
  });

  test('an unknown column in the manifest, with did-you-mean', async () => {
    const result = await runCli(['apply', '--yes', '-m', fixture('unknown-column.json'), '-d', url]);
    expectOneLineError(result, /^error: .*tables\.orders\.indexes\[0\]\.columns\[0\]: unknown column "totl_amount" in table public\.orders \(did you mean total_amount\?\)/);
    expect(await managedObjects()).toEqual([]);
  });

  test('an unknown column inside a CHECK expression', async () => {
    const result = await runCli(['apply', '--yes', '-m', fixture('unknown-check-column.json'), '-d', url]);
    expectOneLineError(result, /^error: .*tables\.orders\.checks\[0\].*"totl_amount"/);
    expect(await managedObjects()).toEqual([]);
  });
});
