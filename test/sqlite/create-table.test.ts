import Database from 'better-sqlite3';
import { parseCreateTable } from '../../src/dialect/sqlite/create-table.js';
import { editCreateTable } from '../../src/dialect/sqlite/edit-table.js';
import type { ForeignKey } from '../../src/schema/types.js';

const ORDERS = `CREATE TABLE orders (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  buyer_id  VARCHAR(36) NOT NULL REFERENCES users(id), -- the buyer
  "Total"   NUMERIC(10,2) NOT NULL DEFAULT -1 CHECK ("Total" > 0) CONSTRAINT c2 CHECK (1),
  note      TEXT DEFAULT 'CHECK (x), REFERENCES y' COLLATE NOCASE,
  g         INT GENERATED ALWAYS AS (id * 2) STORED,
  seller    INT CONSTRAINT fk_inline REFERENCES sellers ON DELETE SET NULL NOT NULL,
  CONSTRAINT fk_g FOREIGN KEY (g) REFERENCES other (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  CHECK (id > 0) CONSTRAINT named CHECK (id < 100)
) WITHOUT ROWID, STRICT`;

const fk = (name: string, columns: string[], parent: string, onDelete: ForeignKey['onDelete'] = 'no action'): ForeignKey => ({
  name,
  table: { schema: 'main', name: 'orders' },
  columns,
  refTable: { schema: 'main', name: parent },
  refColumns: ['id'],
  onDelete,
  onUpdate: 'no action',
  deferrable: false,
  initiallyDeferred: false,
  match: 'simple',
  validated: true,
});

describe('parsing a CREATE TABLE text', () => {
  const t = parseCreateTable(ORDERS);

  test('finds named and unnamed, column- and table-level CHECKs, with their text', () => {
    expect(t.checks.map((c) => [c.name, c.column, c.expr])).toEqual([
      [null, 'Total', '"Total" > 0'],
      ['c2', 'Total', '1'],
      [null, null, 'id > 0'],
      ['named', null, 'id < 100'],
    ]);
  });

  test('finds inline and table-level foreign keys, named or not, with their actions', () => {
    expect(t.foreignKeys.map((f) => [f.name, f.inline, f.columns, f.refTable, f.refColumns, f.onDelete, f.deferrable, f.initiallyDeferred])).toEqual([
      [null, true, ['buyer_id'], 'users', ['id'], 'no action', false, false],
      ['fk_inline', true, ['seller'], 'sellers', [], 'set null', false, false],
      ['fk_g', false, ['g'], 'other', ['id'], 'cascade', true, true],
    ]);
  });

  test('knows the table options and the columns', () => {
    expect(t.withoutRowid).toBe(true);
    expect(t.autoincrement).toBe(true);
    expect(t.elements.filter((e) => e.kind === 'column').map((e) => e.column)).toEqual(['id', 'buyer_id', 'Total', 'note', 'g', 'seller']);
  });
});

describe('editing a CREATE TABLE text', () => {
  test('replaces an inline FK by a named table constraint; everything else survives byte for byte', () => {
    const t = parseCreateTable(ORDERS);
    const out = editCreateTable(t, {
      replaceChecks: [{ name: 'named', expr: 'id < 200' }],
      addChecks: [{ name: 'ck_new', expr: 'id <> 5' }],
      removeForeignKeys: [t.foreignKeys[0], t.foreignKeys[1], t.foreignKeys[2]],
      addForeignKeys: [fk('fk_buyer', ['buyer_id'], 'users', 'restrict')],
    });
    expect(out).toBe(`CREATE TABLE orders (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  buyer_id  VARCHAR(36) NOT NULL, -- the buyer
  "Total"   NUMERIC(10,2) NOT NULL DEFAULT -1 CHECK ("Total" > 0) CONSTRAINT c2 CHECK (1),
  note      TEXT DEFAULT 'CHECK (x), REFERENCES y' COLLATE NOCASE,
  g         INT GENERATED ALWAYS AS (id * 2) STORED,
  seller    INT NOT NULL,
  CHECK (id > 0) CONSTRAINT named CHECK (id < 200),
  CONSTRAINT ck_new CHECK (id <> 5),
  CONSTRAINT fk_buyer FOREIGN KEY (buyer_id) REFERENCES users (id) ON DELETE RESTRICT
) WITHOUT ROWID, STRICT`);
  });

  test('on one line it stays on one line; a comment before a removed constraint stays', () => {
    const text = 'CREATE TABLE "Order Lines" (a INT, b INT /* keep */, FOREIGN KEY (b) REFERENCES p)';
    const t = parseCreateTable(text);
    expect(editCreateTable(t, { replaceChecks: [], addChecks: [{ name: 'c', expr: 'a > 0' }], removeForeignKeys: t.foreignKeys, addForeignKeys: [] })).toBe(
      'CREATE TABLE "Order Lines" (a INT, b INT /* keep */, CONSTRAINT c CHECK (a > 0))',
    );
  });

  test('every edited text is valid SQLite', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY); CREATE TABLE sellers (id INTEGER PRIMARY KEY); CREATE TABLE other (id INTEGER PRIMARY KEY)');
    // (AUTOINCREMENT and WITHOUT ROWID do not go together; STRICT wants standard types)
    const t = parseCreateTable(ORDERS.replace(') WITHOUT ROWID, STRICT', ')'));
    const out = editCreateTable(t, { replaceChecks: [], addChecks: [{ name: 'x', expr: "note <> ''" }], removeForeignKeys: [t.foreignKeys[2]], addForeignKeys: [] });
    expect(() => db.exec(out)).not.toThrow();
    db.close();
  });
});
