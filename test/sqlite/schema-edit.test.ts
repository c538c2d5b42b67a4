import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { openDialect } from '../../src/dialect/open.js';
import { onlyConstraintsDiffer } from '../../src/dialect/sqlite/schema-edit.js';
import { SchemaDiffError } from '../../src/errors.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { applyOptions, manifestOf, query, run, schemaTexts, seededFile, tableChecksums } from './helpers.js';

const noBackup = { ...applyOptions, backup: false } as typeof applyOptions;

const sqlite3Shell = (() => {
  try {
    execFileSync('sqlite3', ['-version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();

const SEED = `
  CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
  CREATE TABLE lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    qty INTEGER NOT NULL,
    price REAL,
    total REAL GENERATED ALWAYS AS (qty * price) STORED,
    note TEXT COLLATE NOCASE DEFAULT 'n/a',
    parent_id INTEGER REFERENCES parent (id)
  );
  CREATE TABLE kv (k TEXT PRIMARY KEY, v INT) WITHOUT ROWID;
  CREATE TABLE typed (id INTEGER PRIMARY KEY, n INT NOT NULL) STRICT;
  CREATE INDEX ix_lines_price ON lines (price);
  INSERT INTO parent VALUES (1, 'a'), (2, 'b');
  INSERT INTO lines (qty, price, parent_id) VALUES (1, 2.5, 1), (2, 3, 2), (3, NULL, NULL);
  INSERT INTO kv VALUES ('a', 1), ('b', 2);
  INSERT INTO typed VALUES (1, 1), (2, 2);`;

const MANIFEST = manifestOf({
  lines: {
    checks: [{ name: 'ck_lines_qty', expr: 'qty > 0' }],
    foreignKeys: [{ name: 'fk_lines_parent', columns: ['parent_id'], references: { table: 'parent', columns: ['id'] }, onDelete: 'cascade' }],
  },
  kv: { checks: [{ name: 'ck_kv_v', expr: 'v >= 0' }] },
  typed: { checks: [{ name: 'ck_typed_n', expr: 'n >= 0' }] },
});

describe('SQLite: constraints changed without rewriting the table', () => {
  test('AUTOINCREMENT, generated columns, WITHOUT ROWID and STRICT tables take the in-place edit; rows and rowids are untouched', async () => {
    const file = seededFile(SEED);
    try {
      const rows = tableChecksums(file.path);
      const pages = query<{ n: number }>(file.path, 'SELECT count(*) AS n FROM dbstat')[0];
      const dialect = await openDialect(`sqlite:///${file.path}`);
      try {
        const result = await applyManifest(dialect, MANIFEST, noBackup);
        expect(result.plan.steps.map((s) => `${s.action} ${s.table}`).sort()).toEqual(['edit_table main.kv', 'edit_table main.lines', 'edit_table main.typed']);
        expect((await preparePlan(dialect, MANIFEST, 'm')).plan.steps).toEqual([]);
      } finally {
        await dialect.close();
      }
      expect(tableChecksums(file.path)).toEqual(rows);
      // no table was copied: the file has the pages it had (dbstat counts them; the journal tables add a few)
      expect(query<{ n: number }>(file.path, 'SELECT count(*) AS n FROM dbstat')[0].n).toBeLessThan(pages.n + 12);
      // a fresh connection reads the new definitions and enforces them
      const fresh = new Database(file.path, { fileMustExist: true });
      try {
        expect(fresh.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
        expect(fresh.pragma('foreign_key_list(lines)')).toEqual([expect.objectContaining({ table: 'parent', on_delete: 'CASCADE' })]);
        expect(() => fresh.prepare('INSERT INTO lines (qty) VALUES (0)').run()).toThrow(/ck_lines_qty/);
        expect(() => fresh.prepare(`INSERT INTO kv VALUES ('c', -1)`).run()).toThrow(/ck_kv_v/);
      } finally {
        fresh.close();
      }
      if (sqlite3Shell) {
        expect(execFileSync('sqlite3', [file.path, 'PRAGMA integrity_check;'], { encoding: 'utf8' }).trim()).toBe('ok');
        expect(() => execFileSync('sqlite3', ['-bail', file.path, 'INSERT INTO typed VALUES (9, -1);'], { stdio: 'pipe' })).toThrow(/ck_typed_n/);
      }
    } finally {
      file.dispose();
    }
  });

  test('a connection that was open before the edit enforces the new CHECK at its next statement (schema_version bumped)', async () => {
    const file = seededFile(SEED);
    const other = new Database(file.path);
    try {
      expect(other.prepare('SELECT count(*) AS n FROM lines').get()).toEqual({ n: 3 });
      const dialect = await openDialect(`sqlite:///${file.path}`);
      await applyManifest(dialect, MANIFEST, noBackup).finally(() => dialect.close());
      expect(() => other.prepare('INSERT INTO lines (qty) VALUES (-1)').run()).toThrow(/ck_lines_qty/);
    } finally {
      other.close();
      file.dispose();
    }
  });

  test('a row written after the plan that breaks the new CHECK stops the edit at its row check; everything is rolled back', async () => {
    const file = seededFile(SEED);
    const dialect = await openDialect(`sqlite:///${file.path}`);
    try {
      const before = schemaTexts(file.path);
      const { plan } = await preparePlan(dialect, MANIFEST, 'm');
      run(file.path, 'INSERT INTO lines (qty) VALUES (0)');
      const runId = await dialect.startRun('apply', 'm', plan.fingerprint, plan.steps);
      const error = await dialect.execute(plan.steps, { runId }, noBackup).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SchemaDiffError);
      expect((error as Error).message).toMatch(/edit_table .* stopped by a safety check: not true that every row of main\.lines satisfies its new CHECKs/);
      expect(schemaTexts(file.path)).toEqual(before);
      expect(query(file.path, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      // the dialect's connection is back to normal: writable_schema off, defensive again
      expect((await preparePlan(dialect, MANIFEST, 'm')).plan.steps.length).toBe(plan.steps.length);
    } finally {
      await dialect.close();
      file.dispose();
    }
  });

  test('rollback renders the edit back from the journal: the exact previous CREATE TABLE texts return', async () => {
    const file = seededFile(SEED);
    const dialect = await openDialect(`sqlite:///${file.path}`);
    try {
      const before = schemaTexts(file.path);
      await applyManifest(dialect, MANIFEST, noBackup);
      const [applied] = await dialect.history();
      for (const s of applied.steps) expect(dialect.inverseOf(s)).toEqual(s.inverse);
      const undo = [...applied.steps].reverse().map((h, i) => ({
        id: i + 1, action: h.action, table: h.table, name: h.name, objects: h.objects, reason: 'rollback',
        sql: dialect.inverseOf(h), inverse: h.sql, transactional: true, lockTimeout: true, lock: '', hazards: [],
      }));
      const runId = await dialect.startRun('rollback', 'm', 'x');
      await dialect.execute(undo, { runId }, noBackup);
      await dialect.finishRun(runId, 'done');
      expect(schemaTexts(file.path)).toEqual(before);
      // a journaled edit whose way back would change more than constraint clauses is refused, not run
      const edit = applied.steps.find((s) => s.action === 'edit_table') as (typeof applied.steps)[number];
      const origin = edit.origin as { back: { fromText: string } };
      const tampered = { ...edit, origin: { ...origin, back: { ...origin.back, toText: origin.back.fromText.replace('INTEGER', 'TEXT') } } };
      expect(() => dialect.inverseOf(tampered)).toThrow(/differ in more than CHECK and FOREIGN KEY clauses|not each one CREATE TABLE/);
    } finally {
      await dialect.close();
      file.dispose();
    }
  });

  test('a connection in defensive mode (?defensive=on) rebuilds instead, and says why', async () => {
    const file = seededFile(SEED);
    const dialect = await openDialect(`sqlite:///${file.path}?defensive=on`);
    try {
      const { plan } = await preparePlan(dialect, MANIFEST, 'm');
      expect(plan.steps.map((s) => s.action)).toEqual(['rebuild_table', 'rebuild_table', 'rebuild_table']);
      expect(plan.steps[0].reason).toMatch(/not by editing its definition in place: the connection runs in defensive mode/);
    } finally {
      await dialect.close();
      file.dispose();
    }
  });
});

describe('onlyConstraintsDiffer: the proof that no row depends on what changed', () => {
  const base = `CREATE TABLE t (id INTEGER PRIMARY KEY, a INT NOT NULL REFERENCES p (id), b TEXT COLLATE NOCASE, CHECK (a > 0))`;
  test.each([
    ['a CHECK added', base, `CREATE TABLE t (id INTEGER PRIMARY KEY, a INT NOT NULL REFERENCES p (id), b TEXT COLLATE NOCASE, CHECK (a > 0), CONSTRAINT ck CHECK (b <> ''))`],
    ['a CHECK changed', base, base.replace('a > 0', 'a >= 0')],
    ['an FK action changed', base, base.replace('REFERENCES p (id)', 'REFERENCES p (id) ON DELETE CASCADE')],
    ['an inline FK made a named table constraint', base, base.replace(' REFERENCES p (id)', '').replace(', CHECK', ', CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id), CHECK')],
  ])('%s: only constraints differ', (_what, from, to) => {
    expect(onlyConstraintsDiffer(from, to)).toBe(true);
  });
  test.each([
    ['a type', base.replace('a INT', 'a INTEGER')],
    ['a collation', base.replace(' COLLATE NOCASE', '')],
    ['NOT NULL', base.replace(' NOT NULL', '')],
    ['the primary key', base.replace('id INTEGER PRIMARY KEY', 'id INTEGER')],
    ['a UNIQUE', base.replace('b TEXT', 'b TEXT UNIQUE')],
    ['WITHOUT ROWID', `${base} WITHOUT ROWID`],
    ['STRICT', `${base} STRICT`],
    ['a column', base.replace(', CHECK', ', c INT, CHECK')],
    ['unreadable text', 'CREATE TABLE t AS SELECT 1'],
  ])('%s changed: more than constraints differ', (_what, to) => {
    expect(onlyConstraintsDiffer(base, to)).toBe(false);
  });
});
