import type { TableRef } from '../../schema/types.js';
import { quoteIdent, quoteString } from './quote.js';
import { significant, tokenize } from './tokenizer.js';

/** Everything one rebuild of a table needs to know, all of it read at plan time. */
export interface RebuildSpec {
  readonly table: TableRef;
  /** The CREATE TABLE text the table must have now: anything else and the step refuses. */
  readonly fromText: string;
  /** The CREATE TABLE text it gets: its own text with only managed constraints edited. */
  readonly toText: string;
  /** The indexes the table must have now (DROP TABLE takes them with it)… */
  readonly indexesBefore: ReadonlyArray<{ readonly name: string; readonly sql: string }>;
  /** …and the ones it gets, each built once, after the copy: the old ones, less those replaced, plus the new. */
  readonly indexesAfter: ReadonlyArray<{ readonly name: string; readonly sql: string }>;
  /** Triggers on the table: they must be there now, and are re-created from these texts. */
  readonly triggers: ReadonlyArray<{ readonly name: string; readonly sql: string }>;
  readonly views: readonly string[];
  readonly copyColumns: readonly string[];
  readonly rowidName: string | null;
  readonly autoincrement: boolean;
  /** Other tables whose foreign keys reference this one: checked to still find their parent key. */
  readonly children?: readonly string[];
}

const ASSERT_TABLE = 'temp.schema_diff_assert';
export const CREATE_ASSERT_TABLE = `CREATE TEMP TABLE IF NOT EXISTS schema_diff_assert (what TEXT NOT NULL, ok INTEGER NOT NULL, CONSTRAINT schema_diff_safety_check CHECK (ok))`;
export const FK_TABLE = 'temp.schema_diff_fk_check';
export const CREATE_FK_TABLE = `CREATE TEMP TABLE IF NOT EXISTS schema_diff_fk_check (phase TEXT NOT NULL, tbl TEXT, rid INTEGER, parent TEXT)`;
export const OLD_PREFIX = 'schema_diff_old_';

/**
 * The rebuild as plain statements, the same ones `apply` runs and the printed
 * script contains. It follows sqlite.org's "other kinds of table schema
 * changes", with the old table moved aside rather than the new one renamed
 * into place, so that the new CREATE TABLE text is stored exactly as written:
 * with foreign_keys OFF (set by the caller, outside the transaction) and
 * legacy_alter_table ON, renaming the old table rewrites no reference to it in
 * other tables, triggers or views, and dropping it afterwards fires no
 * ON DELETE action (the drizzle-kit bug). Each safety check is an INSERT into a
 * TEMP table whose CHECK fails when the condition is false, so the script
 * stops (sqlite3 .bail on) exactly where apply stops.
 */
export function rebuildStatements(spec: RebuildSpec): string[] {
  const name = spec.table.name;
  const table = `main.${quoteIdent(name)}`;
  const oldName = OLD_PREFIX + name;
  const old = `main.${quoteIdent(oldName)}`;
  const columns = [...(spec.rowidName ? [spec.rowidName] : []), ...spec.copyColumns].map(quoteIdent).join(', ');
  return [
    CREATE_ASSERT_TABLE,
    CREATE_FK_TABLE,
    assert(`${table}, its indexes and triggers are as the plan expects`, guard(spec)),
    `DELETE FROM ${FK_TABLE}`,
    // Its own foreign keys are what a rebuild can break; the rows its children point at are copied verbatim, and counted.
    `INSERT INTO ${FK_TABLE} ${foreignKeyCheck('before', name)}`,
    'PRAGMA legacy_alter_table = ON',
    `ALTER TABLE ${table} RENAME TO ${quoteIdent(oldName)}`,
    spec.toText,
    `INSERT INTO ${table} (${columns}) SELECT ${columns} FROM ${old}`,
    assert(`every row of ${table} was copied`, `(SELECT count(*) FROM ${table}) = (SELECT count(*) FROM ${old})`),
    ...(spec.autoincrement
      ? [
          // keep the AUTOINCREMENT high-water mark: ids of deleted rows are never handed out again
          `DELETE FROM main.sqlite_sequence WHERE name = ${quoteString(name)}`,
          `UPDATE main.sqlite_sequence SET name = ${quoteString(name)} WHERE name = ${quoteString(oldName)}`,
        ]
      : []),
    `DROP TABLE ${old}`,
    'PRAGMA legacy_alter_table = OFF',
    ...spec.indexesAfter.map((i) => i.sql),
    ...spec.triggers.map((t) => t.sql),
    assert(
      `nothing in the schema refers to ${oldName}`,
      `NOT EXISTS (SELECT 1 FROM main.sqlite_master WHERE instr(lower(sql), lower(${quoteString(oldName)})) > 0)`,
    ),
    ...spec.views.map((v) => assert(`view ${v} still works`, `(SELECT count(*) FROM (SELECT 1 FROM main.${quoteIdent(v)} LIMIT 1)) >= 0`)),
    `INSERT INTO ${FK_TABLE} ${foreignKeyCheck('after', name)}`,
    assert(`no new foreign key violation in ${table}`, noNewForeignKeyViolation()),
    ...childKeyAssertions(spec.children ?? []),
  ];
}

/**
 * After a change to a parent's table or indexes: foreign_key_check on each
 * child raises "foreign key mismatch" when a key no longer finds a unique key
 * to reference, which stops the apply (rows are not compared: an index change
 * cannot make one violate).
 */
export function parentKeyChecks(children: readonly string[]): string[] {
  return children.length === 0 ? [] : [CREATE_ASSERT_TABLE, ...childKeyAssertions(children)];
}

function childKeyAssertions(children: readonly string[]): string[] {
  return children.map((c) =>
    assert(`the foreign keys of ${c} still find their parent key`, `(SELECT count(*) FROM pragma_foreign_key_check(${quoteString(c)}, 'main')) >= 0`),
  );
}

/** True when foreign_key_check found nothing 'after' that it did not find 'before'. */
export function noNewForeignKeyViolation(): string {
  return (
    `NOT EXISTS (SELECT tbl, rid, parent FROM ${FK_TABLE} WHERE phase = 'after' EXCEPT SELECT tbl, rid, parent FROM ${FK_TABLE} WHERE phase = 'before') ` +
    `AND (SELECT count(*) FROM ${FK_TABLE} WHERE phase = 'after') <= (SELECT count(*) FROM ${FK_TABLE} WHERE phase = 'before')`
  );
}

export function assert(what: string, condition: string): string {
  return `INSERT INTO ${ASSERT_TABLE} (what, ok) SELECT ${quoteString(what)}, coalesce((${condition}), 0)`;
}

/** The table's text, and exactly the indexes and triggers the plan saw (by name and text). */
export function guard(spec: Pick<RebuildSpec, 'table' | 'fromText' | 'indexesBefore' | 'triggers'>): string {
  const name = quoteString(spec.table.name);
  const objects = [...spec.indexesBefore.map((i) => ({ ...i, type: 'index' })), ...spec.triggers.map((t) => ({ ...t, type: 'trigger' }))];
  const parts = [
    `(SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ${name}) = ${quoteString(spec.fromText)}`,
    `(SELECT count(*) FROM main.sqlite_master WHERE tbl_name = ${name} AND type IN ('index', 'trigger') AND sql IS NOT NULL) = ${objects.length}`,
  ];
  if (objects.length > 0) {
    const each = objects.map((o) => `(type = '${o.type}' AND name = ${quoteString(o.name)} AND sql = ${quoteString(o.sql)})`).join(' OR ');
    parts.push(`(SELECT count(*) FROM main.sqlite_master WHERE tbl_name = ${name} AND (${each})) = ${objects.length}`);
  }
  return parts.join(' AND ');
}

export function foreignKeyCheck(phase: 'before' | 'after', table: string): string {
  return `SELECT '${phase}', "table", rowid, parent FROM pragma_foreign_key_check(${quoteString(table)}, 'main')`;
}

/** The statement that moves a table aside: a step with one rebuilds a table (a backup is written first). */
export function isRebuildStatement(statement: string): boolean {
  return /^ALTER TABLE .+ RENAME TO "?schema_diff_old_/s.test(statement);
}

/** The copy statement of a rebuild: progress is reported around it. */
export function isCopyStatement(statement: string): boolean {
  return /^INSERT INTO main\..+ SELECT .+ FROM main\."?schema_diff_old_/s.test(statement);
}

/** The text of an assertion, for the message when it fails. */
export function assertionOf(statement: string): string | null {
  if (!statement.startsWith(`INSERT INTO ${ASSERT_TABLE} `)) return null;
  return significant(tokenize(statement)).find((t) => t.kind === 'string')?.value ?? null;
}
