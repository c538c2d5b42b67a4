import { sql } from 'kysely';
import { SchemaDiffError } from '../../src/errors.js';
import type { PostgresDialect } from '../../src/dialect/postgres/postgres-dialect.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { validateManifest } from '../../src/run/validate.js';
import { verifyManifest } from '../../src/run/verify.js';
import { describeEachDatabase } from '../helpers/each.js';
import { testApplyOptions } from '../helpers/options.js';
import type { TestTarget } from '../helpers/targets.js';

/**
 * A manifest is untrusted input (CI runs `plan` on pull requests with real
 * credentials): each hostile fragment below once ran a second statement
 * (PostgreSQL's simple protocol) or spliced a constraint into a rebuilt table
 * (SQLite). Now each is refused before anything reaches the database.
 */
const SEED = `
CREATE TABLE orders (id integer PRIMARY KEY, total integer, status text);
CREATE TABLE victim (x integer);
INSERT INTO orders VALUES (1, 10, 'open'), (2, 20, 'paid');
INSERT INTO victim VALUES (1);`;

const DROP = 'COMMIT; DROP TABLE victim; --';
const orders = (spec: Record<string, unknown>): LoadedManifest => ({ version: 1, tables: { orders: spec } }) as LoadedManifest;

const HOSTILE: ReadonlyArray<[string, LoadedManifest, RegExp]> = [
  ['a CHECK expr', orders({ checks: [{ name: 'ck_inj', expr: `true); ${DROP}` }] }), /^manifest tables\.orders\.checks\[0\]\.expr: not a single SQL expression \(unbalanced "\)"\)$/],
  ['an index where', orders({ indexes: [{ name: 'ix_inj', columns: ['status'], where: `status IS NOT NULL; ${DROP}` }] }), /^manifest tables\.orders\.indexes\[0\]\.where: not a single SQL expression \(contains ";"\)$/],
  ['an expression key', orders({ indexes: [{ name: 'ix_inj', columns: [{ expr: `status)); ${DROP}` }] }] }), /^manifest tables\.orders\.indexes\[0\]\.columns\[0\]\.expr: not a single SQL expression \(unbalanced "\)"\)$/],
  [
    'an index method',
    orders({ indexes: [{ name: 'ix_inj', columns: ['status'], method: 'btree (status); COMMIT; DROP TABLE victim; CREATE INDEX zz ON orders' }] }),
    /^manifest tables\.orders\.indexes\[0\]\.method: index ix_inj: unknown access method "btree \(status\); commit; drop table victim; create index zz on orders" \(.*has: .*btree/,
  ],
  ['a spliced CHECK', orders({ checks: [{ name: 'ck_splice', expr: 'total > 0) , CHECK (1' }] }), /checks\[0\]\.expr: not a single SQL expression \(unbalanced "\)"\)$/],
  // where the lexer once disagreed with PostgreSQL's scan.l: each dropped column status on apply, exit 0
  [
    'a -- comment ended by a carriage return',
    orders({ checks: [{ name: 'ck_cr', expr: 'true -- x\r) , DROP COLUMN status , ADD CHECK (true --\n' }] }),
    /checks\[0\]\.expr: not a single SQL expression \(contains the control character \\r\)$/,
  ],
  [
    'a dollar quote with a non-ASCII tag',
    orders({ checks: [{ name: 'ck_dq', expr: "$é$'$é$ IS NOT NULL) , DROP COLUMN status , ADD CHECK ($é$'$é$ IS NOT NULL" }] }),
    // PostgreSQL: the lexer sees the ")"; SQLite reads $é$ as a parameter and the rest as a string, and refuses to parse it
    /checks\[0\]\.expr: (not a single SQL expression \(unbalanced "\)"\)|near .+: syntax error)$/,
  ],
  [
    'a no-break space before a dollar quote',
    orders({ checks: [{ name: 'ck_nb', expr: 'true AND \u00a0$$ ) , DROP COLUMN status , ADD CHECK ( x\u00a0$$ IS NULL' }] }),
    /checks\[0\]\.expr: not a single SQL expression \(.+\)$/,
  ],
];

describeEachDatabase(['postgres', 'pglite', 'sqlite'], 'hostile manifest fragments never reach the database', (make, kind) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(SEED);
  });
  afterAll(async () => target?.dispose());

  /** Every object and row of the schema: nothing may change. */
  const snapshot = async () =>
    kind === 'sqlite'
      ? [await target.sql('SELECT type, name, sql FROM sqlite_schema ORDER BY name'), await target.sql('SELECT * FROM victim')]
      : [
          await target.sql(`select conname::text from pg_constraint where connamespace = 'public'::regnamespace order by 1`),
          await target.sql(`select indexname::text from pg_indexes where schemaname = 'public' order by 1`),
          await target.sql(`select c.relname::text from pg_class c where c.relnamespace = 'public'::regnamespace order by 1`),
          await target.sql(`select attname::text from pg_attribute where attrelid = 'orders'::regclass and attnum > 0 and not attisdropped order by attnum`),
          await target.sql('select * from victim'),
        ];

  const refused = async (run: Promise<unknown>, message: RegExp) => {
    const error = await run.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SchemaDiffError);
    expect((error as SchemaDiffError).code).toBe('manifest');
    expect((error as SchemaDiffError).message).toMatch(message);
  };

  test.each(HOSTILE)('through %s: plan, verify, validate and apply refuse; nothing changes', async (_what, manifest, message) => {
    const before = await snapshot();
    await refused(preparePlan(target.dialect, manifest, 'hostile.json'), message);
    await refused(verifyManifest(target.dialect, manifest, 'hostile.json'), message);
    await refused(validateManifest(target.dialect, manifest, { samples: 5, jobs: 1 }), message);
    await refused(applyManifest(target.dialect, manifest, { ...testApplyOptions, manifestPath: 'hostile.json' }), message);
    expect(await snapshot()).toEqual(before);
  });

  test('an index method is checked against the database and rendered as a name', async () => {
    const manifest = orders({ indexes: [{ name: 'ix_status_m', columns: ['status'], method: kind === 'sqlite' ? 'BTREE' : 'HASH' }] });
    const { plan } = await preparePlan(target.dialect, manifest, 'm.json');
    expect(plan.steps.map((s) => s.sql.join('\n')).join('\n')).toContain(kind === 'sqlite' ? 'CREATE INDEX ix_status_m ON orders (status)' : 'USING hash (status)');
  });

  if (kind !== 'sqlite') {
    test('every query of the Kysely handles runs one statement: two are refused', async () => {
      const { session, pool } = (target.dialect as PostgresDialect).handles;
      for (const db of [session, pool]) {
        await expect(sql.raw('select 1; drop table victim').execute(db)).rejects.toThrow(/cannot insert multiple commands into a prepared statement/);
      }
      expect(await target.sql('select count(*)::int as n from victim')).toEqual([{ n: 1 }]);
    });
  }
});
