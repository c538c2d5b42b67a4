import type { Change } from '../../diff/changes.js';
import { SchemaDiffError } from '../../errors.js';
import type { Catalog, Index, ReferencingKey, Table } from '../../schema/types.js';
import { findTable, qualifiedName } from '../../schema/types.js';
import { sameName } from './tokenizer.js';

type IndexChange = Extract<Change, { kind: 'create_index' | 'replace_index' | 'rename_index' | 'drop_index' }>;

/**
 * SQLite looks for the parent key of a foreign key at every write to the
 * child: a PRIMARY KEY, or a unique index on exactly the parent columns, not
 * partial, with the columns' own collation. An index change that leaves a
 * key with none makes every insert into the child fail with "foreign key
 * mismatch", while the change itself succeeds. Refuse it at plan, naming the
 * key; the children may be any table of the file, managed or not.
 */
export function refuseOrphanedForeignKeys(changes: readonly IndexChange[], catalog: Catalog): void {
  for (const table of catalog.tables) {
    const own = changes.filter((c) => c.table.name === table.ref.name);
    const removed = own.filter((c) => c.kind !== 'create_index');
    if (removed.length === 0) continue;
    const gone = new Set(removed.map((c) => (c as Exclude<IndexChange, { kind: 'create_index' }>).current.name));
    const after = [...table.indexes.filter((i) => !gone.has(i.name)), ...own.flatMap((c) => ('desired' in c ? [c.desired] : []))];
    for (const key of table.referencedBy ?? []) {
      const culprit = removed.find((c) => 'current' in c && isKeyFor(c.current, key.refColumns));
      if (!culprit || hasParentKey(table, after, key)) continue;
      const what = 'desired' in culprit ? `manifest ${culprit.desired.path}: changing index ${culprit.desired.name}` : `dropping index ${culprit.current.name}`;
      throw new SchemaDiffError(
        'refused',
        `${what} on ${qualifiedName(table.ref)} would leave foreign key ` +
          `${key.name} of ${qualifiedName(key.table)} without a unique key to reference (SQLite needs a PRIMARY KEY or a unique, non-partial ` +
          `index on exactly (${key.refColumns.join(', ')}) with the columns' own collation), and every write to ${key.table.name} would fail ` +
          'with "foreign key mismatch"; keep that index, or add such a key first; nothing was changed',
      );
    }
  }
}

/** The child tables whose foreign keys point at a table: to check with foreign_key_check after it changes. */
export function childTablesOf(catalog: Catalog, table: Table['ref']): string[] {
  const keys = findTable(catalog, table)?.referencedBy ?? [];
  return [...new Set(keys.map((k) => k.table.name).filter((n) => n !== table.name))];
}

function hasParentKey(table: Table, indexes: readonly Index[], key: ReferencingKey): boolean {
  return sameColumns(table.primaryKey, key.refColumns) || indexes.some((ix) => isKeyFor(ix, key.refColumns));
}

function isKeyFor(ix: Index, columns: readonly string[]): boolean {
  // A key part with COLLATE or an expression is an expression key: not the column's own collation.
  const keyColumns = ix.keys.flatMap((k) => ('column' in k ? [k.column] : []));
  return ix.unique && ix.where === null && keyColumns.length === ix.keys.length && sameColumns(keyColumns, columns);
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length > 0 && a.length === b.length && a.every((x) => b.some((y) => sameName(x, y))) && b.every((y) => a.some((x) => sameName(x, y)));
}
