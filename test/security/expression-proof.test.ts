import { SchemaDiffError } from '../../src/errors.js';
import { resolveManifest } from '../../src/manifest/resolve.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { preparePlan } from '../../src/run/prepare.js';
import { validateManifest } from '../../src/run/validate.js';
import { runCli } from '../cli/run-cli.js';
import { describeEachDatabase } from '../helpers/each.js';
import { ADMIN_URL, createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import type { TestTarget } from '../helpers/targets.js';

/**
 * What the database itself proves of a manifest expression before any row is
 * read with it: that the probe made exactly its one constraint or index and
 * changed nothing else (whatever a lexer thought of the text), and that it
 * calls only IMMUTABLE functions and operators. `validate` once evaluated
 * expressions without this: pg_read_file, a subquery over pg_authid, or
 * pg_terminate_backend ran, the last crashing Node with a stack.
 */
const SEED = `
CREATE TABLE orders (id integer PRIMARY KEY, total integer, status text, secret text);
INSERT INTO orders VALUES (1, 10, 'open', 's1'), (2, 20, 'paid', 's2');`;

const orders = (spec: Record<string, unknown>): LoadedManifest => ({ version: 1, tables: { orders: spec } }) as LoadedManifest;
const check = (expr: string) => orders({ checks: [{ name: 'ck_x', expr }] });

async function refusal(run: Promise<unknown>): Promise<string> {
  const error = await run.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SchemaDiffError);
  expect((error as SchemaDiffError).code).toBe('manifest');
  return (error as SchemaDiffError).message;
}

describeEachDatabase(['postgres', 'pglite'], 'PostgreSQL proves every manifest expression', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(SEED);
  });
  afterAll(async () => target?.dispose());

  const columns = () => target.sql(`select attname::text from pg_attribute where attrelid = 'orders'::regclass and attnum > 0 and not attisdropped order by attnum`);

  test('a probe that adds more than its one CHECK is refused, even when the lexer is bypassed', async () => {
    // normalize directly: no checkManifest, as if the lexer had called the text one expression
    const desired = resolveManifest(check('true) , DROP COLUMN secret , ADD CHECK (true'), { dialect: 'postgres', defaultSchema: 'public', hasSchemas: true });
    const catalog = await target.dialect.introspect([{ schema: 'public', name: 'orders' }]);
    const message = await refusal(target.dialect.normalize(desired, catalog));
    expect(message).toBe('manifest tables.orders.checks[0].expr: is not one CHECK expression: it also changed other parts of the table');
    const alone = resolveManifest(check('true) , ALTER COLUMN total SET DEFAULT (1'), { dialect: 'postgres', defaultSchema: 'public', hasSchemas: true });
    expect(await refusal(target.dialect.normalize(alone, catalog))).toMatch(/is not one CHECK expression: it also changed other parts of the table$/);
    expect(await columns()).toEqual([{ attname: 'id' }, { attname: 'total' }, { attname: 'status' }, { attname: 'secret' }]);
  });

  test.each([
    ['a function that reads files', "length(pg_read_file('/etc/hostname')) > 0", /calls pg_read_file\(text\), which is VOLATILE/],
    ['a function that ends sessions', 'pg_terminate_backend(pg_backend_pid())', /calls pg_terminate_backend\(integer,bigint\), which is VOLATILE/],
    ['a STABLE function', "total > length(current_setting('search_path'))", /calls current_setting\(text\), which is STABLE/],
    ['an SQL value function', 'total > extract(day from current_date)', /calls an SQL value function \(CURRENT_DATE, CURRENT_USER …\), which is STABLE/],
  ])('%s: plan and validate refuse before any row is read', async (_what, expr, message) => {
    for (const run of [() => preparePlan(target.dialect, check(expr), 'm.json'), () => validateManifest(target.dialect, check(expr), { samples: 5, jobs: 1 })]) {
      expect(await refusal(run())).toMatch(new RegExp(`^manifest tables\\.orders\\.checks\\[0\\]\\.expr: ${message.source}: only IMMUTABLE functions and operators may appear here$`));
    }
  });

  test('validate parses each expression as a CHECK first: a subquery over another table is refused', async () => {
    const message = await refusal(validateManifest(target.dialect, check('total::text <> (select string_agg(secret, \',\') from orders)'), { samples: 5, jobs: 1 }));
    expect(message).toMatch(/^manifest tables\.orders\.checks\[0\]\.expr: cannot use subquery in check constraint/);
  });

  test('what the corpus uses stays allowed: casts, LIKE, IN, lower, length, abs, coalesce, arithmetic', async () => {
    const fine = orders({
      checks: [
        { name: 'ck_a', expr: "status IN ('open', 'paid') AND status LIKE 'o%' OR lower(status) = status" },
        { name: 'ck_b', expr: 'abs(total) >= 0 AND coalesce(length(trim(secret)), 0) < 100 AND total::numeric(10, 2) > -1' },
      ],
      indexes: [{ name: 'ix_lower', columns: [{ expr: 'lower(status)' }], where: 'total > 0' }],
    });
    await expect(preparePlan(target.dialect, fine, 'm.json')).resolves.toBeDefined();
    await expect(validateManifest(target.dialect, fine, { samples: 5, jobs: 1 })).resolves.toBeDefined();
  });
});

describeEachDatabase(['sqlite'], 'SQLite: validate parses each expression as SQLite would at apply', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(SEED);
  });
  afterAll(async () => target?.dispose());

  test('a subquery (SQLite refuses it in a CHECK) is refused by validate before any row is read', async () => {
    const message = await refusal(validateManifest(target.dialect, check("total > (select count(*) from sqlite_schema WHERE sql LIKE '%secret%')"), { samples: 5, jobs: 1 }));
    expect(message).toBe('manifest tables.orders.checks[0].expr: subqueries prohibited in CHECK constraints');
  });

  test('random() in a CHECK is SQLite\'s to allow (it does, at CREATE and INSERT): validate counts it', async () => {
    const { report } = await validateManifest(target.dialect, check('random() IS NOT NULL'), { samples: 5, jobs: 1 });
    expect(report.constraints[0]).toMatchObject({ name: 'ck_x', violations: 0 });
  });
});

describeServer('a backend killed under schema-diff is one error line, never a stack [postgres]', () => {
  let db: { url: string; name: string; drop: () => Promise<void> };
  beforeAll(async () => {
    db = await createTestDatabase('sd_killed');
    await runSql(db.url, `${SEED} CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 3000000) g;`);
  }, 60_000);
  afterAll(async () => db?.drop());

  test('pg_terminate_backend of validate\'s connections while it counts', async () => {
    const manifest = `${process.env.TMPDIR ?? '/tmp'}/sd-killed-${process.pid}.json`;
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(manifest, JSON.stringify({ version: 1, tables: { big: { checks: [{ name: 'ck_big', expr: 'id::text || id::text <> md5(id::text)' }] } } }));
    try {
      const running = runCli(['validate', '-m', manifest, '-d', db.url]);
      // terminate every schema-diff backend of that database until the run has ended
      let ended = false;
      void running.finally(() => (ended = true));
      while (!ended) {
        await runSql(ADMIN_URL, `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${db.name}' and application_name = 'schema-diff' and state = 'active'`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const result = await running;
      // progress lines may come first (a big table); then exactly one error line, and no stack
      const lines = result.stderr.trimEnd().split('\n');
      expect(result.code).toBe(1);
      expect(lines.filter((l) => l.startsWith('error: '))).toHaveLength(1);
      expect(lines.at(-1)).toMatch(/^error: /);
      expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    } finally {
      rmSync(manifest, { force: true });
    }
  }, 60_000);
});
