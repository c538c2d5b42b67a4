import type { Catalog, DesiredForeignKey, DesiredTable, Index } from '../schema/types.js';
import { findTable, qualifiedName } from '../schema/types.js';
import type { PlanWarning } from './changes.js';

/** PostgreSQL's identifier limit: a suggested name must fit it (SQLite has none, and is served by the same name). */
const MAX_NAME_BYTES = 63;
const utf8 = new TextEncoder();

/**
 * FK_WITHOUT_INDEX: a managed foreign key whose referencing columns lead no
 * index, in the manifest or in the database. Every delete (or key update) of
 * a parent row then scans the child table for referencing rows, under the
 * parent's lock: MeStore's plan promises "Indexes added for FK columns" for
 * this. Only a full (not partial) index whose first columns are the key's, in
 * any order, serves that lookup; an index the manifest replaces counts in its
 * manifest shape.
 */
export function foreignKeysWithoutIndex(desired: readonly DesiredTable[], catalog: Catalog): PlanWarning[] {
  const taken = new Set([...(catalog.relations ?? []).map((r) => r.name), ...desired.flatMap((t) => t.indexes.map((ix) => ix.name))]);
  const warnings: PlanWarning[] = [];
  for (const want of desired) {
    const live = findTable(catalog, want.ref);
    if (!live) continue;
    const replaced = new Set(want.indexes.map((ix) => ix.name));
    const indexes: readonly Index[] = [...want.indexes, ...live.indexes.filter((ix) => ix.valid && !replaced.has(ix.name))];
    for (const fk of want.foreignKeys) {
      if (indexes.some((ix) => leadsWith(ix, fk.columns))) continue;
      const name = freeName(`ix_${want.ref.name}_${fk.columns.join('_')}`, taken);
      taken.add(name);
      warnings.push(warningOf(fk, name));
    }
  }
  return warnings;
}

function leadsWith(ix: Index, columns: readonly string[]): boolean {
  if (ix.where !== null || ix.keys.length < columns.length) return false;
  const lead = ix.keys.slice(0, columns.length).map((k) => ('column' in k ? k.column : null));
  return columns.every((c) => lead.includes(c));
}

function warningOf(fk: DesiredForeignKey, index: string): PlanWarning {
  const table = qualifiedName(fk.table);
  const cols = fk.columns.join(', ');
  const spec = `{ name: '${index}', columns: [${fk.columns.map((c) => `'${c}'`).join(', ')}] }`;
  return {
    hazard: 'FK_WITHOUT_INDEX',
    table,
    object: fk.name,
    path: fk.path,
    message:
      `foreign key ${fk.name} on ${table} (${cols}) has no index whose leading columns are (${cols}): ` +
      `every delete or key update of a ${qualifiedName(fk.refTable)} row scans ${table}; add ${spec} to the manifest's indexes of ${fk.table.name}`,
    suggestion: { index: { name: index, columns: [...fk.columns] } },
  };
}

/** The name, or the name with _2, _3 … when taken, cut to PostgreSQL's 63 bytes. */
function freeName(base: string, taken: ReadonlySet<string>): string {
  for (let n = 1; ; n++) {
    const suffix = n === 1 ? '' : `_${n}`;
    let name = base;
    while (utf8.encode(name + suffix).length > MAX_NAME_BYTES) name = name.slice(0, -1);
    if (!taken.has(name + suffix)) return name + suffix;
  }
}
