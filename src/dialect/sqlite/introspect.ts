import type Database from 'better-sqlite3';
import type { Catalog, Check, Column, FkAction, ForeignKey, Index, ReferencingKey, Relation, Table, TableRef } from '../../schema/types.js';
import { freeze, unnamedCheckName, unnamedForeignKeyName } from '../../schema/types.js';
import { parseCreateIndex } from './create-index.js';
import { parseCreateTable, type ParsedCheck, type ParsedForeignKey, type ParsedTable } from './create-table.js';
import { normalizeExpression } from './expression.js';
import { foldCase, sameName, significant, tokenize } from './tokenizer.js';

/**
 * What a rebuild needs beyond the catalog: the table's own CREATE TABLE text
 * and the texts of everything that a DROP TABLE takes with it.
 */
export interface RawTable {
  readonly ref: TableRef;
  readonly sql: string;
  /** null when the text cannot be rebuilt (a virtual table, CREATE TABLE … AS). */
  readonly parsed: ParsedTable | null;
  /** Columns a copy writes: every column except generated ones. */
  readonly copyColumns: readonly string[];
  /** The name through which to copy the implicit rowid (tables without an INTEGER PRIMARY KEY), or null. */
  readonly rowidName: string | null;
  readonly indexes: ReadonlyArray<{ readonly name: string; readonly sql: string }>;
  readonly triggers: ReadonlyArray<{ readonly name: string; readonly sql: string }>;
  /** Views whose text names the table and that work now. */
  readonly views: readonly string[];
  /** Catalog FK name → its clause in the text. */
  readonly foreignKeyText: ReadonlyMap<string, ParsedForeignKey>;
  /** Catalog CHECK name → its clause in the text (to take it out). */
  readonly checkText: ReadonlyMap<string, ParsedCheck>;
}

export interface Introspected {
  readonly catalog: Catalog;
  readonly raw: ReadonlyMap<string, RawTable>;
}

const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** The pragma queries run once per table: compiled once per connection. */
function prepared(db: Database.Database, sql: string): Database.Statement {
  const cache = statements.get(db) ?? new Map<string, Database.Statement>();
  statements.set(db, cache);
  let statement = cache.get(sql);
  if (!statement) cache.set(sql, (statement = db.prepare(sql)));
  return statement;
}

interface SchemaRow {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

/**
 * The user's tables: not SQLite's own (sqlite_*), nor schema-diff's journal
 * and scratch tables (schema_diff_*), nor virtual tables (their module owns
 * their shape), by name.
 */
export function listSqliteTables(db: Database.Database): TableRef[] {
  const rows = db
    .prepare(
      `SELECT name FROM main.sqlite_schema
        WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' AND name NOT LIKE 'schema!_diff!_%' ESCAPE '!'
          AND coalesce(sql, '') NOT LIKE 'CREATE VIRTUAL%'
        ORDER BY name`,
    )
    .all() as Array<{ name: string }>;
  return rows.map((r) => ({ schema: 'main', name: r.name }));
}

/** Reads the named tables and their parents from sqlite_schema and the table pragmas. */
export function introspectSqlite(db: Database.Database, refs: readonly TableRef[]): Introspected {
  const schema = db.prepare('SELECT type, name, tbl_name, sql FROM main.sqlite_schema').all() as SchemaRow[];
  const tableRows = schema.filter((r) => r.type === 'table' && !r.name.startsWith('sqlite_'));
  const byName = new Map(tableRows.map((r) => [r.name, r]));
  const byFolded = new Map(tableRows.map((r) => [foldCase(r.name), r]));
  const find = (name: string) => byName.get(name) ?? byFolded.get(foldCase(name));
  const byTable = new Map<string, SchemaRow[]>();
  for (const r of schema) byTable.set(r.tbl_name, [...(byTable.get(r.tbl_name) ?? []), r]);
  const hasStats = byName.has('sqlite_stat1') || schema.some((r) => r.name === 'sqlite_stat1');
  const wanted = new Map<string, SchemaRow>();
  const addTable = (name: string) => {
    const row = find(name);
    if (row && !wanted.has(row.name)) wanted.set(row.name, row);
  };
  for (const ref of refs) if (ref.schema === 'main') addTable(ref.name);
  for (const row of [...wanted.values()]) for (const fk of foreignKeyRows(db, row.name)) addTable(fk.table);
  const views = readableViews(db, schema);
  const tables: Table[] = [];
  const raw = new Map<string, RawTable>();
  const actualName = (name: string) => find(name)?.name ?? name;
  const referencing = referencingKeys(db, tableRows, actualName);
  for (const row of wanted.values()) {
    const context = { own: byTable.get(row.name) ?? [], views, hasStats, actualName };
    const { table, rawTable } = readTable(db, row, context);
    tables.push({ ...table, referencedBy: referencing.filter((k) => k.parent === row.name).map(({ parent: _, ...k }) => k) });
    raw.set(row.name, rawTable);
  }
  return { catalog: freeze({ dialect: 'sqlite', tables, relations: relationsOf(schema, actualName) }), raw };
}

/** Tables, indexes and views: one namespace per database file, which index names share. */
function relationsOf(schema: readonly SchemaRow[], actualName: (name: string) => string): Relation[] {
  return schema
    .filter((r) => r.type === 'table' || r.type === 'index' || r.type === 'view')
    .map((r) => ({
      schema: 'main',
      name: r.name,
      kind: r.type as Relation['kind'],
      table: r.type === 'index' ? { schema: 'main', name: actualName(r.tbl_name) } : null,
    }));
}

/**
 * The foreign keys of every table of the file, managed or not, by parent: an
 * index change on a parent must leave each of them a unique key to point at,
 * or every write to the child fails with "foreign key mismatch".
 */
function referencingKeys(db: Database.Database, tables: readonly SchemaRow[], actualName: (name: string) => string) {
  const keys: Array<ReferencingKey & { parent: string }> = [];
  for (const child of tables) {
    const rows = foreignKeyRows(db, child.name);
    for (const id of [...new Set(rows.map((r) => r.id))]) {
      const parts = rows.filter((r) => r.id === id);
      const parent = actualName(parts[0].table);
      const written = parts.every((p) => p.to !== null);
      const refColumns = written ? parts.map((p) => p.to as string) : primaryKeyOf(db, parent);
      const columns = parts.map((p) => p.from);
      keys.push({
        name: `(${columns.join(', ')}) → ${parent}(${refColumns.join(', ')})`,
        table: { schema: 'main', name: child.name },
        columns,
        refColumns,
        refIndex: null,
        parent,
      });
    }
  }
  return keys;
}

function primaryKeyOf(db: Database.Database, table: string): string[] {
  const columns = prepared(db, 'SELECT name, pk FROM pragma_table_info(?)').all(table) as Array<{ name: string; pk: number }>;
  return columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
}

interface ColumnRow {
  name: string;
  type: string;
  notnull: number;
  pk: number;
  hidden: number;
}

interface TableContext {
  /** The table's rows of sqlite_schema: itself, its indexes and triggers. */
  readonly own: readonly SchemaRow[];
  readonly views: ReturnType<typeof readableViews>;
  readonly hasStats: boolean;
  readonly actualName: (name: string) => string;
}

function readTable(db: Database.Database, row: SchemaRow, { own, views, hasStats, actualName }: TableContext): { table: Table; rawTable: RawTable } {
  const ref = { schema: 'main', name: row.name };
  const columnRows = prepared(db, 'SELECT name, type, "notnull", pk, hidden FROM pragma_table_xinfo(?)').all(row.name) as ColumnRow[];
  const columns: Column[] = columnRows.map((c) => ({ name: c.name, type: c.type, nullable: c.notnull === 0 }));
  const names = columns.map((c) => c.name);
  const primaryKey = columnRows.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
  const parsed = tryParse(row.sql ?? '');
  const { checks, checkText } = checksOf(parsed, ref, names);
  const { foreignKeys, foreignKeyText } = foreignKeysOf(db, row.name, ref, parsed, actualName);
  const indexes = indexesOf(db, row.name, ref, own, names);
  const table: Table = { ref, columns, primaryKey, checks, foreignKeys, indexes, rowEstimate: hasStats ? rowEstimate(db, row.name) : -1 };
  const rawTable: RawTable = {
    ref,
    sql: row.sql ?? '',
    parsed,
    copyColumns: columnRows.filter((c) => c.hidden === 0).map((c) => c.name),
    rowidName: rowidName(parsed, columnRows),
    indexes: own.filter((s) => s.type === 'index' && s.sql).map((s) => ({ name: s.name, sql: s.sql as string })),
    triggers: own.filter((s) => s.type === 'trigger' && s.sql).map((s) => ({ name: s.name, sql: s.sql as string })),
    views: viewsMentioning(views, row.name),
    foreignKeyText,
    checkText,
  };
  return { table, rawTable };
}

function tryParse(sql: string): ParsedTable | null {
  try {
    return parseCreateTable(sql);
  } catch {
    return null;
  }
}

/**
 * The CHECKs of the text. An unnamed one is known by its normalized
 * expression (unnamedCheckName), as ORMs write them: the manifest names it the
 * same way, whatever its spacing or case. Two with the same expression get #2, #3.
 */
export function checksOf(parsed: ParsedTable | null, ref: TableRef, columns: readonly string[]) {
  const checks: Check[] = [];
  const checkText = new Map<string, ParsedCheck>();
  for (const c of parsed?.checks ?? []) {
    const expr = normalizeExpression(c.expr, columns);
    let name = c.name ?? unnamedCheckName(expr);
    for (let n = 2; checks.some((k) => k.name === name); n++) name = `${name.replace(/ #\d+$/, '')} #${n}`;
    checkText.set(name, c);
    checks.push({ name, table: ref, expr, validated: true, ...(c.name === null ? { unnamed: true } : {}) });
  }
  return { checks, checkText };
}

interface ForeignKeyRow {
  id: number;
  seq: number;
  table: string;
  from: string;
  to: string | null;
  on_update: string;
  on_delete: string;
  match: string;
}

function foreignKeyRows(db: Database.Database, table: string): ForeignKeyRow[] {
  return prepared(db, 'SELECT * FROM pragma_foreign_key_list(?) ORDER BY id, seq').all(table) as ForeignKeyRow[];
}

const ACTIONS: Record<string, FkAction> = {
  'NO ACTION': 'no action',
  RESTRICT: 'restrict',
  CASCADE: 'cascade',
  'SET NULL': 'set null',
  'SET DEFAULT': 'set default',
};

/**
 * Foreign keys as SQLite enforces them (PRAGMA foreign_key_list), named from
 * the text where it names them. Omitted parent columns are the parent's
 * primary key, filled in so that both sides of a diff spell them out.
 */
function foreignKeysOf(
  db: Database.Database,
  table: string,
  ref: TableRef,
  parsed: ParsedTable | null,
  actualName: (name: string) => string,
) {
  const rows = foreignKeyRows(db, table);
  const unused = [...(parsed?.foreignKeys ?? [])];
  const foreignKeys: ForeignKey[] = [];
  const foreignKeyText = new Map<string, ParsedForeignKey>();
  for (const id of [...new Set(rows.map((r) => r.id))]) {
    const parts = rows.filter((r) => r.id === id);
    const parent = actualName(parts[0].table);
    const parentColumns = prepared(db, 'SELECT name, pk FROM pragma_table_info(?)').all(parent) as Array<{ name: string; pk: number }>;
    const parentPk = parentColumns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    const columns = parts.map((p) => p.from);
    const written = parts.every((p) => p.to !== null);
    const refColumns = written ? parts.map((p) => parentColumns.find((c) => sameName(c.name, p.to as string))?.name ?? (p.to as string)) : parentPk;
    const textIndex = unused.findIndex(
      (f) =>
        sameName(f.refTable, parts[0].table) &&
        f.columns.length === columns.length &&
        f.columns.every((c, i) => sameName(c, columns[i])) &&
        (written ? f.refColumns.every((c, i) => sameName(c, parts[i].to as string)) : f.refColumns.length === 0),
    );
    const text = textIndex >= 0 ? unused.splice(textIndex, 1)[0] : undefined;
    // an unnamed key is known by its structure, as the manifest names one it does not name
    let name = text?.name ?? unnamedForeignKeyName(columns, parent, refColumns);
    for (let n = 2; foreignKeys.some((f) => f.name === name); n++) name = `${name.replace(/ #\d+$/, '')} #${n}`;
    if (text) foreignKeyText.set(name, text);
    foreignKeys.push({
      name,
      ...(text?.name ? {} : { unnamed: true }),
      table: ref,
      columns,
      refTable: { schema: 'main', name: parent },
      refColumns,
      onDelete: ACTIONS[parts[0].on_delete.toUpperCase()] ?? 'no action',
      onUpdate: ACTIONS[parts[0].on_update.toUpperCase()] ?? 'no action',
      deferrable: text?.deferrable ?? false,
      initiallyDeferred: text?.initiallyDeferred ?? false,
      match: parts[0].match.toUpperCase() === 'FULL' ? 'full' : parts[0].match.toUpperCase() === 'PARTIAL' ? 'partial' : 'simple',
      validated: true,
    });
  }
  return { foreignKeys, foreignKeyText };
}

interface IndexListRow {
  name: string;
  unique: number;
  origin: string;
  partial: number;
}

function indexesOf(db: Database.Database, table: string, ref: TableRef, schema: readonly SchemaRow[], columns: readonly string[]): Index[] {
  const list = prepared(db, 'SELECT name, "unique", origin, partial FROM pragma_index_list(?)').all(table) as IndexListRow[];
  return list.map((ix) => {
    const sql = schema.find((s) => s.type === 'index' && s.name === ix.name)?.sql ?? null;
    const fromText = sql ? parseCreateIndex(sql, columns) : null;
    const keyRows = prepared(db, 'SELECT cid, name, "desc", coll FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno').all(ix.name) as Array<{
      cid: number;
      name: string | null;
      desc: number;
      coll: string;
    }>;
    // an autoindex has no text: its keys as the pragma lists them (a collation other than BINARY was written in the UNIQUE)
    const autoKeys = keyRows.map((k) => ({
      column: k.name ?? 'rowid',
      ...(k.desc ? { desc: true } : {}),
      ...(k.coll.toUpperCase() !== 'BINARY' ? { collate: k.coll.toUpperCase() } : {}),
    }));
    return {
      name: ix.name,
      table: ref,
      keys: fromText?.keys ?? autoKeys,
      unique: ix.unique === 1,
      where: fromText?.where ?? null,
      method: 'btree',
      valid: true,
      constraintBacked: ix.origin !== 'c',
      // a table's UNIQUE: its autoindex is the constraint, named by SQLite and changed only by rebuilding the table
      ...(ix.origin === 'u' ? { uniqueConstraint: true } : {}),
      ...(ix.origin !== 'c' ? { fixedName: true } : {}),
    };
  });
}

function viewsMentioning(views: ReturnType<typeof readableViews>, table: string): string[] {
  const folded = foldCase(table);
  return views.filter((v) => v.mentions(folded)).map((v) => v.name);
}

/** The views that can be read now, each with the names its text mentions (read once for all tables). */
function readableViews(db: Database.Database, schema: readonly SchemaRow[]): Array<{ name: string; mentions: (folded: string) => boolean }> {
  return schema
    .filter((s) => s.type === 'view' && s.sql)
    .filter((s) => {
      try {
        db.prepare(`SELECT * FROM main."${s.name.replace(/"/g, '""')}" LIMIT 0`);
        return true;
      } catch {
        return false; // already broken: not ours to check
      }
    })
    .map((s) => {
      let names: Set<string> | null;
      try {
        names = new Set(significant(tokenize(s.sql as string)).filter((t) => t.kind === 'word' || t.kind === 'quoted').map((t) => foldCase(t.value)));
      } catch {
        names = null; // cannot tell: check it after every rebuild
      }
      return { name: s.name, mentions: (folded: string) => names === null || names.has(folded) };
    });
}

/** The implicit rowid is copied too (something may refer to it), unless an INTEGER PRIMARY KEY already is it. */
function rowidName(parsed: ParsedTable | null, columns: readonly ColumnRow[]): string | null {
  if (!parsed || parsed.withoutRowid) return null;
  const pk = columns.filter((c) => c.pk > 0);
  if (pk.length === 1 && pk[0].type.toUpperCase() === 'INTEGER') return null;
  return ['rowid', '_rowid_', 'oid'].find((n) => !columns.some((c) => sameName(c.name, n))) ?? null;
}

function rowEstimate(db: Database.Database, table: string): number {
  try {
    const rows = db.prepare('SELECT stat FROM main.sqlite_stat1 WHERE tbl = ?').all(table) as Array<{ stat: string }>;
    const counts = rows.map((r) => Number(String(r.stat).split(' ')[0])).filter(Number.isFinite);
    return counts.length ? Math.max(...counts) : -1;
  } catch {
    return -1;
  }
}
