import type { ViolationTarget } from '../../src/dialect/dialect.js';
import type { IndexKey } from '../../src/schema/types.js';
import { tablePassSql } from '../../src/dialect/postgres/violation-sql.js';
import { describeEachDatabase } from '../helpers/each.js';
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

  test('an index whose predicate fails is named with the error; the others are still counted', async () => {
    const counts = await target.dialect.countViolations(
      [unique('ux_bad', [{ column: 'ext' }], '1 / (n - n) = 0'), unique('ux_ext', [{ column: 'ext' }], null)],
      { samples: 0, jobs: 1 },
    );
    expect(counts[0].error).toMatch(/division by zero/);
    expect(counts[1]).toMatchObject({ violations: 3, groups: 2 });
  });
});
