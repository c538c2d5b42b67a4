import { createHash } from 'node:crypto';
import type { DesiredIndex, Index, Table, TableRef } from '../../schema/types.js';
import { tableKey } from '../../schema/types.js';
import { createIndexSql } from './index-sql.js';

/**
 * What normalization takes from the database for an index; every other field
 * comes from the manifest. A new field the database prints in its own way goes here.
 */
export type NormalizedIndexFields = Pick<Index, 'keys' | 'where' | 'method' | 'include' | 'nullsNotDistinct' | 'with'>;

export function normalizedIndexFields(ix: Index): NormalizedIndexFields {
  const { keys, where, method, include, nullsNotDistinct, with: storage } = ix;
  return { keys, where, method, include, nullsNotDistinct, with: storage };
}

/** The statement that normalizes an index, on placeholder names: it holds everything the result depends on. */
export function indexProbe(index: DesiredIndex): string {
  return createIndexSql('sd_probe', 'sd_table', { ...index, ...index.source });
}

const shapes = new WeakMap<Table, string>();

/**
 * The columns an expression is parsed against: tables of one shape normalize
 * alike (they share one temporary table), and a cache entry recorded before a
 * column was added or changed type no longer answers.
 */
export function tableShape(table: Table): string {
  let shape = shapes.get(table);
  if (shape === undefined) {
    const columns = JSON.stringify(table.columns.map((c) => [c.name, c.type]));
    shape = createHash('sha256').update(columns).digest('hex').slice(0, 32);
    shapes.set(table, shape);
  }
  return shape;
}

/** The catalog's tables by name, for lookups that a thousand tables make too many to search one by one. */
export type LiveTables = ReadonlyMap<string, Table>;

export function liveTables(tables: readonly Table[]): LiveTables {
  return new Map(tables.map((t) => [tableKey(t.ref), t]));
}

export function liveTable(live: LiveTables, ref: TableRef): Table | undefined {
  return live.get(tableKey(ref));
}

