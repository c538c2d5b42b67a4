import { checkManifest } from '../../src/manifest/check.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { rollback } from '../../src/run/rollback.js';
import { sqliteTarget, type TestTarget } from '../helpers/targets.js';
import { rollbackOptions } from '../rollback/helpers.js';
import { applyOptions } from './helpers.js';

/**
 * The key options SQLite stores (DESC, COLLATE), added, changed, rolled back
 * and re-planned empty; the options it has no place for refused by name; and
 * a table's UNIQUE (its autoindex) described, never changed in place.
 */
const SEED = `CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT UNIQUE, a INT, b INT, name TEXT);`;

const people = (indexes: unknown[], extra: Record<string, unknown> = {}) => checkManifest({ tables: { people: { indexes, ...extra } } });

const first = people([
  { name: 'ix_desc', columns: [{ column: 'a', desc: true }, 'b'] },
  { name: 'ix_name', columns: [{ column: 'name', collate: 'nocase' }] },
  { name: 'ix_lower', columns: [{ expr: 'lower(name)', desc: true }] },
]);
const second = people([
  { name: 'ix_desc', columns: ['a', { column: 'b', desc: true }] },
  { name: 'ix_name', columns: [{ column: 'name', collate: 'rtrim' }] },
  { name: 'ix_lower', columns: [{ expr: 'lower(name)', desc: true }] },
]);

describe('SQLite index options', () => {
  let target: TestTarget;
  beforeEach(async () => {
    target = await sqliteTarget(SEED);
  });
  afterEach(async () => target?.dispose());

  const steps = async (m: LoadedManifest) => (await preparePlan(target.dialect, m, 'options')).plan.steps.map((s) => `${s.action} ${s.name}`);
  const indexSql = async () => (await target.sql(`SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'people' ORDER BY name`)).map((r) => `${r.name}: ${r.sql}`);

  test('DESC and COLLATE: add, change, roll back, re-plan empty', async () => {
    const initial = await indexSql();
    await applyManifest(target.dialect, first, { ...applyOptions, backup: false });
    expect(await steps(first)).toEqual([]);
    const afterFirst = await indexSql();
    expect(afterFirst).toContain('ix_name: CREATE INDEX ix_name ON people (name COLLATE NOCASE)');
    expect(await steps(second)).toEqual(['replace_index ix_desc', 'replace_index ix_name']);
    await applyManifest(target.dialect, second, { ...applyOptions, backup: false });
    expect(await steps(second)).toEqual([]);
    await rollback(target.dialect, rollbackOptions({ kind: 'last' }));
    expect(await indexSql()).toEqual(afterFirst);
    expect(await steps(first)).toEqual([]);
    await rollback(target.dialect, rollbackOptions({ kind: 'last' }));
    expect(await indexSql()).toEqual(initial);
  });

  test("a UNIQUE column's autoindex satisfies a unique index of its shape; another shape under its name is refused", async () => {
    expect(await steps(people([{ name: 'uq_email', columns: ['email'], unique: true }]))).toEqual([]);
    const reshaped = people([{ name: 'sqlite_autoindex_people_1', columns: ['email', 'a'], unique: true }]);
    await expect(steps(reshaped)).rejects.toThrow(/sqlite_autoindex_people_1 on main\.people is a table's UNIQUE constraint, which SQLite changes only by rebuilding the table/);
  });

  test('options SQLite has no place for are refused, each by its path', async () => {
    const m = people(
      [
        { name: 'ix_a', columns: [{ column: 'a', nulls: 'first', opclass: 'int4_ops' }], include: ['b'], with: { fillfactor: 70 } },
        { name: 'uq_b', columns: ['b'], unique: true, nullsNotDistinct: true, constraint: true },
      ],
      {
        checks: [{ name: 'ck_a', expr: 'a > 0', noInherit: true }],
        foreignKeys: [{ name: 'fk_self', columns: ['a'], references: { table: 'people', columns: ['id'] }, match: 'full', onDelete: { action: 'set null', columns: ['a'] } }],
      },
    );
    const error = await steps(m).then(
      () => null,
      (e: { details?: string[] }) => e,
    );
    expect(error?.details?.map((d) => d.replace(/:.*/, ''))).toEqual([
      'tables.people.checks[0].noInherit',
      'tables.people.foreignKeys[0].match',
      'tables.people.foreignKeys[0].onDelete.columns',
      'tables.people.indexes[0].include',
      'tables.people.indexes[0].with',
      'tables.people.indexes[0].columns[0].nulls',
      'tables.people.indexes[0].columns[0].opclass',
      'tables.people.indexes[1].nullsNotDistinct',
      'tables.people.indexes[1].constraint',
    ]);
  });
});
