import type Database from 'better-sqlite3';
import type { TableRef } from '../../schema/types.js';
import { parseCreateTable, type ParsedTable } from './create-table.js';
import { quoteIdent, quoteString } from './quote.js';
import { assert, assertionOf, CREATE_ASSERT_TABLE, CREATE_FK_TABLE, FK_TABLE, foreignKeyCheck, guard, noNewForeignKeyViolation } from './rebuild.js';
import { isOp, significant } from './tokenizer.js';

/**
 * A change of a table's CHECK and FOREIGN KEY clauses made without a rewrite:
 * sqlite.org's "making other kinds of table schema changes" (ALTER TABLE page).
 * The stored rows do not depend on these clauses, so the table's CREATE TABLE
 * text is replaced in sqlite_schema and every connection re-reads the schema.
 */
export interface EditSpec {
  readonly table: TableRef;
  /** The CREATE TABLE text the table must have now: anything else and the step refuses. */
  readonly fromText: string;
  readonly toText: string;
  /** The indexes and triggers the table must have while the text is replaced (none is touched). */
  readonly indexes: ReadonlyArray<{ readonly name: string; readonly sql: string }>;
  readonly triggers: ReadonlyArray<{ readonly name: string; readonly sql: string }>;
}

/** Whether the fast path may be used on this connection, and if not, why (said in the step's reason). */
export type SchemaEditPolicy = { readonly allowed: true } | { readonly allowed: false; readonly why: string };

const SHAPE_TABLE = 'temp.schema_diff_shape';
const BUMP_TABLE = 'main.schema_diff_schema_bump';
export const WRITABLE_SCHEMA_ON = 'PRAGMA writable_schema = ON';

/**
 * The statements, run inside apply's one BEGIN IMMEDIATE transaction with the
 * journal step (a failure anywhere rolls the text back with everything else):
 *  1. the table's text, indexes and triggers are exactly those planned;
 *  2. its storage shape (columns, types, keys, autoindexes and their
 *     collations, WITHOUT ROWID, STRICT) is noted, and its foreign-key
 *     violations when a key's columns or parent change;
 *  3. the text is replaced under writable_schema; RESET turns that off and
 *     makes this connection parse the new text (a text SQLite rejects fails here);
 *  4. a CREATE and DROP of a scratch table bumps schema_version, so every
 *     other connection re-reads the schema before its next statement;
 *  5. the shape is unchanged, PRAGMA quick_check of sqlite_schema (the b-tree
 *     the edit wrote) is ok, one scan finds no row breaking a CHECK the new
 *     text adds or changes (left out by apply where row-proof.ts shows it
 *     would read only rows apply has just counted), and no foreign key
 *     violation is new.
 * A quick_check of the whole table would read every row as well, but also
 * walks every index of it: measured at 2.4× a VACUUM INTO of the file at 1M
 * rows, so the rows are checked by the one scan instead (bench: sqlite-rebuild).
 */
export function schemaEditStatements(spec: EditSpec): string[] {
  const name = quoteString(spec.table.name);
  const table = `main.${quoteIdent(spec.table.name)}`;
  const checks = newChecks(spec.fromText, spec.toText);
  const keys = keysChange(spec.fromText, spec.toText);
  return [
    CREATE_ASSERT_TABLE,
    `CREATE TEMP TABLE IF NOT EXISTS schema_diff_shape (phase TEXT NOT NULL, shape TEXT)`,
    assert(`${table}, its indexes and triggers are as the plan expects`, guard({ ...spec, indexesBefore: spec.indexes })),
    ...(keys ? [CREATE_FK_TABLE, `DELETE FROM ${FK_TABLE}`, `INSERT INTO ${FK_TABLE} ${foreignKeyCheck('before', spec.table.name)}`] : []),
    `DELETE FROM ${SHAPE_TABLE}`,
    `INSERT INTO ${SHAPE_TABLE} (phase, shape) SELECT 'before', ${shapeOf(spec.table.name)}`,
    WRITABLE_SCHEMA_ON,
    `UPDATE main.sqlite_schema SET sql = ${quoteString(spec.toText)} WHERE type = 'table' AND name = ${name} AND sql = ${quoteString(spec.fromText)}`,
    'PRAGMA writable_schema = RESET',
    `CREATE TABLE ${BUMP_TABLE} (x)`,
    `DROP TABLE ${BUMP_TABLE}`,
    assert(`${table} has the planned definition`, `(SELECT sql FROM main.sqlite_schema WHERE type = 'table' AND name = ${name}) = ${quoteString(spec.toText)}`),
    assert(`the columns, keys and storage of ${table} are unchanged`, `(SELECT shape FROM ${SHAPE_TABLE} WHERE phase = 'before') = ${shapeOf(spec.table.name)}`),
    assert('PRAGMA quick_check(sqlite_schema) is ok', `(SELECT group_concat(quick_check, '; ') FROM pragma_quick_check('sqlite_schema')) = 'ok'`),
    ...(checks.length ? [rowCheckStatement(spec.table, checks)] : []),
    ...(keys
      ? [`INSERT INTO ${FK_TABLE} ${foreignKeyCheck('after', spec.table.name)}`, assert(`no new foreign key violation in ${table}`, noNewForeignKeyViolation())]
      : []),
  ];
}

/** The one scan of the edited table's rows against the CHECKs its new text adds or changes. */
export function rowCheckStatement(table: TableRef, checks: readonly string[]): string {
  const t = `main.${quoteIdent(table.name)}`;
  return assert(`every row of ${t} satisfies its new CHECKs`, `NOT EXISTS (SELECT 1 FROM ${t} WHERE ${checks.map((c) => `(${c}\n) IS FALSE`).join(' OR ')})`);
}

/**
 * The CHECK expressions the new text has and the old one has not (added or
 * changed), read from the CREATE TABLE texts themselves: nothing else of the
 * journal is taken as SQL when the inverse is rendered again.
 */
export function newChecks(fromText: string, toText: string): string[] {
  const before = new Set(parseCreateTable(fromText).checks.map((c) => c.expr));
  return parseCreateTable(toText)
    .checks.map((c) => c.expr)
    .filter((e) => !before.has(e));
}

/** Whether a foreign key's columns or parent change (an action or a name alone cannot make a row an orphan). */
function keysChange(fromText: string, toText: string): boolean {
  const keysOf = (text: string) =>
    parseCreateTable(text)
      .foreignKeys.map((f) => JSON.stringify([f.columns.map((c) => c.toLowerCase()), f.refTable.toLowerCase(), f.refColumns.map((c) => c.toLowerCase())]))
      .sort();
  const before = keysOf(fromText);
  return keysOf(toText).some((k) => !before.includes(k));
}

/** What must not change when only constraint clauses do: one JSON text from SQLite's own pragmas. */
function shapeOf(table: string): string {
  const t = quoteString(table);
  return (
    `json_array(` +
    `(SELECT json_group_array(json_array(cid, name, type, "notnull", dflt_value, pk, hidden)) FROM pragma_table_xinfo(${t})), ` +
    `(SELECT json_group_array(json_array(name, "unique", origin, partial)) FROM pragma_index_list(${t})), ` +
    `(SELECT json_group_array(json_array(type, ncol, wr, strict)) FROM pragma_table_list(${t}) WHERE schema = 'main'), ` +
    `(SELECT json_group_array(json_array(il.name, ix.seqno, ix.cid, ix.name, ix."desc", ix.coll, ix."key")) FROM pragma_index_list(${t}) AS il, pragma_index_xinfo(il.name) AS ix))`
  );
}

/** The scan of an edited table's rows against its new CHECKs: progress is reported before it. */
export function isRowCheckStatement(statement: string): boolean {
  return assertionOf(statement)?.startsWith('every row of ') === true;
}

/** A step that edits sqlite_schema (the executor lifts defensive mode for it, and backs the file up first). */
export function isSchemaEditStatement(statement: string): boolean {
  return statement === WRITABLE_SCHEMA_ON;
}

/**
 * Whether two CREATE TABLE texts differ only in CHECK and FOREIGN KEY clauses:
 * with every such clause cut out, the rest (name, columns, types, collations,
 * defaults, PRIMARY KEY, UNIQUE, AUTOINCREMENT, WITHOUT ROWID, STRICT, …)
 * must be the same tokens. Anything this cannot read is a difference.
 */
export function onlyConstraintsDiffer(fromText: string, toText: string): boolean {
  try {
    return JSON.stringify(residue(parseCreateTable(fromText))) === JSON.stringify(residue(parseCreateTable(toText)));
  } catch {
    return false;
  }
}

function residue(table: ParsedTable): string[] {
  const cuts = [...table.checks.map((c) => c.span), ...table.foreignKeys.map((f) => f.span)];
  const kept = significant(table.tokens).filter((t) => !cuts.some((s) => t.start >= s.start && t.end <= s.end));
  const first = table.elements[0]?.span.start ?? table.bodyClose;
  const out = kept.filter((t) => t.start < first).map((t) => t.text);
  for (const e of table.elements) {
    const words = kept.filter((t) => t.start >= e.span.start && t.end <= e.span.end).map((t) => t.text);
    if (words.length > 0) out.push(words.join(' '));
  }
  out.push(...kept.filter((t) => t.start >= table.bodyClose && !isOp(t, ',')).map((t) => t.text));
  return out;
}

/**
 * Whether this connection may edit sqlite_schema: better-sqlite3 opens every
 * connection in defensive mode (SQLITE_DBCONFIG_DEFENSIVE), which ignores
 * `PRAGMA writable_schema = ON`; its unsafeMode lifts that. The probe turns
 * writable_schema on and reads it back (nothing is written), then restores both.
 */
export function probeSchemaEdit(db: Database.Database, keepDefensive: boolean): SchemaEditPolicy {
  if (keepDefensive) return { allowed: false, why: 'the connection runs in defensive mode (?defensive=on)' };
  if (typeof db.unsafeMode !== 'function') return { allowed: false, why: 'this SQLite driver cannot lift defensive mode' };
  try {
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    const on = Number(db.pragma('writable_schema', { simple: true })) === 1;
    db.pragma('writable_schema = OFF');
    return on ? { allowed: true } : { allowed: false, why: 'this SQLite library keeps the connection in defensive mode (writable_schema is refused)' };
  } catch {
    return { allowed: false, why: 'writable_schema could not be turned on for this connection' };
  } finally {
    db.unsafeMode(false);
  }
}
