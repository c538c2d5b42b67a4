import { openSqliteDialect, type SqliteDialect } from '../../src/dialect/sqlite/sqlite-dialect.js';
import { resolveManifest } from '../../src/manifest/resolve.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { rollback } from '../../src/run/rollback.js';
import { rollbackOptions } from '../rollback/helpers.js';
import { applyOptions, manifestOf, query, seededFile } from './helpers.js';

// As SQLAlchemy and most ORMs write them: no CONSTRAINT names, and spacing and case of their own.
const SEED = `
  CREATE TABLE p (id INTEGER PRIMARY KEY);
  CREATE TABLE t (
    id INTEGER PRIMARY KEY,
    price REAL CHECK(  PRICE>0 ),
    p_id INTEGER REFERENCES p,
    qty INT,
    CHECK (qty   >=  0)
  );
  CREATE TABLE u (id INTEGER PRIMARY KEY, p_id INTEGER);
  INSERT INTO p VALUES (1);
  INSERT INTO t VALUES (1, 2.5, 1, 3);
  INSERT INTO u VALUES (1, 1);`;

const priceCheck = { expr: 'price > 0' };
const qtyCheck = { expr: 'qty >= 0' };
const toP = { columns: ['p_id'], references: { table: 'p', columns: ['id'] } };

describe('unnamed SQLite CHECKs and foreign keys', () => {
  let file: ReturnType<typeof seededFile>;
  let dialect: SqliteDialect;
  beforeEach(async () => {
    file = seededFile(SEED);
    dialect = await openSqliteDialect(file.path);
  });
  afterEach(async () => {
    await dialect.close();
    file.dispose();
  });
  const plan = async (tables: Parameters<typeof manifestOf>[0], prune = false) => (await preparePlan(dialect, manifestOf(tables), 'm', { prune })).plan;
  const apply = (tables: Parameters<typeof manifestOf>[0], prune = false) => applyManifest(dialect, manifestOf(tables), { ...applyOptions, backup: false, prune });
  const textOf = (table: string) => query<{ sql: string }>(file.path, `SELECT sql FROM sqlite_master WHERE name = ?`, table)[0].sql;

  test('listed as they are: no false diff, whatever their spacing and case', async () => {
    const p = await plan({ t: { checks: [priceCheck, { expr: 'QTY >= 0' }], foreignKeys: [toP] } });
    expect(p.steps).toEqual([]);
    expect(p.unmanaged).toEqual([]);
    const unlisted = await plan({ t: {} });
    expect(unlisted.unmanaged.map((u) => u.name).sort()).toEqual(['CHECK (price > 0)', 'CHECK (qty >= 0)', 'FOREIGN KEY (p_id) REFERENCES p (id)']);
  });

  test('added unnamed, kept, and removed again when schema-diff added them; the rest only with --prune', async () => {
    const seedText = textOf('t');
    const added = { t: { checks: [priceCheck, qtyCheck, { expr: 'qty <   1000' }], foreignKeys: [toP] }, u: { foreignKeys: [toP] } };
    await apply(added);
    expect(textOf('t')).toContain('CHECK (qty < 1000)');
    expect(textOf('t')).not.toContain('CONSTRAINT');
    expect(textOf('u')).toContain('FOREIGN KEY (p_id) REFERENCES p (id)');
    expect(textOf('u')).not.toContain('CONSTRAINT');
    expect((await plan(added)).steps).toEqual([]);
    const removed = await plan({ t: { checks: [priceCheck, qtyCheck], foreignKeys: [toP] }, u: {} });
    expect(removed.steps.map((s) => s.reason)).toEqual([
      expect.stringContaining('drops CHECK (qty < 1000): was in the manifest, removed'),
      expect.stringContaining('drops FOREIGN KEY (p_id) REFERENCES p (id): was in the manifest, removed'),
    ]);
    await apply({ t: { checks: [priceCheck, qtyCheck], foreignKeys: [toP] }, u: {} });
    expect(textOf('t')).toBe(seedText);
    expect((await plan({ t: { checks: [priceCheck, qtyCheck], foreignKeys: [toP] }, u: {} })).steps).toEqual([]);
    await rollback(dialect, rollbackOptions({ kind: 'last' }, { backup: false }));
    expect(textOf('t')).toContain('CHECK (qty < 1000)');
    // never added by schema-diff: left, listed, until --prune
    const onlyPrice = { t: { checks: [priceCheck] } };
    expect((await plan(onlyPrice)).unmanaged.map((u) => u.name)).toContain('CHECK (qty >= 0)');
    await apply(onlyPrice, true);
    expect(textOf('t')).not.toMatch(/qty\s+>=|REFERENCES/);
    expect(textOf('t')).toContain('CHECK(  PRICE>0 )');
    expect((await plan(onlyPrice, true)).steps).toEqual([]);
  });

  test('a name is required on PostgreSQL', () => {
    const m = manifestOf({ t: { checks: [priceCheck] } });
    expect(() => resolveManifest(m, { dialect: 'postgres', defaultSchema: 'public', hasSchemas: true })).toThrow(
      'manifest tables.t.checks[0]: a name is required on postgres',
    );
  });
});
