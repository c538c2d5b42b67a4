import { SchemaDiffError } from '../errors.js';
import type { Catalog, DesiredTable, Index, Table, TableRef } from '../schema/types.js';
import { findTable, qualifiedName, tableKey } from '../schema/types.js';
import { didYouMean } from '../schema/names.js';

/**
 * Names the manifest uses that the database does not have: every unknown
 * table and column, one line each, before any plan is made.
 */
export function checkAgainstCatalog(desired: readonly DesiredTable[], catalog: Catalog): void {
  const problems: string[] = [];
  const tableNames = catalog.tables.map((t) => t.ref.name);
  const tableOr = (ref: TableRef, path: string): Table | undefined => {
    const t = findTable(catalog, ref);
    if (!t) problems.push(`${path}: table ${qualifiedName(ref)} does not exist${didYouMean(ref.name, tableNames)}`);
    return t;
  };
  const columnsExist = (t: Table, columns: readonly string[], path: string) => {
    const names = t.columns.map((c) => c.name);
    columns.forEach((c, i) => {
      if (!names.includes(c)) {
        problems.push(`${path}[${i}]: unknown column "${c}" in table ${qualifiedName(t.ref)}${didYouMean(c, names)}`);
      }
    });
  };
  for (const want of desired) {
    const t = tableOr(want.ref, want.path);
    if (!t) continue;
    for (const fk of want.foreignKeys) {
      columnsExist(t, fk.columns, `${fk.path}.columns`);
      if (fk.onDeleteColumns?.length) columnsExist(t, fk.onDeleteColumns, `${fk.path}.onDelete.columns`);
      const parent = tableOr(fk.refTable, `${fk.path}.references.table`);
      if (parent) columnsExist(parent, fk.refColumns, `${fk.path}.references.columns`);
    }
    for (const ix of want.indexes) {
      const names = t.columns.map((c) => c.name);
      ix.keys.forEach((k, i) => {
        if ('column' in k && !names.includes(k.column)) {
          problems.push(`${ix.path}.columns[${i}]: unknown column "${k.column}" in table ${qualifiedName(t.ref)}${didYouMean(k.column, names)}`);
        }
      });
      if (ix.include?.length) columnsExist(t, ix.include, `${ix.path}.include`);
    }
  }
  if (problems.length > 0) {
    const head = problems.length === 1 ? problems[0] : `${problems.length} unknown names: ${problems[0]} …`;
    throw new SchemaDiffError('catalog', `manifest ${head}`, problems);
  }
  refuseKeysToDeferredConstraints(desired, catalog);
}

/**
 * PostgreSQL cannot make a foreign key reference a DEFERRABLE UNIQUE
 * constraint: a key whose referenced columns the manifest gives only such a
 * constraint (no primary key or other immediate unique index on exactly those
 * columns, in the database or the manifest) is refused here, not halfway
 * through apply.
 */
function refuseKeysToDeferredConstraints(desired: readonly DesiredTable[], catalog: Catalog): void {
  const sameColumns = (ix: Index, columns: readonly string[]) =>
    ix.keys.length === columns.length && ix.keys.every((k) => 'column' in k && columns.includes(k.column));
  const immediate = (ix: Index) => ix.unique && ix.where === null && !(ix.uniqueConstraint && (ix.deferrable || ix.initiallyDeferred));
  // by table, once: a thousand tables' two thousand keys would otherwise search the manifest two million times
  const indexesOf = new Map(desired.map((d) => [tableKey(d.ref), d.indexes]));
  for (const want of desired) {
    for (const fk of want.foreignKeys) {
      const wanted = indexesOf.get(tableKey(fk.refTable)) ?? [];
      const deferred = wanted.find((ix) => !immediate(ix) && ix.unique && sameColumns(ix, fk.refColumns));
      if (!deferred) continue;
      const live = findTable(catalog, fk.refTable);
      const livePk = live && live.primaryKey.length === fk.refColumns.length && live.primaryKey.every((c) => fk.refColumns.includes(c));
      // a live index the manifest redefines counts as the manifest has it
      const liveOthers = (live?.indexes ?? []).filter((ix) => ix.valid && !wanted.some((w) => w.name === ix.name));
      if (livePk || [...wanted, ...liveOthers].some((ix) => immediate(ix) && sameColumns(ix, fk.refColumns))) continue;
      throw new SchemaDiffError(
        'refused',
        `manifest ${fk.path}: foreign key ${fk.name} references ${qualifiedName(fk.refTable)} (${fk.refColumns.join(', ')}), whose only unique key there is ` +
          `the DEFERRABLE constraint ${deferred.name} (${deferred.path}): PostgreSQL cannot reference a deferrable constraint; nothing was changed`,
      );
    }
  }
}
