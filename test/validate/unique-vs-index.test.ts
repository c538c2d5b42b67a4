import type { ViolationTarget } from '../../src/dialect/dialect.js';
import type { IndexKey } from '../../src/schema/types.js';
import { describeEachDatabase } from '../helpers/each.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { openDialect } from '../../src/dialect/open.js';
import type { TestTarget } from '../helpers/targets.js';

const unique = (name: string, table: string, keys: IndexKey[], extra: Partial<{ where: string; nullsNotDistinct: boolean }> = {}): ViolationTarget => ({
  kind: 'unique',
  name,
  table: { schema: 'public', name: table },
  keys,
  where: extra.where ?? null,
  ...(extra.nullsNotDistinct ? { nullsNotDistinct: true } : {}),
  severity: 'critical',
});

describeServer("validate and apply's pre-check count what CREATE UNIQUE INDEX rejects", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('sd_unique_vs_index');
    await runSql(
      db.url,
      `CREATE TYPE pair AS (x integer, y integer);
       CREATE TABLE comp (id integer PRIMARY KEY, p pair);
       INSERT INTO comp VALUES (1, ROW(1, NULL)), (2, ROW(1, NULL)), (3, NULL), (4, NULL);
       CREATE TABLE clash ("schema_diff:n" integer PRIMARY KEY, a integer);
       INSERT INTO clash VALUES (1, NULL), (2, NULL), (3, 7), (4, 8);`,
    );
  });
  afterAll(async () => db?.drop());

  test('a composite-typed key with a NULL field is a non-NULL index entry: duplicates counted', async () => {
    const dialect = await openDialect(db.url);
    try {
      const [c] = await dialect.countViolations([unique('ux_p', 'comp', [{ column: 'p' }])], { samples: 5, jobs: 1 });
      // what the index says: (1,) is duplicated
      await expect(runSql(db.url, 'CREATE UNIQUE INDEX ux_p ON comp (p)')).rejects.toThrow(/could not create unique index/);
      expect([c.violations, c.groups, c.sample.map((r) => r.id)]).toEqual([1, 1, [1, 2]]);
    } finally {
      await dialect.close();
    }
  });

  test('NULLS NOT DISTINCT samples on a table with a column named "schema_diff:n"', async () => {
    const dialect = await openDialect(db.url);
    try {
      const [c] = await dialect.countViolations([unique('ux_a', 'clash', [{ column: 'a' }], { nullsNotDistinct: true })], { samples: 5, jobs: 1 });
      expect(c.error).toBeUndefined();
      expect(c.violations).toBe(1);
      expect(c.sample.map((r) => r['schema_diff:n'])).toEqual([1, 2]);
    } finally {
      await dialect.close();
    }
  });
});

describeServer("the unique pre-check's verdict is CREATE UNIQUE INDEX's, case by case", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('sd_unique_matrix');
    await runSql(
      db.url,
      `CREATE COLLATION "Ci" (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
       CREATE TABLE m (id integer PRIMARY KEY, a text, b integer, live boolean);
       INSERT INTO m VALUES (1, 'A', NULL, true), (2, 'a', NULL, true), (3, NULL, 5, true), (4, NULL, 5, false),
                            (5, 'Q', 1, true), (6, 'q ', 1, true);`,
    );
  });
  afterAll(async () => db?.drop());

  const cases: [string, IndexKey[], { where?: string; nullsNotDistinct?: boolean }, string][] = [
    ['nnd_ab_ci', [{ column: 'a', collate: 'Ci' }, { column: 'b' }], { nullsNotDistinct: true }, '(a COLLATE "Ci", b) NULLS NOT DISTINCT'],
    ['nnd_ab_ci_live', [{ column: 'a', collate: 'Ci' }, { column: 'b' }], { nullsNotDistinct: true, where: 'live' }, '(a COLLATE "Ci", b) NULLS NOT DISTINCT WHERE live'],
    ['expr_ci', [{ expr: 'trim(a)', collate: 'Ci' }], {}, '((trim(a)) COLLATE "Ci")'],
    ['expr_ci_b', [{ expr: 'trim(a)', collate: 'Ci' }, { column: 'b' }], {}, '((trim(a)) COLLATE "Ci", b)'],
    ['nnd_expr', [{ expr: 'lower(a)' }], { nullsNotDistinct: true, where: 'b IS NULL' }, '((lower(a))) NULLS NOT DISTINCT WHERE b IS NULL'],
  ];
  test.each(cases)('%s', async (name, keys, extra, ddl) => {
    const dialect = await openDialect(db.url);
    try {
      const [c] = await dialect.countViolations([unique(name, 'm', keys, extra)], { samples: 5, jobs: 1 });
      const built = await runSql(db.url, `CREATE UNIQUE INDEX ${name} ON m ${ddl}`).then(
        () => 'built',
        (e: Error) => e.message,
      );
      expect({ error: c.error, clash: c.violations > 0, sampled: c.sample.length > 0 }).toEqual({
        error: undefined,
        clash: built !== 'built',
        sampled: built !== 'built',
      });
    } finally {
      await dialect.close();
    }
  });
});

describeEachDatabase(['sqlite'], "a unique key's COLLATE on SQLite: counts and samples", (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(
      `CREATE TABLE coll (id integer PRIMARY KEY, name text, b integer);
       INSERT INTO coll VALUES (1, 'A', 1), (2, 'a', 1), (3, 'B', 2), (4, 'b', 3), (5, 'x', 1);`,
    );
  });
  afterAll(async () => target?.dispose());

  test('NOCASE on one key of two, and on an expression key: counted and sampled as the index would', async () => {
    const table = { schema: 'main', name: 'coll' };
    const counts = await target.dialect.countViolations(
      [
        { kind: 'unique', name: 'ux_nb', table, keys: [{ column: 'name', collate: 'NOCASE' }, { column: 'b' }], where: null, severity: 'critical' },
        { kind: 'unique', name: 'ux_expr', table, keys: [{ expr: "name || ''", collate: 'NOCASE' }], where: null, severity: 'critical' },
      ],
      { samples: 5, jobs: 1 },
    );
    expect(counts.map((c) => [c.name, c.violations, c.sample.map((r) => r.id)])).toEqual([
      ['ux_nb', 1, [1, 2]],
      ['ux_expr', 2, [1, 2, 3, 4]],
    ]);
  });
});
