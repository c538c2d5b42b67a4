import { createHash } from 'node:crypto';
import type { Catalog, Table } from '../schema/types.js';

/**
 * A digest of the catalog objects a plan depends on: the managed tables'
 * columns, constraints and indexes. Row estimates are left out (ANALYZE changes
 * them without changing what the plan must do).
 */
export function fingerprintCatalog(catalog: Catalog): string {
  const tables = [...catalog.tables]
    .map(stable)
    .sort((a, b) => (a.ref.schema + '.' + a.ref.name).localeCompare(b.ref.schema + '.' + b.ref.name));
  return 'sha256:' + createHash('sha256').update(JSON.stringify(tables)).digest('hex');
}

function stable(t: Table) {
  const byName = <T extends { name: string }>(xs: readonly T[]) => [...xs].sort((a, b) => a.name.localeCompare(b.name));
  return {
    ref: t.ref,
    columns: t.columns,
    primaryKey: t.primaryKey,
    checks: byName(t.checks),
    foreignKeys: byName(t.foreignKeys),
    indexes: byName(t.indexes),
  };
}
