import type { ViolationTarget } from '../../src/dialect/dialect.js';
import type { IndexKey } from '../../src/schema/types.js';
import { tablePassSql } from '../../src/dialect/postgres/violation-sql.js';
import { describeEachDatabase } from '../helpers/each.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { openDialect } from '../../src/dialect/open.js';
import type { TestTarget } from '../helpers/targets.js';

// A parent whose `code` is not unique (two rows per code), and a child with a
// column named like one of the parent's: the one-pass query must neither count
// a child row twice nor read the parent's column for the child's CHECK.
const seed = `
CREATE TABLE parent (id integer PRIMARY KEY, name text, code text);
INSERT INTO parent VALUES (1, '', 'a'), (2, '', 'a'), (3, '', 'b'), (4, '', 'b');
CREATE TABLE child (id integer PRIMARY KEY, name text, pid integer, pcode text, a integer, b integer);
INSERT INTO child VALUES
  (1, 'x', 1, 'a', 1, 1),
  (2, '',  9, 'z', 1, NULL),
  (3, 'y', NULL, NULL, NULL, NULL),
  (4, '',  2, 'b', 1, 2),
  (5, 'z', 8, 'a', 2, 2);
`;

const main = (name: string) => ({ schema: 'public', name });
const child = main('child');
const targets = (schema: string): ViolationTarget[] => [
  { kind: 'check', name: 'ck_name', table: { schema, name: 'child' }, expr: "name <> ''", severity: 'critical' },
  { kind: 'check', name: 'ck_ab', table: { schema, name: 'child' }, expr: 'a <= b', severity: 'critical' },
  { kind: 'foreign_key', name: 'fk_pid', table: { schema, name: 'child' }, columns: ['pid'], refTable: { schema, name: 'parent' }, refColumns: ['id'], severity: 'critical' },
  { kind: 'foreign_key', name: 'fk_pcode', table: { schema, name: 'child' }, columns: ['pcode'], refTable: { schema, name: 'parent' }, refColumns: ['code'], severity: 'critical' },
  // MATCH SIMPLE on two columns: a row with any NULL is not checked
  { kind: 'foreign_key', name: 'fk_ab', table: { schema, name: 'child' }, columns: ['a', 'b'], refTable: { schema, name: 'parent' }, refColumns: ['id', 'id'], severity: 'critical' },
];

describeEachDatabase(['postgres', 'pglite', 'sqlite'], 'validate: every CHECK and foreign key of a table in one pass', (make, kind) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(seed);
  });
  afterAll(async () => target?.dispose());
  const schema = kind === 'sqlite' ? 'main' : 'public';

  test('exact counts: a non-unique parent key counts each child row once; the CHECK reads the child column', async () => {
    const counts = await target.dialect.countViolations(targets(schema), { samples: 5, jobs: 1 });
    expect(counts.map((c) => [c.name, c.violations, c.rows])).toEqual([
      ['ck_name', 2, 5],
      ['ck_ab', 0, 5],
      ['fk_pid', 2, 5],
      ['fk_pcode', 1, 5],
      ['fk_ab', 1, 5],
    ]);
    expect(counts.find((c) => c.name === 'fk_pid')?.sample).toEqual([
      { id: 2, pid: 9 },
      { id: 5, pid: 8 },
    ]);
    expect(counts.find((c) => c.name === 'ck_ab')?.sample).toEqual([]);
  });

  if (kind !== 'sqlite') {
    test('the pass reads the child table once: one scan of it, the parents joined', async () => {
      const checks = targets('public').filter((t): t is Extract<ViolationTarget, { kind: 'check' }> => t.kind === 'check');
      const keys = targets('public')
        .filter((t): t is Extract<ViolationTarget, { kind: 'foreign_key' }> => t.kind === 'foreign_key')
        .map((fk) => ({ fk, parentUnique: fk.refColumns[0] === 'id' }));
      const plan = await target.sql(`EXPLAIN (COSTS OFF) ${tablePassSql(child, checks, keys)}`);
      const lines = plan.map((r) => String(Object.values(r)[0]));
      expect(lines.filter((l) => / on child\b/.test(l))).toHaveLength(1);
    });
  }
});

// Unique indexes of one table counted in one scan (PostgreSQL): rows in excess of one per key, NULL keys and rows
// outside the predicate never clashing; the number of duplicated keys asked only of an index with duplicates.
const uniqueSeed = `
CREATE TABLE pay (id integer PRIMARY KEY, ext text, kind text, n integer, live boolean);
INSERT INTO pay VALUES
  (1, 'a', 'x', 1, true), (2, 'a', 'x', 2, true), (3, 'a', 'y', 3, true),
  (4, 'b', 'x', 4, false), (5, 'b', 'x', 5, true), (6, NULL, 'x', 6, true), (7, NULL, 'x', 7, true),
  (8, 'C', 'z', 8, true), (9, 'c', 'z', 9, true);
CREATE TABLE nnd (id integer PRIMARY KEY, a integer, b integer);
INSERT INTO nnd VALUES (1, NULL, 1), (2, NULL, 1), (3, 5, NULL), (4, 5, NULL), (5, 6, 2);
`;

describeEachDatabase(['postgres', 'pglite'], 'validate: every unique index of a table in one pass', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(uniqueSeed);
  });
  afterAll(async () => target?.dispose());
  const table = { schema: 'public', name: 'pay' };
  const unique = (name: string, keys: IndexKey[], where: string | null): ViolationTarget => ({ kind: 'unique', name, table, keys, where, severity: 'critical' });

  test('exact excess rows and duplicated keys, per index, beside clean ones', async () => {
    const counts = await target.dialect.countViolations(
      [
        unique('ux_ext', [{ column: 'ext' }], null),
        unique('ux_ext_live', [{ column: 'ext' }], 'live'),
        unique('ux_ext_kind', [{ column: 'ext' }, { column: 'kind' }], null),
        unique('ux_lower_ext', [{ expr: 'lower(ext)' }], "kind = 'z'"),
        unique('ux_n', [{ column: 'n' }], null),
      ],
      { samples: 0, jobs: 1 },
    );
    expect(counts.map((c) => [c.name, c.violations, c.groups])).toEqual([
      // a ×3, b ×2; the two NULLs never clash
      ['ux_ext', 3, 2],
      // row 4 is not live
      ['ux_ext_live', 2, 1],
      // (a, x) ×2, (b, x) ×2
      ['ux_ext_kind', 2, 2],
      // 'C' and 'c' clash once lowered
      ['ux_lower_ext', 1, 1],
      ['ux_n', 0, 0],
    ]);
  });

  test('NULLS NOT DISTINCT: NULL keys clash as the index has them clash, counted and shown', async () => {
    const nnd = { schema: 'public', name: 'nnd' };
    const counts = await target.dialect.countViolations(
      [
        { kind: 'unique', name: 'ux_a', table: nnd, keys: [{ column: 'a' }], where: null, nullsNotDistinct: true, severity: 'critical' },
        { kind: 'unique', name: 'ux_ab', table: nnd, keys: [{ column: 'a' }, { column: 'b' }], where: null, nullsNotDistinct: true, severity: 'critical' },
        { kind: 'unique', name: 'ux_a_plain', table: nnd, keys: [{ column: 'a' }], where: null, severity: 'critical' },
      ],
      { samples: 5, jobs: 1 },
    );
    expect(counts.map((c) => [c.name, c.violations, c.groups])).toEqual([
      // NULL ×2, 5 ×2
      ['ux_a', 2, 2],
      // (NULL, 1) ×2, (5, NULL) ×2
      ['ux_ab', 2, 2],
      // only 5 ×2: NULLs never clash
      ['ux_a_plain', 1, 1],
    ]);
    expect(counts[0].sample.map((r) => r.id)).toEqual([3, 4, 1, 2]);
  });

  test('an index whose predicate fails is named with the error; the others are still counted', async () => {
    const counts = await target.dialect.countViolations(
      [unique('ux_bad', [{ column: 'ext' }], '1 / (n - n) = 0'), unique('ux_ext', [{ column: 'ext' }], null)],
      { samples: 0, jobs: 1 },
    );
    expect(counts[0].error).toMatch(/division by zero/);
    expect(counts[1]).toMatchObject({ violations: 3, groups: 2 });
  });
});

describeServer('validate: a unique key compares with its own collation, as the index does', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('sd_unique_collate');
    await runSql(
      db.url,
      `CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
       CREATE TABLE coll (id integer PRIMARY KEY, name text, tag text COLLATE ci);
       INSERT INTO coll VALUES (1, 'A', 'x'), (2, 'a', 'X');`,
    );
  });
  afterAll(async () => db?.drop());

  test("a case-insensitive key clashes where the column's collation would not, and a \"C\" key does not where the column's would", async () => {
    const dialect = await openDialect(db.url);
    try {
      const table = { schema: 'public', name: 'coll' };
      const counts = await dialect.countViolations(
        [
          { kind: 'unique', name: 'ux_name_ci', table, keys: [{ column: 'name', collate: 'ci' }], where: null, severity: 'critical' },
          { kind: 'unique', name: 'ux_tag', table, keys: [{ column: 'tag' }], where: null, severity: 'critical' },
          { kind: 'unique', name: 'ux_tag_c', table, keys: [{ column: 'tag', collate: 'C' }], where: null, severity: 'critical' },
        ],
        { samples: 5, jobs: 1 },
      );
      expect(counts.map((c) => [c.name, c.violations])).toEqual([
        ['ux_name_ci', 1],
        ['ux_tag', 1],
        ['ux_tag_c', 0],
      ]);
      expect(counts[0].sample.map((r) => r.id)).toEqual([1, 2]);
      // what the index itself says
      await expect(runSql(db.url, 'CREATE UNIQUE INDEX ux_name_ci ON coll (name COLLATE ci)')).rejects.toThrow(/could not create unique index/);
      await runSql(db.url, 'CREATE UNIQUE INDEX ux_tag_c ON coll (tag COLLATE "C")');
    } finally {
      await dialect.close();
    }
  });
});

describeEachDatabase(['sqlite'], "validate: a unique key's COLLATE on SQLite", (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(`CREATE TABLE coll (id integer PRIMARY KEY, name text); INSERT INTO coll VALUES (1, 'A'), (2, 'a');`);
  });
  afterAll(async () => target?.dispose());

  test('NOCASE makes A and a one key, as the index would', async () => {
    const table = { schema: 'main', name: 'coll' };
    const counts = await target.dialect.countViolations(
      [
        { kind: 'unique', name: 'ux_nocase', table, keys: [{ column: 'name', collate: 'NOCASE' }], where: null, severity: 'critical' },
        { kind: 'unique', name: 'ux_binary', table, keys: [{ column: 'name' }], where: null, severity: 'critical' },
      ],
      { samples: 5, jobs: 1 },
    );
    expect(counts.map((c) => [c.name, c.violations])).toEqual([
      ['ux_nocase', 1],
      ['ux_binary', 0],
    ]);
    expect(counts[0].sample.map((r) => r.id)).toEqual([1, 2]);
  });
});

// apply's check beside index builds counts a big table in block-range slices, each its own short transaction
// (postgres/violations.ts countInSlices): the counts must be those of the whole-table pass.
describeEachDatabase(['postgres', 'pglite'], "apply's check in slices counts what the whole-table pass counts", (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(`
      CREATE TABLE parent (id integer PRIMARY KEY);
      INSERT INTO parent SELECT g FROM generate_series(1, 50) g;
      CREATE TABLE big (id integer PRIMARY KEY, pid integer, a integer, code text);
      INSERT INTO big SELECT g, CASE WHEN g % 997 = 0 THEN 1000 + g ELSE g % 50 + 1 END, g % 13, 'c' || (g % 5000) FROM generate_series(1, 20000) g;
      ANALYZE parent; ANALYZE big;`);
  });
  afterAll(async () => target?.dispose());
  const t = { schema: 'public', name: 'big' };
  const base: ViolationTarget[] = [
    { kind: 'check', name: 'ck_a', table: t, expr: 'a <> 7', severity: 'critical' },
    { kind: 'foreign_key', name: 'fk_pid', table: t, columns: ['pid'], refTable: main('parent'), refColumns: ['id'], severity: 'critical' },
    { kind: 'unique', name: 'ix_code', table: t, keys: [{ column: 'code' }], where: null, severity: 'critical' },
  ];
  const slices = { samples: 0, jobs: 1, background: true, sliceBytes: 8192 * 8 };

  test('the same counts and row total, many slices', async () => {
    const progress: string[] = [];
    const sliced = await target.dialect.countViolations(base, { ...slices, onProgress: (m) => progress.push(m) });
    const whole = await target.dialect.countViolations(base, { samples: 0, jobs: 1 });
    expect(sliced.map((c) => [c.name, c.violations, c.rows, c.error])).toEqual(whole.map((c) => [c.name, c.violations, c.rows, c.error]));
    expect(sliced.map((c) => c.violations)).toEqual([1538, 20, 15000]);
    expect(progress.some((m) => /1 CHECK\(s\) and 1 foreign key\(s\) in one pass, in \d+ slices/.test(m))).toBe(true);
  });

  test('a CHECK that fails to evaluate is named as the whole-table pass names it', async () => {
    const failing: ViolationTarget = { kind: 'check', name: 'ck_div', table: t, expr: '1 / (a - a) > 0', severity: 'critical' };
    const sliced = await target.dialect.countViolations([...base, failing], slices);
    expect(sliced.find((c) => c.name === 'ck_div')?.error).toMatch(/division by zero/);
    expect(sliced.find((c) => c.name === 'ck_a')?.violations).toBe(1538);
  });
});

// A table with no heap page holds no row: counted without a transaction of its own. A partitioned table's own heap
// is empty too, but its rows live in its partitions, and an INHERITS parent's in its children (which VALIDATE
// checks as well): both are scanned, and so is a table emptied by DELETE (its pages stay).
const emptySeed = `
CREATE TABLE nothing (id integer PRIMARY KEY, qty integer, code text);
CREATE TABLE emptied (id integer PRIMARY KEY, qty integer);
INSERT INTO emptied VALUES (1, -1);
DELETE FROM emptied;
CREATE TABLE parted (id integer, qty integer) PARTITION BY RANGE (id);
CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (100);
INSERT INTO parted VALUES (1, -1), (2, 5), (3, -3);
CREATE TABLE inherited (id integer, qty integer);
CREATE TABLE inheriting (extra text) INHERITS (inherited);
INSERT INTO inheriting VALUES (1, -1, 'x'), (2, 4, 'y');
`;

describeEachDatabase(['postgres', 'pglite'], 'validate: empty tables and partitioned ones', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(emptySeed);
  });
  afterAll(async () => target?.dispose());
  const on = (name: string) => ({ schema: 'public', name });
  const check = (name: string, table: string, expr: string): ViolationTarget => ({ kind: 'check', name, table: on(table), expr, severity: 'critical' });

  test('an empty table breaks nothing; a partitioned table and an INHERITS parent are counted through their children', async () => {
    const counts = await target.dialect.countViolations(
      [
        check('ck_nothing', 'nothing', 'qty > 0'),
        { kind: 'unique', name: 'ux_code', table: on('nothing'), keys: [{ column: 'code' }], where: null, severity: 'critical' },
        { kind: 'foreign_key', name: 'fk_nothing', table: on('nothing'), columns: ['qty'], refTable: on('emptied'), refColumns: ['id'], severity: 'critical' },
        check('ck_emptied', 'emptied', 'qty > 0'),
        check('ck_parted', 'parted', 'qty > 0'),
        check('ck_inherited', 'inherited', 'qty > 0'),
      ],
      { samples: 5, jobs: 1 },
    );
    expect(counts.map((c) => [c.name, c.violations, c.rows, c.groups])).toEqual([
      ['ck_nothing', 0, 0, undefined],
      ['ux_code', 0, 0, 0],
      ['fk_nothing', 0, 0, undefined],
      ['ck_emptied', 0, 0, undefined],
      ['ck_parted', 2, 3, undefined],
      ['ck_inherited', 1, 2, undefined],
    ]);
    expect(counts.find((c) => c.name === 'ck_parted')?.sample.map((r) => r.qty).sort()).toEqual([-1, -3]);
  });
});
