import Database from 'better-sqlite3';
import { baselineSchema, demoRows, demoViolations } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import type { Dialect, ViolationTarget } from '../../src/dialect/dialect.js';
import { openDialect } from '../../src/dialect/open.js';
import { desiredFor } from '../../src/run/prepare.js';
import { targetsOfManifest } from '../../src/run/targets.js';
import { seededFile } from './helpers.js';

/**
 * countViolations must count exactly the rows SQLite itself rejects. The truth
 * is asked of SQLite: the table's rows are copied into a scratch copy that
 * declares the constraint (CHECK and unique: INSERT OR IGNORE skips the
 * rejected rows; FK: PRAGMA foreign_key_check lists them).
 */
function sqliteRejects(path: string, t: ViolationTarget): number {
  const db = new Database(path);
  try {
    db.pragma('foreign_keys = OFF');
    db.exec('BEGIN');
    const columns = (db.prepare(`SELECT name, type FROM pragma_table_info(?)`).all(t.table.name) as Array<{ name: string; type: string }>)
      .map((c) => `"${c.name}" ${c.type}`)
      .join(', ');
    const total = (db.prepare(`SELECT count(*) AS n FROM "${t.table.name}"`).get() as { n: number }).n;
    let rejected: number;
    if (t.kind === 'check') {
      db.exec(`CREATE TEMP TABLE truth (${columns}, CHECK (${t.expr}))`);
      db.exec(`INSERT OR IGNORE INTO truth SELECT * FROM "${t.table.name}"`);
      rejected = total - (db.prepare('SELECT count(*) AS n FROM truth').get() as { n: number }).n;
    } else if (t.kind === 'foreign_key') {
      const refs = t.refColumns.length ? `(${t.refColumns.map((c) => `"${c}"`).join(', ')})` : '';
      db.exec(`CREATE TABLE truth (${columns}, FOREIGN KEY (${t.columns.map((c) => `"${c}"`).join(', ')}) REFERENCES "${t.refTable.name}" ${refs})`);
      db.exec(`INSERT INTO truth SELECT * FROM "${t.table.name}"`);
      rejected = db.prepare(`SELECT * FROM pragma_foreign_key_check('truth')`).all().length;
    } else {
      const keys = t.keys.map((k) => ('column' in k ? `"${k.column}"` : k.expr)).join(', ');
      db.exec(`CREATE TEMP TABLE truth (${columns})`);
      db.exec(`CREATE UNIQUE INDEX temp.truth_ix ON truth (${keys})${t.where ? ` WHERE ${t.where}` : ''}`);
      db.exec(`INSERT OR IGNORE INTO truth SELECT * FROM "${t.table.name}"`);
      rejected = total - (db.prepare('SELECT count(*) AS n FROM truth').get() as { n: number }).n;
    }
    db.exec('ROLLBACK');
    return rejected;
  } finally {
    db.close();
  }
}

const SPECIAL = `
  CREATE TABLE parent (code TEXT PRIMARY KEY);
  CREATE TABLE parent_nocase (code TEXT PRIMARY KEY COLLATE NOCASE);
  CREATE TABLE parent_int (id INTEGER PRIMARY KEY);
  CREATE TABLE parent_pair (a TEXT, b INTEGER, PRIMARY KEY (a, b));
  INSERT INTO parent VALUES ('abc'), ('XYZ'), ('01');
  INSERT INTO parent_nocase VALUES ('abc'), ('XYZ');
  INSERT INTO parent_int VALUES (1), (2), (3);
  INSERT INTO parent_pair VALUES ('a', 1), ('b', 2);
  CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL, qty INTEGER, total NUMERIC, currency TEXT,
                      code TEXT, int_ref INTEGER, pa TEXT, pb INTEGER, ext TEXT, status TEXT);
  INSERT INTO items VALUES
    (1, 'ok',        10.0,   2, 20.0,  'COP',   'abc',  1,     'a',  1,    'x1', 'A'),
    (2, '',          0.0,    1, 0.0,   'CO',    'ABC',  2,     'a',  2,    'x1', 'A'),
    (3, ' ',         -0.0,   0, 0,     'PESOS', 'abc ', 9,     NULL, 5,    'x1', 'B'),
    (4, char(9),     0.01,   3, 0.03,  'ÑÑÑ',   NULL,   NULL,  'b',  2,    NULL, 'A'),
    (5, char(160),   -0.01,  3, 0.29,  'cop',   'XYZ',  '2',   'b',  NULL, 'X1', 'A'),
    (6, NULL,        0.1,    3, 0.31,  NULL,    'xyz',  '2.0', 'c',  3,    'x1', 'A'),
    (7, '  x  ',     1e-320, 3, 0.3,   'ÑÑ',    '01',   'two', 'a',  1,    'x2', 'A'),
    (8, 'tail' || char(9), NULL, NULL, NULL, 'USD', '1', 1,   'b',  '2',  'x2', 'A'),
    (9, 'z',         0.1,    3, 0.29,  'EUR',   'ABC',  NULL,  'B',  2,    'x2', NULL);
`;

const check = (name: string, expr: string): ViolationTarget => ({ kind: 'check', name, table: { schema: 'main', name: 'items' }, expr, severity: 'critical' });
const fk = (name: string, columns: string[], parent: string, refColumns: string[]): ViolationTarget => ({
  kind: 'foreign_key',
  name,
  table: { schema: 'main', name: 'items' },
  columns,
  refTable: { schema: 'main', name: parent },
  refColumns,
  severity: 'critical',
});

const TARGETS: Array<[ViolationTarget, number]> = [
  // TRIM removes spaces only: a tab or a no-break space is a non-empty name
  [check('ck_name_not_empty', 'LENGTH(TRIM(name)) > 0'), 2],
  [check('ck_price_non_negative', 'price >= 0'), 1],
  // 0.1 * 3 is 0.30000000000000004 in binary floating point: 0.29 is just over the tolerance, 0.31 just under
  [check('ck_total_calculation', 'ABS(total - price * qty) <= 0.01'), 3],
  // LENGTH counts characters, not bytes
  [check('ck_currency_format', 'LENGTH(currency) = 3'), 3],
  [check('ck_qty_positive', 'qty > 0'), 1],
  // a key differing only in case is an orphan under BINARY, not under a NOCASE parent key
  [fk('fk_code', ['code'], 'parent', ['code']), 5],
  [fk('fk_code_nocase', ['code'], 'parent_nocase', ['code']), 3],
  // the parent's INTEGER affinity applies to '2' and '2.0'; 'two' stays text
  [fk('fk_int', ['int_ref'], 'parent_int', []), 2],
  // a NULL in any column of a composite key satisfies it
  [fk('fk_pair', ['pa', 'pb'], 'parent_pair', ['a', 'b']), 3],
  [{ kind: 'unique', name: 'ux_ext_active', table: { schema: 'main', name: 'items' }, keys: [{ column: 'ext' }], where: "status = 'A'", severity: 'critical' }, 3],
];

describe('countViolations counts exactly what SQLite itself rejects', () => {
  const file = seededFile(SPECIAL);
  let dialect: Dialect;
  beforeAll(async () => {
    dialect = await openDialect(`sqlite:///${file.path}`);
  });
  afterAll(async () => {
    await dialect?.close();
    file.dispose();
  });

  test('NULLs, tabs and no-break spaces, float boundaries, orphans, NULL FK columns, keys differing only in case', async () => {
    const counts = await dialect.countViolations(TARGETS.map(([t]) => t), { samples: 5, jobs: 1 });
    const got = Object.fromEntries(counts.map((c) => [c.name, c.violations]));
    const truth = Object.fromEntries(TARGETS.map(([t]) => [t.name, sqliteRejects(file.path, t)]));
    const expected = Object.fromEntries(TARGETS.map(([t, n]) => [t.name, n]));
    expect(truth).toEqual(expected);
    expect(got).toEqual(expected);
    expect(counts.every((c) => c.rows === 9 && !c.error)).toBe(true);
  });

  test('samples name the offending rows by primary key', async () => {
    const [counted] = await dialect.countViolations([TARGETS[0][0]], { samples: 5, jobs: 1 });
    expect(counted.sample).toEqual([
      { id: 2, name: '' },
      { id: 3, name: ' ' },
    ]);
    const [unique] = await dialect.countViolations([TARGETS[9][0]], { samples: 5, jobs: 1 });
    expect(unique).toMatchObject({ violations: 3, groups: 2 });
  });

  test('an expression SQLite cannot evaluate is reported, not thrown', async () => {
    const [bad] = await dialect.countViolations([check('ck_bad', 'no_such_column > 0')], { samples: 0, jobs: 1 });
    expect(bad.error).toMatch(/no such column: no_such_column/);
  });
});

describe('countViolations on the MeStore demo violations equals SQLite, for every object of the manifest', () => {
  test('all 39 targets', async () => {
    const file = seededFile(baselineSchema('sqlite') + demoRows() + demoViolations());
    const dialect = await openDialect(`sqlite:///${file.path}`);
    try {
      const targets = targetsOfManifest(await desiredFor(dialect, mestore));
      expect(targets).toHaveLength(39);
      const counts = await dialect.countViolations(targets, { samples: 0, jobs: 2 });
      const got = Object.fromEntries(counts.map((c) => [c.name, c.violations]));
      const truth = Object.fromEntries(targets.map((t) => [t.name, sqliteRejects(file.path, t)]));
      expect(got).toEqual(truth);
      expect(Object.values(got).reduce((a, b) => a + b, 0)).toBeGreaterThan(10);
    } finally {
      await dialect.close();
      file.dispose();
    }
  });
});
