import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { renderPostgres } from '../../src/dialect/postgres/render.js';
import type { Change } from '../../src/diff/changes.js';
import { runCli, withPassword, PASSWORD, type CliResult } from '../cli/run-cli.js';
import { ADMIN_URL, createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { postgresSnapshot, sqliteRun, sqliteSnapshot } from './snapshot.js';

/**
 * The adversarial suite: hostile manifests, URLs, flags, plan files and
 * journal rows fed to the real executable, on a PostgreSQL server and an SQLite
 * file that already carry MeStore's applied plan (so a journal exists) and a
 * `victim` table. For every one: exit 1, exactly one `error:` line, no stack
 * trace, no secret, and the database unchanged (a snapshot of catalog and rows
 * before and after; on SQLite the file's bytes and its directory's listing).
 */

type Kind = 'postgres' | 'sqlite';

interface Ctx {
  readonly kind: Kind;
  /** The URL the CLI is given (PostgreSQL: with a password that must never be printed). */
  readonly url: string;
  /** A scratch directory for manifests and plan files. */
  readonly dir: string;
  /** Runs SQL on the database outside schema-diff. */
  sql(text: string): Promise<void>;
}

interface HostileCase {
  readonly name: string;
  readonly on: readonly Kind[];
  /** A manifest (a JSON value, or raw text) written to `<dir>/<case>.json` and passed as `-m`. */
  readonly manifest?: unknown;
  /** Arguments after the command's own manifest and URL flags are added (see run()). */
  readonly args: (ctx: Ctx, manifest: string) => string[];
  /** Prepares the hostile state (a journal row, a plan file); runs on a private copy of the database. */
  readonly setup?: (ctx: Ctx, manifest: string) => Promise<void>;
  /** Secrets that must not appear in the output besides the test password. */
  readonly secrets?: readonly string[];
  /** The error line must match this (when the wording is part of the promise). */
  readonly message?: RegExp;
  /** Anything else the refusal must have left alone (files, directories). */
  readonly untouched?: (ctx: Ctx) => void;
}

const VICTIM = `CREATE TABLE victim (id integer PRIMARY KEY, note text NOT NULL); INSERT INTO victim VALUES (1, 'still here');`;

/** A manifest that, were a hostile flag accepted, would change the database: one new CHECK. */
const PENDING = { version: 1, tables: { orders: { checks: [{ name: 'ck_adv_pending', expr: 'subtotal >= 0' }] } } };

const withCheck = (expr: unknown) => ({ version: 1, tables: { orders: { checks: [{ name: 'ck_adv_hostile', expr }] } } });
const withIndex = (index: Record<string, unknown>) => ({
  version: 1,
  tables: { orders: { indexes: [{ name: 'ix_adv_hostile', columns: ['status'], ...index }] } },
});
const withForeignKey = (fk: Record<string, unknown>) => ({
  version: 1,
  tables: {
    orders: {
      foreignKeys: [{ name: 'fk_adv_hostile', columns: ['buyer_id'], references: { table: 'users', columns: ['id'] }, ...fk }],
    },
  },
});

const BOTH: readonly Kind[] = ['postgres', 'sqlite'];
const PG_ONLY: readonly Kind[] = ['postgres'];

/** Each hostile manifest is tried with every command that reads a manifest. */
const MANIFEST_COMMANDS = [
  ['plan'],
  ['verify'],
  ['validate'],
  ['apply', '--yes'],
] as const;

/** Inputs refused by the manifest's own checks before any SQL: plan and apply are enough to show it. */
const PLAN_AND_APPLY = [MANIFEST_COMMANDS[0], MANIFEST_COMMANDS[3]] as const;

const hostileManifests: { name: string; on: readonly Kind[]; manifest: unknown; commands?: readonly (typeof MANIFEST_COMMANDS)[number][] }[] = [
  { name: 'a CHECK that closes its parenthesis and commits a DROP', on: BOTH, manifest: withCheck('true); COMMIT; DROP TABLE victim; --') },
  { name: 'a CHECK with a statement separator', on: BOTH, manifest: withCheck('subtotal >= 0; DROP TABLE victim') },
  { name: 'a CHECK that opens a comment it never closes', on: BOTH, manifest: withCheck('subtotal >= 0 /* the rest is mine') },
  { name: 'a CHECK ending in a line comment that swallows the closing parenthesis', on: BOTH, manifest: withCheck('subtotal >= 0 -- )') },
  { name: 'a CHECK that splices a second constraint', on: BOTH, manifest: withCheck('total_amount > 0) , CHECK (1') },
  { name: 'a CHECK with a close before its open', on: BOTH, manifest: withCheck('subtotal >= 0) OR (true') },
  { name: 'a CHECK with an unterminated string', on: BOTH, manifest: withCheck("status = 'pending") },
  { name: 'a CHECK with an unterminated dollar quote', commands: PLAN_AND_APPLY, on: PG_ONLY, manifest: withCheck('subtotal >= 0 AND $$x') },
  { name: 'a CHECK with a subquery', commands: PLAN_AND_APPLY, on: PG_ONLY, manifest: withCheck('subtotal >= (select 0)') },
  { name: 'a CHECK that is not a string', commands: PLAN_AND_APPLY, on: BOTH, manifest: withCheck(42) },
  { name: 'an index predicate with a statement separator', on: BOTH, manifest: withIndex({ where: "status = 'x'; DROP TABLE victim" }) },
  { name: 'an index predicate that closes the statement early', on: BOTH, manifest: withIndex({ where: 'status IS NOT NULL) WITH (fillfactor = 10' }) },
  {
    name: 'an index expression key that ends the statement',
    on: BOTH,
    manifest: withIndex({ columns: [{ expr: 'lower(status)); DROP TABLE victim; --' }] }),
  },
  {
    name: 'an index access method carrying a statement',
    on: PG_ONLY,
    manifest: withIndex({ method: 'btree (status); COMMIT; DROP TABLE victim; CREATE INDEX zz ON orders' }),
  },
  {
    name: 'an operator class carrying a statement', commands: PLAN_AND_APPLY,
    on: BOTH,
    manifest: withIndex({ columns: [{ column: 'status', opclass: 'text_ops); DROP TABLE victim; --' }] }),
  },
  {
    name: 'operator class parameters carrying a statement', commands: PLAN_AND_APPLY,
    on: BOTH,
    manifest: withIndex({ columns: [{ column: 'status', opclass: { name: 'text_ops', params: { "siglen='1'); DROP TABLE victim; --": 1, x: "1'); DROP TABLE victim; --" } } }] }),
  },
  { name: 'a collation carrying a statement', commands: PLAN_AND_APPLY, on: BOTH, manifest: withIndex({ columns: [{ column: 'status', collate: 'C"); DROP TABLE victim; --' }] }) },
  { name: 'a storage parameter value carrying a statement', commands: PLAN_AND_APPLY, on: BOTH, manifest: withIndex({ with: { fillfactor: "70'); DROP TABLE victim; --" } }) },
  { name: 'a storage parameter value with a backslash before a quote', commands: PLAN_AND_APPLY, on: BOTH, manifest: withIndex({ with: { fillfactor: "\\'" } }) },
  { name: 'an INCLUDE column carrying a statement', commands: PLAN_AND_APPLY, on: BOTH, manifest: withIndex({ include: ['id); DROP TABLE victim; --'] }) },
  { name: 'an index access method the database does not have', commands: PLAN_AND_APPLY, on: PG_ONLY, manifest: withIndex({ method: 'nosuchmethod' }) },
  {
    name: 'a table name carrying a statement', commands: PLAN_AND_APPLY,
    on: BOTH,
    manifest: { version: 1, tables: { 'victim; DROP TABLE victim': { checks: [{ name: 'ck_adv_t', expr: 'true' }] } } },
  },
  { name: 'a foreign key column carrying a statement', commands: PLAN_AND_APPLY, on: BOTH, manifest: withForeignKey({ columns: ['buyer_id) REFERENCES users (id); DROP TABLE victim; --'] }) },
  { name: 'a foreign key action carrying a statement', commands: PLAN_AND_APPLY, on: BOTH, manifest: withForeignKey({ onDelete: 'cascade; DROP TABLE victim' }) },
  {
    name: 'a foreign key parent carrying a statement', commands: PLAN_AND_APPLY,
    on: BOTH,
    manifest: withForeignKey({ references: { table: 'users (id); DROP TABLE victim; --', columns: ['id'] } }),
  },
  { name: 'a manifest that is not JSON', commands: PLAN_AND_APPLY, on: BOTH, manifest: '{"version": 1, "tables": {"orders": ' },
  { name: 'a manifest nested a hundred thousand levels deep', commands: PLAN_AND_APPLY, on: BOTH, manifest: '['.repeat(100_000) + ']'.repeat(100_000) },
  // where the PostgreSQL lexer once disagreed with scan.l: each dropped a column on apply, exit 0
  { name: 'a CHECK whose -- comment a carriage return ends', on: BOTH, manifest: withCheck('true -- x\r) , DROP COLUMN shipping_phone , ADD CHECK (true --\n') },
  {
    name: 'a CHECK with a non-ASCII dollar-quote tag',
    on: BOTH,
    manifest: withCheck("$é$'$é$ IS NOT NULL) , DROP COLUMN shipping_phone , ADD CHECK ($é$'$é$ IS NOT NULL"),
  },
  { name: 'a CHECK with a no-break space before a dollar quote', on: BOTH, manifest: withCheck('true AND \u00a0$$ ) , DROP COLUMN shipping_phone , ADD CHECK ( x\u00a0$$ IS NULL') },
  // functions validate (and apply's check of existing rows) would run on every row
  { name: 'a CHECK that reads a server file', on: PG_ONLY, manifest: withCheck("length(pg_read_file('/etc/hostname')) > 0") },
  { name: 'a CHECK that ends its own session', on: PG_ONLY, manifest: withCheck('pg_terminate_backend(pg_backend_pid())') },
  { name: 'a CHECK whose subquery reads password hashes', on: PG_ONLY, manifest: withCheck("subtotal::text <> (select string_agg(rolpassword, ',') from pg_authid)") },
  { name: 'a CHECK whose subquery reads another table', on: BOTH, manifest: withCheck("subtotal >= (select count(*) from users where email like '%a%')") },
  {
    name: 'a constraint name that ends the plan script\'s comment', commands: PLAN_AND_APPLY,
    on: BOTH,
    manifest: { version: 1, tables: { orders: { checks: [{ name: 'ck\nDROP TABLE victim; --', expr: 'true' }] } } },
  },
  {
    name: 'a manifest whose table is __proto__', commands: PLAN_AND_APPLY,
    on: BOTH,
    manifest: '{"version": 1, "tables": {"__proto__": {"checks": [{"name": "ck_adv_proto", "expr": "true"}]}}}',
  },
];

const cases: HostileCase[] = [
  ...hostileManifests.flatMap((m) =>
    (m.commands ?? MANIFEST_COMMANDS).map(
      (command): HostileCase => ({
        name: `${command[0]}: ${m.name}`,
        on: m.on,
        manifest: m.manifest,
        args: (ctx, manifest) => [...command, '-m', manifest, '-d', ctx.url],
      }),
    ),
  ),

  // URLs: nothing to connect to, or nothing that should be; the password never printed.
  ...[
    { name: 'a password with an unescaped #', url: 'postgres://app:s3cr#tPW@127.0.0.1:1/x', secrets: ['s3cr#tPW', 'tPW@'] },
    { name: 'a password with an unescaped ?', url: 'postgres://app:pa?ssW0rd@127.0.0.1:1/x', secrets: ['pa?ssW0rd', 'ssW0rd'] },
    { name: 'a password with @ and /', url: 'postgres://app:p@ss/W0rd@127.0.0.1:1/x', secrets: ['p@ss/W0rd', 'ss/W0rd'] },
    { name: 'a password in the query string', url: 'postgres://app@127.0.0.1:1/x?password=Qu3ryS3cret', secrets: ['Qu3ryS3cret'] },
    { name: 'an unsupported scheme', url: `mysql://root:${PASSWORD}@127.0.0.1/x`, secrets: [] },
    { name: 'a newline in the URL', url: `postgres://app:${PASSWORD}@127.0.0.1:1/x\nDROP TABLE victim`, secrets: [] },
    { name: 'a database that does not exist', url: `postgres://postgres:${PASSWORD}@127.0.0.1:5432/sd_adv_missing_db`, secrets: [] },
    { name: 'an SQLite file that does not exist', url: 'sqlite:///nonexistent-dir/adv.db', secrets: [] },
    { name: 'a PGlite directory that does not exist', url: 'pglite:{dir}/mistyped-dir', secrets: [] },
    { name: 'one slash after the scheme', url: 'postgres:/postgres:TopSecretB@127.0.0.1:1/x', secrets: ['TopSecretB'] },
    { name: 'no slash after the scheme', url: 'postgresql:app:TopSecretC@127.0.0.1:1/x', secrets: ['TopSecretC'] },
  ].map(
    (u): HostileCase => ({
      name: `plan with ${u.name}`,
      on: ['postgres'],
      manifest: PENDING,
      secrets: u.secrets,
      untouched: (ctx) => expect(existsSync(join(ctx.dir, 'mistyped-dir'))).toBe(false),
      args: (ctx, manifest) => ['plan', '-m', manifest, '-d', u.url.replace('{dir}', ctx.dir)],
    }),
  ),

  // Flags that would make apply or rollback unsafe, or that mean nothing.
  ...[
    ['--lock-timeout', '0'],
    ['--lock-timeout', '0.4ms'],
    ['--lock-timeout', '-5ms'],
    ['--lock-timeout', 'soon'],
    ['--lock-retries', '-1'],
    ['--lock-retries', '1.5'],
    ['--retry-budget', '-1s'],
    ['--lock-wait', '-1s'],
  ].map(
    (flag): HostileCase => ({
      name: `apply ${flag.join(' ')}`,
      on: BOTH,
      manifest: PENDING,
      args: (ctx, manifest) => ['apply', '--yes', '-m', manifest, '-d', ctx.url, ...flag],
    }),
  ),
  {
    name: 'apply --lock-timeout above half the deadlock_timeout',
    on: PG_ONLY,
    manifest: PENDING,
    args: (ctx, manifest) => ['apply', '--yes', '-m', manifest, '-d', ctx.url, '--lock-timeout', '10s'],
  },
  ...[
    ['--jobs', '-3'],
    ['--jobs', '0'],
    ['--samples', '-1'],
  ].map(
    (flag): HostileCase => ({
      name: `validate ${flag.join(' ')}`,
      on: BOTH,
      manifest: PENDING,
      args: (ctx, manifest) => ['validate', '-m', manifest, '-d', ctx.url, ...flag],
    }),
  ),
  ...[['--to', 'abc'], ['--to', '-1'], ['--lock-timeout', '0'], ['--constraint', "x'; DROP TABLE victim; --"]].map(
    (flag): HostileCase => ({
      name: `rollback ${flag.join(' ')}`,
      on: BOTH,
      args: (ctx) => ['rollback', '--yes', '-d', ctx.url, ...flag],
    }),
  ),

  // Plan files: reviewed once, then possibly edited by anyone who can write the file.
  {
    name: 'apply --plan with a file that is not JSON',
    on: BOTH,
    manifest: PENDING,
    setup: async (ctx) => writeFileSync(join(ctx.dir, 'plan.json'), 'DROP TABLE victim;'),
    args: (ctx, manifest) => ['apply', '--yes', '-m', manifest, '-d', ctx.url, '--plan', join(ctx.dir, 'plan.json')],
  },
  {
    name: 'apply --plan whose step SQL was edited after review',
    on: BOTH,
    manifest: PENDING,
    setup: async (ctx, manifest) => {
      const file = join(ctx.dir, 'plan.json');
      const made = await runCli(['plan', '-m', manifest, '-d', ctx.url, '--format', 'json', '--out', file]);
      expect(made.code).toBe(0);
      const plan = JSON.parse(readFileSync(file, 'utf8')) as { steps: { sql: string[] }[] };
      plan.steps[0].sql = ['DROP TABLE victim'];
      writeFileSync(file, JSON.stringify(plan));
    },
    args: (ctx, manifest) => ['apply', '--yes', '-m', manifest, '-d', ctx.url, '--plan', join(ctx.dir, 'plan.json')],
  },
  {
    name: 'apply --plan of an unknown version',
    on: BOTH,
    manifest: PENDING,
    setup: async (ctx, manifest) => {
      const file = join(ctx.dir, 'plan.json');
      await runCli(['plan', '-m', manifest, '-d', ctx.url, '--format', 'json', '--out', file]);
      const plan = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      writeFileSync(file, JSON.stringify({ ...plan, version: 99 }));
    },
    args: (ctx, manifest) => ['apply', '--yes', '-m', manifest, '-d', ctx.url, '--plan', join(ctx.dir, 'plan.json')],
  },

  // Journal rows: whoever can write them must not gain the privileges of whoever runs rollback.
  ...journalCases(),
];

function journalCases(): HostileCase[] {
  const steps = (kind: Kind) => (kind === 'postgres' ? 'schema_diff.steps' : 'schema_diff_steps');
  // PostgreSQL journals the CHECK's own step; SQLite the rebuild of its table, which names it among its objects.
  const lastCheck = (kind: Kind) =>
    `run_id = (select max(run_id) from ${steps(kind)}) and ` +
    (kind === 'postgres'
      ? `action = 'add_check' and name = 'ck_order_total_positive'`
      : `objects like '%"ck_order_total_positive"%'`);
  const inverse = (kind: Kind, statements: string[]) =>
    kind === 'postgres'
      ? `ARRAY[${statements.map((s) => `'${s.replace(/'/g, "''")}'`).join(', ')}]::text[]`
      : `'${JSON.stringify(statements).replace(/'/g, "''")}'`;
  const tamper = (name: string, on: readonly Kind[], change: (kind: Kind) => string, args: (ctx: Ctx) => string[]): HostileCase => ({
    name,
    on,
    setup: async (ctx) => ctx.sql(`UPDATE ${steps(ctx.kind)} SET ${change(ctx.kind)} WHERE ${lastCheck(ctx.kind)}`),
    args,
  });
  const rollbackAll = (ctx: Ctx) => ['rollback', '--yes', '-d', ctx.url];
  const rollbackOne = (ctx: Ctx) => ['rollback', '--yes', '--constraint', 'ck_order_total_positive', '-d', ctx.url];
  const pgInverse = (kind: Kind) => (kind === 'postgres' ? 'ALTER TABLE public.orders DROP CONSTRAINT IF EXISTS ck_order_total_positive' : '');
  return [
    tamper('rollback of a journal row whose inverse was replaced', BOTH, (k) => `inverse = ${inverse(k, ['DROP TABLE victim'])}`, rollbackAll),
    tamper(
      'rollback --constraint of a journal row with a statement appended to its inverse',
      PG_ONLY,
      (k) => `inverse = ${inverse(k, [pgInverse(k), 'DROP TABLE victim'])}`,
      rollbackOne,
    ),
    tamper('rollback of a journal row pointing at another table', PG_ONLY, () => `table_name = 'public.victim'`, rollbackOne),
    tamper('rollback of a journal row with an unknown action', BOTH, () => `action = 'drop_everything'`, rollbackAll),
    tamper('history of a journal row with an unknown action', BOTH, () => `action = 'drop_everything'`, (ctx) => ['history', '-d', ctx.url]),
    tamper('history of a journal row whose SQL is not JSON', ['sqlite'], () => `sql = 'DROP TABLE victim'`, (ctx) => ['history', '-d', ctx.url]),
    tamper('rollback of a journal row whose inverse is not JSON', ['sqlite'], () => `inverse = 'DROP TABLE victim'`, rollbackAll),
    {
      name: 'rollback with a column grant on the journal',
      on: PG_ONLY,
      setup: async (ctx) => {
        const role = `sd_adv_owner_${process.pid}`;
        await ctx.sql(`DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role}; GRANT UPDATE (origin, inverse) ON schema_diff.steps TO ${role};`);
      },
      args: rollbackAll,
      message: /may UPDATE column/,
    },
    {
      // Role membership is cluster-wide: the journal's owner here is a role of the case's own, never the superuser
      // every other test connects as, so the member it gains cannot make a concurrent test's journal untrusted.
      name: "rollback with a role that is a member of the journal's owner",
      on: PG_ONLY,
      setup: async (ctx) => {
        const [owner, member] = [`sd_adv_jowner_${process.pid}`, `sd_adv_owner_${process.pid}`];
        await ctx.sql(
          `DROP ROLE IF EXISTS ${member}; DROP ROLE IF EXISTS ${owner};
           CREATE ROLE ${owner} LOGIN; CREATE ROLE ${member}; GRANT ${owner} TO ${member};
           ALTER SCHEMA schema_diff OWNER TO ${owner};
           DO $$ DECLARE t text; BEGIN
             FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'schema_diff' LOOP
               EXECUTE format('ALTER TABLE schema_diff.%I OWNER TO ${owner}', t);
             END LOOP; END $$;`,
        );
      },
      args: (ctx) => {
        const url = new URL(ctx.url);
        url.username = `sd_adv_jowner_${process.pid}`;
        return ['rollback', '--yes', '-d', url.toString()];
      },
      message: /is a member of role sd_adv_jowner_/,
    },
    {
      name: 'rollback of a forged origin and inverse that agree on a DROP COLUMN',
      on: PG_ONLY,
      setup: async (ctx) => {
        const table = { schema: 'public', name: 'orders' };
        const ck = { name: 'ck_order_total_positive', table, expr: 'total_amount > 0', validated: true };
        const forged: Change = {
          kind: 'replace_check',
          table,
          desired: { ...ck, source: ck.expr, severity: 'critical', path: 'tables.orders.checks[0]' },
          current: { ...ck, expr: 'true) , DROP COLUMN shipping_phone , ADD CHECK (true', validated: false },
        };
        const [step] = renderPostgres([forged], { dialect: 'postgres', tables: [] });
        const origin = JSON.stringify(forged).replace(/'/g, "''");
        await ctx.sql(`UPDATE schema_diff.steps SET action = 'replace_check', origin = '${origin}', inverse = ${inverse('postgres', [...step.inverse])} WHERE ${lastCheck('postgres')}`);
      },
      args: rollbackOne,
    },
    {
      name: 'rollback with a journal schema owned by someone else',
      on: PG_ONLY,
      setup: async (ctx) => {
        const role = `sd_adv_owner_${process.pid}`;
        await ctx.sql(`DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role}; ALTER SCHEMA schema_diff OWNER TO ${role};`);
      },
      args: rollbackAll,
    },
  ];
}

/** One database of each kind with MeStore applied, kept as a template each case copies. */
interface Base {
  readonly kind: Kind;
  readonly url: string;
  /** The database a case runs on: a private copy when it has a setup (SQLite: always, copies are cheap). */
  fresh(setup: boolean): Promise<{ ctx: Ctx; snapshot(): Promise<string>; dispose(): Promise<void> }>;
  dispose(): Promise<void>;
}

async function postgresBase(dir: string): Promise<Base> {
  const db = await createTestDatabase('sd_adv_base');
  await runSql(db.url, baselineSchema('postgres') + demoRows() + VICTIM);
  const applied = await runCli(['apply', '--yes', '-q', '-d', db.url]);
  expect(applied.code).toBe(0);
  let copies = 0;
  return {
    kind: 'postgres',
    url: db.url,
    async fresh(setup: boolean) {
      const shared: Ctx = { kind: 'postgres', url: withPassword(db.url), dir, sql: async (text) => void (await runSql(db.url, text)) };
      if (!setup) return { ctx: shared, snapshot: () => postgresSnapshot(db.url), dispose: async () => {} };
      // A private copy for a case that prepares hostile state (a tampered journal): it never leaks into the next case.
      const name = `${db.name}_c${++copies}`;
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${db.name}`);
      await admin.end();
      const url = new URL(db.url);
      url.pathname = `/${name}`;
      const plain = url.toString();
      const ctx: Ctx = { kind: 'postgres', url: withPassword(plain), dir, sql: async (text) => void (await runSql(plain, text)) };
      return {
        ctx,
        snapshot: () => postgresSnapshot(plain),
        dispose: async () => {
          const a = new pg.Client({ connectionString: ADMIN_URL });
          await a.connect();
          await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await a.query(`DROP ROLE IF EXISTS sd_adv_owner_${process.pid}`);
          await a.query(`DROP ROLE IF EXISTS sd_adv_jowner_${process.pid}`);
          await a.end();
        },
      };
    },
    dispose: () => db.drop(),
  };
}

async function sqliteBase(dir: string): Promise<Base> {
  const template = join(dir, 'template.db');
  const raw = new Database(template);
  raw.exec(baselineSchema('sqlite') + demoRows() + VICTIM);
  raw.close();
  const applied = await runCli(['apply', '--yes', '-q', '--no-backup', '-d', `sqlite:///${template}`]);
  expect(applied.code).toBe(0);
  let copies = 0;
  return {
    kind: 'sqlite',
    url: `sqlite:///${template}`,
    async fresh() {
      const caseDir = mkdtempSync(join(dir, `case${++copies}-`));
      const path = join(caseDir, 'adv.db');
      copyFileSync(template, path);
      const ctx: Ctx = { kind: 'sqlite', url: `sqlite:///${path}`, dir, sql: async (text) => sqliteRun(path, text) };
      return { ctx, snapshot: async () => sqliteSnapshot(path), dispose: async () => rmSync(caseDir, { recursive: true, force: true }) };
    },
    dispose: async () => {},
  };
}

/** What every refusal must look like. */
function expectCleanRefusal(result: CliResult, c: HostileCase): void {
  const lines = result.stderr.split('\n').filter((l) => l !== '');
  const errors = lines.filter((l) => l.startsWith('error:'));
  expect({ code: result.code, errorLines: errors.length }).toEqual({ code: 1, errorLines: 1 });
  expect(lines[0]).toMatch(/^error: /);
  // further lines may only list problems (indented), never a stack trace
  for (const line of lines.slice(1)) expect(line).toMatch(/^ {2}\S/);
  expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  for (const secret of [PASSWORD, ...(c.secrets ?? [])]) {
    expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
  if (c.message) expect(errors[0]).toMatch(c.message);
}

function specFor(kind: Kind, makeBase: (dir: string) => Promise<Base>) {
  return () => {
    let dir: string;
    let base: Base;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), `sd-adv-${kind}-`));
      base = await makeBase(dir);
    }, 120_000);
    afterAll(async () => {
      await base?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    const mine = cases.filter((c) => c.on.includes(kind));
    test.each(mine.map((c, i) => [c.name, i] as const))('%s', async (_name, i) => {
      const c = mine[i];
      const copy = await base.fresh(c.setup !== undefined);
      try {
        const manifest = join(dir, `case-${i}.json`);
        if (c.manifest !== undefined) {
          writeFileSync(manifest, typeof c.manifest === 'string' ? c.manifest : JSON.stringify(c.manifest));
        }
        await c.setup?.(copy.ctx, manifest);
        const before = await copy.snapshot();
        const result = await runCli(c.args(copy.ctx, manifest));
        expectCleanRefusal(result, c);
        expect(await copy.snapshot()).toBe(before);
        c.untouched?.(copy.ctx);
        const victim = await copy.ctx.sql('SELECT 1 FROM victim').then(
          () => 'present',
          () => 'gone',
        );
        expect(victim).toBe('present');
      } finally {
        await copy.dispose();
      }
    });
  };
}

test('the suite feeds at least 40 distinct hostile inputs to each dialect', () => {
  expect(cases.filter((c) => c.on.includes('postgres')).length).toBeGreaterThanOrEqual(40);
  expect(cases.filter((c) => c.on.includes('sqlite')).length).toBeGreaterThanOrEqual(40);
});

describeServer('hostile input is refused and changes nothing [postgres]', specFor('postgres', postgresBase));
describe('hostile input is refused and changes nothing [sqlite]', specFor('sqlite', sqliteBase));
