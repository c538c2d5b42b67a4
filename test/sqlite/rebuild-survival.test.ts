import Database from 'better-sqlite3';
import { openDialect } from '../../src/dialect/open.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { verifyManifest } from '../../src/run/verify.js';
import { applyOptions, manifestOf, query, run, schemaTexts, seededFile, tableChecksums } from './helpers.js';

const noBackup = { ...applyOptions, backup: false } as typeof applyOptions;

/** The definition edited in place where the connection may; the rebuild where it runs in defensive mode. */
const PATHS = [
  { options: '', action: 'edit_table' },
  { options: '?defensive=on', action: 'rebuild_table' },
] as const;

describe('the drizzle-kit bug, as a test: a parent rebuilt while children reference it ON DELETE CASCADE', () => {
  const seed = `
    CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors (id) ON DELETE CASCADE, title TEXT);
    CREATE TABLE reviews (id INTEGER PRIMARY KEY, book_id INTEGER REFERENCES books (id) ON DELETE CASCADE, stars INTEGER);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
    INSERT INTO authors SELECT i, 'author ' || i FROM n;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
    INSERT INTO books SELECT i, 1 + i % 50, 'book ' || i FROM n;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
    INSERT INTO reviews SELECT i, 1 + i % 500, 1 + i % 5 FROM n;`;

  test('the naive rebuild (foreign_keys OFF inside the transaction) empties the children: the bug is real', () => {
    const file = seededFile(seed);
    const db = new Database(file.path);
    db.exec(`BEGIN; PRAGMA foreign_keys = OFF;
      CREATE TABLE authors_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (length(name) > 0));
      INSERT INTO authors_new SELECT * FROM authors; DROP TABLE authors; ALTER TABLE authors_new RENAME TO authors; COMMIT;`);
    expect(db.prepare('SELECT count(*) AS n FROM books').get()).toEqual({ n: 0 });
    db.close();
    file.dispose();
  });

  test.each(PATHS)('our $action of the parent (connection opened with foreign_keys ON) loses no child row', async ({ options, action }) => {
    const file = seededFile(seed);
    const before = tableChecksums(file.path);
    const texts = schemaTexts(file.path);
    const dialect = await openDialect(`sqlite:///${file.path}${options}`);
    try {
      const manifest = manifestOf({ authors: { checks: [{ name: 'ck_author_name', expr: 'length(name) > 0' }] } });
      const result = await applyManifest(dialect, manifest, noBackup);
      expect(result.plan.steps.map((s) => s.action)).toEqual([action]);
      expect(tableChecksums(file.path)).toEqual(before);
      // the children still say REFERENCES authors: renaming the old table aside rewrote nothing
      expect(schemaTexts(file.path)['table books']).toBe(texts['table books']);
      expect(schemaTexts(file.path)['table reviews']).toBe(texts['table reviews']);
      expect(query(file.path, 'PRAGMA foreign_key_check')).toEqual([]);
      // the cascade still works afterwards: the children point at the new table
      run(file.path, 'DELETE FROM authors WHERE id = 1');
      expect(query(file.path, 'SELECT count(*) AS n FROM books WHERE author_id = 1')).toEqual([{ n: 0 }]);
    } finally {
      await dialect.close();
      file.dispose();
    }
  });
});

describe.each(PATHS)('$action changes only the managed constraints', ({ options }) => {
  const seed = `
    CREATE TABLE audit (line_id INTEGER, at TEXT DEFAULT CURRENT_TIMESTAMP);
    CREATE TABLE "Order Lines" (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      "Qty" INTEGER NOT NULL CHECK ("Qty" <> 0),   -- unnamed, column level
      price REAL,
      total REAL GENERATED ALWAYS AS ("Qty" * price) STORED,
      half REAL AS (price / 2),
      note TEXT COLLATE NOCASE DEFAULT 'n/a',
      CHECK (price >= 0)
    );
    CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
    CREATE TABLE typed (id INTEGER PRIMARY KEY, n INT NOT NULL, s TEXT) STRICT;
    CREATE TABLE [plain] (a TEXT, b TEXT);
    CREATE INDEX ix_lines_price ON "Order Lines" (price DESC) WHERE price IS NOT NULL;
    CREATE TRIGGER trg_lines AFTER UPDATE ON "Order Lines" BEGIN INSERT INTO audit (line_id) VALUES (new.id); END;
    CREATE VIEW v_lines AS SELECT id, "Qty", total FROM "Order Lines";
    CREATE VIEW v_all AS SELECT (SELECT count(*) FROM kv) + (SELECT count(*) FROM typed) + (SELECT count(*) FROM plain) AS n;
    INSERT INTO "Order Lines" ("Qty", price) VALUES (2, 10.5), (1, 3), (5, NULL), (9, 1);
    DELETE FROM "Order Lines" WHERE id = 4;
    INSERT INTO kv VALUES ('b', x'0102'), ('a', NULL);
    INSERT INTO typed VALUES (1, 10, 'x'), (2, 20, NULL);
    INSERT INTO plain (a, b) VALUES ('1', 'x'), ('2', 'y'), ('3', 'z');
    DELETE FROM plain WHERE a = '2';`;
  const manifest = manifestOf({
    'Order Lines': { checks: [{ name: 'ck_lines_note', expr: "note <> ''" }] },
    kv: { checks: [{ name: 'ck_kv_key', expr: 'length(k) > 0' }] },
    typed: { checks: [{ name: 'ck_typed_n', expr: 'n >= 0' }] },
    plain: { checks: [{ name: 'ck_plain_a', expr: 'a IS NOT NULL' }] },
  });
  const file = seededFile(seed);
  let before: Record<string, string>;
  let rows: ReturnType<typeof tableChecksums>;

  beforeAll(async () => {
    before = schemaTexts(file.path);
    rows = tableChecksums(file.path);
    const dialect = await openDialect(`sqlite:///${file.path}${options}`);
    try {
      await applyManifest(dialect, manifest, noBackup);
      expect(await verifyManifest(dialect, manifest, 'm')).toEqual([]);
      expect((await preparePlan(dialect, manifest, 'm')).plan.steps).toEqual([]);
    } finally {
      await dialect.close();
    }
  });
  afterAll(() => file.dispose());

  test('each CREATE TABLE text is its old text with one constraint appended, byte for byte', () => {
    const after = schemaTexts(file.path);
    expect(after['table Order Lines']).toBe(
      before['table Order Lines'].replace('CHECK (price >= 0)\n', "CHECK (price >= 0),\n      CONSTRAINT ck_lines_note CHECK (note <> '')\n"),
    );
    expect(after['table Order Lines']).not.toBe(before['table Order Lines']);
    expect(after['table kv']).toBe('CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB, CONSTRAINT ck_kv_key CHECK (LENGTH(k) > 0)) WITHOUT ROWID');
    expect(after['table typed']).toBe('CREATE TABLE typed (id INTEGER PRIMARY KEY, n INT NOT NULL, s TEXT, CONSTRAINT ck_typed_n CHECK (n >= 0)) STRICT');
    expect(after['table plain']).toBe('CREATE TABLE [plain] (a TEXT, b TEXT, CONSTRAINT ck_plain_a CHECK (a IS NOT NULL))');
  });

  test('indexes, triggers and views are unchanged; rows, rowids and the AUTOINCREMENT counter too', () => {
    const after = schemaTexts(file.path);
    for (const key of Object.keys(before).filter((k) => !k.startsWith('table '))) expect(after[key]).toBe(before[key]);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    expect(tableChecksums(file.path)).toEqual(rows);
    expect(query(file.path, `SELECT seq FROM sqlite_sequence WHERE name = 'Order Lines'`)).toEqual([{ seq: 4 }]);
    expect(query(file.path, 'SELECT rowid, a FROM plain ORDER BY rowid')).toEqual([{ rowid: 1, a: '1' }, { rowid: 3, a: '3' }]);
  });

  test('the tables still behave: unnamed CHECK, generated columns, STRICT, WITHOUT ROWID, trigger, views', () => {
    expect(() => run(file.path, `INSERT INTO "Order Lines" ("Qty", price) VALUES (0, 1)`)).toThrow(/CHECK constraint failed/);
    expect(() => run(file.path, `INSERT INTO "Order Lines" ("Qty", price) VALUES (1, -1)`)).toThrow(/CHECK constraint failed/);
    expect(() => run(file.path, `INSERT INTO "Order Lines" ("Qty", price, note) VALUES (1, 1, '')`)).toThrow(/ck_lines_note/);
    expect(() => run(file.path, `INSERT INTO typed VALUES (3, 'not a number', 'x')`)).toThrow(/cannot store TEXT value in INT column/);
    expect(() => run(file.path, 'SELECT rowid FROM kv')).toThrow(/no such column: rowid/);
    run(file.path, `INSERT INTO "Order Lines" ("Qty", price) VALUES (3, 2)`);
    expect(query(file.path, `SELECT id, total, half FROM "Order Lines" WHERE id = 5`)).toEqual([{ id: 5, total: 6, half: 1 }]);
    run(file.path, `UPDATE "Order Lines" SET price = 4 WHERE id = 5`);
    expect(query(file.path, 'SELECT line_id FROM audit')).toEqual([{ line_id: 5 }]);
    expect(query(file.path, 'SELECT n FROM v_all')).toEqual([{ n: 6 }]);
    expect(query(file.path, 'SELECT count(*) AS n FROM v_lines')).toEqual([{ n: 4 }]);
  });

  test('unnamed CHECKs are read, listed as unmanaged, and never touched', async () => {
    const dialect = await openDialect(`sqlite:///${file.path}`);
    try {
      const { plan } = await preparePlan(dialect, manifest, 'm');
      const unmanaged = plan.unmanaged.filter((u) => u.table.name === 'Order Lines' && u.kind === 'check');
      expect(unmanaged.map((u) => u.definition)).toEqual(['CHECK (Qty <> 0)', 'CHECK (price >= 0)']);
    } finally {
      await dialect.close();
    }
  });
});
