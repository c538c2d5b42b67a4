import { SchemaDiffError } from '../errors.js';
import type { Catalog, Relation, TableRef } from '../schema/types.js';
import { qualifiedName, sameTable, tableKey } from '../schema/types.js';

/** A name a plan is about to give an index. */
export interface NewIndexName {
  readonly name: string;
  readonly table: TableRef;
  /** Where in the manifest the index comes from, for the message. */
  readonly path: string;
  /** Set when `name` is a scratch name the dialect builds beside the index `scratchFor`. */
  readonly scratchFor?: string;
  /**
   * An index of this name on the same table is a leftover of our own (a scratch
   * index from a killed replace) that the step drops first: not a collision.
   */
  readonly leftoverIsOurs?: boolean;
}

/**
 * Refuses a plan that would give an index a name already taken in its
 * namespace: the CREATE would fail, and before this check the cleanup of the
 * failed build dropped the other table's index of that name. `fold` gives a
 * name as the database compares it (SQLite folds ASCII case, PostgreSQL does
 * not). Names are looked up in maps: a plan of thousands of indexes against
 * thousands of relations must not compare every pair.
 */
export function refuseIndexNameCollisions(names: readonly NewIndexName[], catalog: Catalog, fold: (name: string) => string = (n) => n): void {
  const key = (schema: string, name: string) => tableKey({ schema, name: fold(name) });
  const relations = new Map<string, Relation[]>();
  for (const r of catalog.relations ?? []) {
    const list = relations.get(key(r.schema, r.name));
    if (list) list.push(r);
    else relations.set(key(r.schema, r.name), [r]);
  }
  const problems: string[] = [];
  const claimed = new Map<string, NewIndexName>();
  for (const n of names) {
    const k = key(n.table.schema, n.name);
    const taken = (relations.get(k) ?? []).find((r) => !(n.leftoverIsOurs && r.kind === 'index' && r.table && sameTable(r.table, n.table)));
    const label = n.scratchFor ? `index name "${n.name}" (the scratch name for rebuilding ${n.scratchFor})` : `index name "${n.name}"`;
    // a scratch-named index that no unfinished run of ours left is someone else's: never dropped or renamed over
    const notOurs = n.scratchFor && taken?.kind === 'index' ? ' (not left by an unfinished schema-diff run: drop or rename it)' : '';
    if (taken) problems.push(`manifest ${n.path}: ${label} is already used by ${describe(taken)}${notOurs}`);
    const twice = claimed.get(k);
    if (twice) problems.push(`manifest ${n.path}: ${label} is also given to an index on ${qualifiedName(twice.table)} (${twice.path})`);
    else claimed.set(k, n);
  }
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw new SchemaDiffError('catalog', `${problems[0]}${more}; index names are shared by every table of a schema; nothing was changed`, problems);
  }
}

function describe(r: Relation): string {
  if (r.kind === 'index') return r.table ? `an index on ${qualifiedName(r.table)}` : 'an index';
  return `${r.kind === 'other' ? 'the relation' : r.kind} ${r.schema}.${r.name}`;
}
