import { SchemaDiffError } from '../../errors.js';
import { dropReason, effectsOf, type Change, type DropReason } from '../../diff/changes.js';
import type { Hazard, Step, StepAction } from '../../plan/types.js';
import type { Catalog, Check, ForeignKey, Index, TableRef } from '../../schema/types.js';
import { findTable, qualifiedName } from '../../schema/types.js';
import { refuseIndexNameCollisions } from '../../diff/index-names.js';
import type { RenderOptions } from '../dialect.js';
import { editCreateTable, type TableEdits } from './edit-table.js';
import type { RawTable } from './introspect.js';
import { createIndexSql } from './normalize.js';
import { quoteIdent } from './quote.js';
import type { SqliteOrigin } from './inverse.js';
import { childTablesOf, refuseOrphanedForeignKeys } from './parent-keys.js';
import { parentKeyChecks, rebuildStatements, type RebuildSpec } from './rebuild.js';
import { onlyConstraintsDiffer, schemaEditStatements, type EditSpec, type SchemaEditPolicy } from './schema-edit.js';
import { foldCase } from './tokenizer.js';

type Draft = Omit<Step, 'id'>;
type ConstraintChange = Extract<
  Change,
  { kind: 'add_check' | 'replace_check' | 'add_foreign_key' | 'replace_foreign_key' | 'rename_foreign_key' | 'drop_check' | 'drop_foreign_key' }
>;
type IndexChange = Extract<Change, { kind: 'create_index' | 'replace_index' | 'rename_index' | 'drop_index' }>;

/**
 * Steps for SQLite. SQLite cannot add, change, rename or drop a CHECK or
 * FOREIGN KEY with ALTER TABLE. Where the table's new CREATE TABLE text differs
 * from its own only in such clauses and the connection may edit the schema,
 * the text is replaced in sqlite_schema without rewriting a row (edit_table,
 * schema-edit.ts), and its indexes are changed directly. Otherwise all the
 * changes of the table become one rebuild step, whose inverse is the rebuild
 * back to the text it had; the table's new indexes are built in that step,
 * once, after the copy, and a rollback undoes the table as one piece. Indexes
 * of other tables are created and dropped directly, one step each.
 */
export function renderSqlite(
  changes: readonly Change[],
  catalog: Catalog,
  raw: ReadonlyMap<string, RawTable>,
  options: RenderOptions = {},
  edit: SchemaEditPolicy = { allowed: false, why: 'no connection was probed' },
): Step[] {
  refuseNotValid(options);
  refuseUniqueConstraintChanges(changes);
  const indexChanges = changes.filter(isIndexChange);
  if (!options.definitionsOnly) {
    refuseIndexNameCollisions(
      indexChanges.flatMap((c) => (c.kind === 'replace_index' || c.kind === 'drop_index' ? [] : [{ name: c.desired.name, table: c.table, path: c.desired.path }])),
      catalog,
      foldCase,
    );
    refuseOrphanedForeignKeys(indexChanges, catalog);
  }
  const rebuilt = new Map<string, { constraints: ConstraintChange[]; indexes: IndexChange[] }>();
  for (const c of changes) {
    if (isConstraintChange(c)) {
      const entry = rebuilt.get(c.table.name) ?? { constraints: [], indexes: [] };
      entry.constraints.push(c);
      rebuilt.set(c.table.name, entry);
    }
    // validate_check / validate_foreign_key: SQLite has no NOT VALID constraint, so the catalog never asks for one
  }
  for (const c of changes) {
    if (isIndexChange(c)) rebuilt.get(c.table.name)?.indexes.push(c);
  }
  const tableSteps = [...rebuilt.values()].map(({ constraints, indexes }) => {
    const table = constraints[0].table;
    const r = rawOf(raw, table);
    const toText = textAfter(constraints, r);
    const why = edit.allowed ? (onlyConstraintsDiffer(r.sql, toText) ? null : 'more than CHECK and FOREIGN KEY clauses would differ') : edit.why;
    if (why === null) return { edited: true, step: editStep(constraints, r, toText, indexesAfter(r, indexes)) };
    return { edited: false, step: rebuildStep(constraints, indexes, r, toText, findTable(catalog, table)?.rowEstimate ?? -1, childTablesOf(catalog, table), why) };
  });
  const rebuiltTables = new Set([...rebuilt.keys()].filter((_, i) => !tableSteps[i].edited));
  const indexSteps = changes
    .filter(isIndexChange)
    .filter((c) => !rebuiltTables.has(c.table.name))
    .map((c) => indexStep(c, rawOf(raw, c.table), childTablesOf(catalog, c.table)));
  // index steps first: an edited table's guard expects the indexes they leave
  return [...indexSteps, ...tableSteps.map((t) => t.step)].map((s, i) => ({ id: i + 1, ...s }));
}

const CONSTRAINT_KINDS = new Set<Change['kind']>(['add_check', 'replace_check', 'add_foreign_key', 'replace_foreign_key', 'rename_foreign_key', 'drop_check', 'drop_foreign_key']);
const INDEX_KINDS = new Set<Change['kind']>(['create_index', 'replace_index', 'rename_index', 'drop_index']);

function isConstraintChange(c: Change): c is ConstraintChange {
  return CONSTRAINT_KINDS.has(c.kind);
}

function isIndexChange(c: Change): c is IndexChange {
  return INDEX_KINDS.has(c.kind);
}

/** The name of the object a change leaves (a drop: the one it removes). */
function nameOf(c: ConstraintChange | IndexChange): string {
  return 'desired' in c ? c.desired.name : c.current.name;
}

/**
 * A table-level UNIQUE is its autoindex: SQLite cannot drop, rename or add
 * one without rebuilding the table, which schema-diff does for CHECKs and
 * foreign keys only. The manifest can describe it as it is, not change it.
 */
function refuseUniqueConstraintChanges(changes: readonly Change[]): void {
  const problems = changes.flatMap((c) =>
    c.kind === 'replace_unique_constraint' || c.kind === 'add_unique_constraint'
      ? [`manifest ${c.desired.path}: ${c.current.name} on ${qualifiedName(c.table)} is a table's UNIQUE constraint, which SQLite changes only by rebuilding the table; describe it as it is (${c.current.keys.map((k) => ('column' in k ? k.column : k.expr)).join(', ')}), or give the new index another name`]
      : [],
  );
  if (problems.length > 0) throw new SchemaDiffError('refused', `${problems[0]}; nothing was changed`, problems);
}

function refuseNotValid(options: RenderOptions): void {
  const names = [...(options.skipValidation ?? [])];
  if (names.length === 0) return;
  throw new SchemaDiffError(
    'refused',
    `SQLite has no NOT VALID: a constraint is checked against every row when the table is rebuilt, and existing rows violate ${names.join(', ')}; fix those rows first (see schema-diff validate); nothing was changed`,
  );
}

function rawOf(raw: ReadonlyMap<string, RawTable>, table: TableRef): RawTable {
  const found = raw.get(table.name);
  if (!found) throw new Error(`${qualifiedName(table)} was not introspected by this SQLite dialect`);
  return found;
}

function step(action: StepAction, table: TableRef, name: string, fields: Omit<Draft, 'action' | 'table' | 'name'>): Draft {
  return { action, table: qualifiedName(table), name, ...fields };
}

const indexLock = (t: TableRef) => `write lock on the database file while the index on ${qualifiedName(t)} builds; readers continue in WAL mode`;

function indexStep(change: IndexChange, raw: RawTable, children: readonly string[]): Draft {
  const effects = effectsOf(change);
  if (change.kind === 'drop_index') return { ...dropIndexStep(change.current, change.why, raw, children), effects };
  return { ...keptIndexStep(change, raw, children), effects };
}

function dropIndexStep(current: Index, why: DropReason, raw: RawTable, children: readonly string[]): Draft {
  const restore = raw.indexes.find((i) => i.name === current.name)?.sql ?? createIndexSql(current.name, quoteIdent(current.table.name), current);
  return step('drop_index', current.table, current.name, {
    objects: [current.name],
    reason: dropReason(why, 'index'),
    sql: [dropIndexStatement(current.name), ...parentKeyChecks(children)],
    inverse: [restore, ...parentKeyChecks(children)],
    transactional: true,
    lockTimeout: true,
    lock: `write lock on the database file while the index on ${qualifiedName(current.table)} is dropped; readers continue in WAL mode`,
    hazards: ['DROPS_INDEX'],
    before: restore,
    origin: { kind: 'restore_index', restore, children } satisfies SqliteOrigin,
  });
}

function keptIndexStep(change: Exclude<IndexChange, { kind: 'drop_index' }>, raw: RawTable, children: readonly string[]): Draft {
  const desired = change.desired;
  const create = createIndexSql(desired.name, quoteIdent(desired.table.name), desired);
  const drop = dropIndexStatement;
  if (change.kind === 'create_index') {
    return step('create_index', desired.table, desired.name, {
      objects: [desired.name],
      reason: 'index in manifest, missing from database',
      sql: [create],
      inverse: [drop(desired.name)],
      transactional: true,
      lockTimeout: true,
      lock: indexLock(desired.table),
      hazards: ['INDEX_BUILD'],
      after: create,
      origin: { kind: 'index', drop: desired.name } satisfies SqliteOrigin,
    });
  }
  const current = change.current;
  const before = raw.indexes.find((i) => i.name === current.name)?.sql ?? createIndexSql(current.name, quoteIdent(current.table.name), current);
  const renamed = change.kind === 'rename_index';
  return step(change.kind, desired.table, desired.name, {
    objects: renamed ? [desired.name, current.name] : [desired.name],
    // SQLite has no ALTER INDEX … RENAME: both are a drop and a create, in the apply's one transaction
    reason: renamed ? `same index exists as ${current.name} (SQLite renames an index by building it again)` : 'index definition differs from manifest',
    sql: [drop(current.name), create, ...parentKeyChecks(children)],
    inverse: [drop(desired.name), before, ...parentKeyChecks(children)],
    transactional: true,
    lockTimeout: true,
    lock: indexLock(desired.table),
    hazards: ['INDEX_BUILD', 'INDEX_DROPPED'],
    before,
    after: create,
    origin: { kind: 'index', drop: desired.name, restore: before, children } satisfies SqliteOrigin,
  });
}

export function dropIndexStatement(name: string): string {
  return `DROP INDEX IF EXISTS main.${quoteIdent(name)}`;
}

/** The indexes a rebuilt table ends with: its own, less those replaced, plus the new ones. */
function indexesAfter(raw: RawTable, changes: readonly IndexChange[]): Array<{ name: string; sql: string }> {
  const removed = new Set(changes.flatMap((c) => (c.kind === 'create_index' ? [] : [c.current.name])));
  const added = changes.flatMap((c) => (c.kind === 'drop_index' ? [] : [{ name: c.desired.name, sql: createIndexSql(c.desired.name, quoteIdent(c.desired.table.name), c.desired) }]));
  return [...raw.indexes.filter((i) => !removed.has(i.name)), ...added];
}

/** The table's CREATE TABLE text with only the managed constraints edited. */
function textAfter(group: readonly ConstraintChange[], raw: RawTable): string {
  if (!raw.parsed) {
    throw new SchemaDiffError('catalog', `cannot rebuild ${qualifiedName(raw.ref)}: its definition is not a CREATE TABLE with a column list`);
  }
  return editCreateTable(raw.parsed, editsOf(group, raw));
}

/** The objects a table step names: those it leaves, and those it replaces or drops. */
function objectsOf(all: readonly (ConstraintChange | IndexChange)[]): string[] {
  return [...new Set([...all.map(nameOf), ...all.flatMap((c) => ('current' in c ? [c.current.name] : []))])];
}

function changesActions(group: readonly ConstraintChange[]): boolean {
  return group.some((c) => 'current' in c && 'desired' in c && 'onDelete' in c.current && 'onDelete' in c.desired && !sameActions(c.current, c.desired));
}

const dropsConstraint = (group: readonly ConstraintChange[]) => group.some((c) => c.kind === 'drop_check' || c.kind === 'drop_foreign_key');

/** The new text stored in place of the old; no row is copied (schema-edit.ts). */
function editStep(group: readonly ConstraintChange[], raw: RawTable, toText: string, indexes: EditSpec['indexes']): Draft {
  const table = raw.ref;
  const specOf = (fromText: string, to: string): EditSpec => ({ table, fromText, toText: to, indexes, triggers: raw.triggers });
  const back = specOf(toText, raw.sql);
  const drops = dropsConstraint(group);
  return step('edit_table', table, table.name, {
    objects: objectsOf(group),
    reason:
      `SQLite cannot change constraints with ALTER TABLE: ${summary(group, [])}, by replacing the CREATE TABLE text of ${qualifiedName(table)} ` +
      'in sqlite_schema (only CHECK and FOREIGN KEY clauses differ, so no row is rewritten); one scan then checks every row' +
      (drops ? `; ${dropNote(group)}` : ''),
    sql: schemaEditStatements(specOf(raw.sql, toText)),
    inverse: schemaEditStatements(back),
    transactional: true,
    lockTimeout: true,
    lock: `write lock on the database file while the rows of ${qualifiedName(table)} are checked; readers continue in WAL mode, otherwise until commit`,
    hazards: [
      'TABLE_SCAN',
      ...(changesActions(group) ? (['CHANGES_DELETE_BEHAVIOUR'] as Hazard[]) : []),
      ...(drops ? (['DROPS_CONSTRAINT'] as Hazard[]) : []),
    ],
    before: raw.sql,
    after: toText,
    origin: { kind: 'edit', back } satisfies SqliteOrigin,
    effects: group.flatMap(effectsOf),
  });
}

function rebuildStep(
  group: readonly ConstraintChange[],
  indexChanges: readonly IndexChange[],
  raw: RawTable,
  toText: string,
  rows: number,
  children: readonly string[],
  noEdit: string,
): Draft {
  const table = raw.ref;
  const newIndexes = indexesAfter(raw, indexChanges);
  const specOf = (fromText: string, to: string, before: RebuildSpec['indexesBefore'], after: RebuildSpec['indexesAfter']): RebuildSpec => ({
      table,
      fromText,
      toText: to,
      indexesBefore: before,
      indexesAfter: after,
      triggers: raw.triggers,
      views: raw.views,
      copyColumns: raw.copyColumns,
      rowidName: raw.rowidName,
      autoincrement: raw.parsed?.autoincrement ?? false,
      children,
    });
  const back = specOf(toText, raw.sql, newIndexes, raw.indexes);
  const all = [...group, ...indexChanges];
  const actionsChange = changesActions(group);
  const drops = dropsConstraint(group);
  const dropsIndex = indexChanges.some((c) => c.kind === 'drop_index');
  return step('rebuild_table', table, table.name, {
    objects: objectsOf(all),
    reason:
      `SQLite cannot change constraints in place: ${summary(group, indexChanges)}, by rebuilding ${qualifiedName(table)} with only these edited ` +
      `(not by editing its definition in place: ${noEdit})` +
      (drops || dropsIndex ? `; ${dropNote(all)}` : ''),
    sql: rebuildStatements(specOf(raw.sql, toText, raw.indexes, newIndexes)),
    inverse: rebuildStatements(back),
    transactional: true,
    lockTimeout: true,
    lock:
      `write lock on the database file while ${rows >= 0 ? `about ${rows} rows` : 'the rows'} of ${qualifiedName(table)} are copied ` +
      'and its indexes rebuilt; readers continue in WAL mode, otherwise until commit',
    hazards: [
      'TABLE_REBUILD',
      ...(indexChanges.some((c) => c.kind !== 'drop_index') ? (['INDEX_BUILD'] as Hazard[]) : []),
      ...(actionsChange ? (['CHANGES_DELETE_BEHAVIOUR'] as Hazard[]) : []),
      ...(drops ? (['DROPS_CONSTRAINT'] as Hazard[]) : []),
      ...(dropsIndex ? (['DROPS_INDEX'] as Hazard[]) : []),
    ],
    before: raw.sql,
    after: toText,
    origin: { kind: 'rebuild', back } satisfies SqliteOrigin,
    effects: all.flatMap(effectsOf),
  });
}

/** What the drops of a rebuild are for: "was in the manifest, removed" and/or --prune. */
function dropNote(changes: readonly (ConstraintChange | IndexChange)[]): string {
  const drops = changes.flatMap((c) => ('why' in c ? [{ name: c.current.name, why: c.why }] : []));
  const names = (why: DropReason) => drops.filter((d) => d.why === why).map((d) => d.name);
  return [
    ...(names('removed').length ? [`drops ${names('removed').join(', ')}: was in the manifest, removed (created by schema-diff)`] : []),
    ...(names('prune').length ? [`drops ${names('prune').join(', ')}: not in the manifest (--prune)`] : []),
  ].join('; ');
}

function editsOf(group: readonly ConstraintChange[], raw: RawTable): TableEdits {
  const textOf = (fk: ForeignKey) => {
    const found = raw.foreignKeyText.get(fk.name);
    if (!found) throw new SchemaDiffError('catalog', `cannot find foreign key ${fk.name} in the CREATE TABLE text of ${qualifiedName(raw.ref)}`);
    return found;
  };
  const checkTextOf = (ck: Check) => {
    const found = raw.checkText.get(ck.name);
    if (!found) throw new SchemaDiffError('catalog', `cannot find CHECK ${ck.name} in the CREATE TABLE text of ${qualifiedName(raw.ref)}`);
    return found;
  };
  const checks = group.filter((c): c is Extract<ConstraintChange, { desired: Check }> => c.kind === 'add_check' || c.kind === 'replace_check');
  const fks = group.filter((c): c is Extract<ConstraintChange, { desired: ForeignKey }> => c.kind === 'add_foreign_key' || c.kind === 'replace_foreign_key' || c.kind === 'rename_foreign_key');
  const constraintName = (o: Check | ForeignKey) => (o.unnamed ? null : o.name);
  return {
    replaceChecks: checks.filter((c) => c.kind === 'replace_check').map((c) => ({ name: c.desired.name, expr: c.desired.expr })),
    addChecks: checks.filter((c) => c.kind === 'add_check').map((c) => ({ name: constraintName(c.desired), expr: c.desired.expr })),
    removeChecks: group.flatMap((c) => (c.kind === 'drop_check' ? [checkTextOf(c.current)] : [])),
    removeForeignKeys: [
      ...fks.flatMap((c) => ('current' in c ? [textOf(c.current)] : [])),
      ...group.flatMap((c) => (c.kind === 'drop_foreign_key' ? [textOf(c.current)] : [])),
    ],
    addForeignKeys: fks.map((c) => c.desired),
  };
}

function sameActions(a: ForeignKey, b: ForeignKey): boolean {
  return a.onDelete === b.onDelete && a.onUpdate === b.onUpdate;
}

function summary(group: readonly ConstraintChange[], indexes: readonly IndexChange[]): string {
  const label: Record<ConstraintChange['kind'] | IndexChange['kind'], string> = {
    drop_check: 'drop CHECK',
    drop_foreign_key: 'drop FOREIGN KEY',
    drop_index: 'drop INDEX',
    add_check: 'add CHECK',
    replace_check: 'replace CHECK',
    add_foreign_key: 'add FOREIGN KEY',
    replace_foreign_key: 'replace FOREIGN KEY',
    rename_foreign_key: 'name FOREIGN KEY',
    create_index: 'create INDEX',
    replace_index: 'replace INDEX',
    rename_index: 'rename INDEX',
  };
  const counts = new Map<string, number>();
  for (const c of [...group, ...indexes]) counts.set(label[c.kind], (counts.get(label[c.kind]) ?? 0) + 1);
  return [...counts].map(([what, n]) => `${what} ×${n}`).join(', ');
}
