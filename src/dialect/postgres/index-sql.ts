import type { DesiredIndex, IndexKey, OpClass } from '../../schema/types.js';
import { quoteIdent, quoteLiteral } from './quote.js';

/**
 * `(fillfactor = '70')`: option names are proven lower-case words by the
 * manifest's schema and quoted all the same; every value is a string literal,
 * which PostgreSQL parses for numbers and booleans too (it prints
 * `fillfactor='70'` itself), so no value is ever spliced as SQL.
 */
export function optionList(values: Readonly<Record<string, string>>): string {
  return `(${Object.entries(values)
    .map(([k, v]) => `${quoteIdent(k)} = ${quoteLiteral(v)}`)
    .join(', ')})`;
}

function opclassSql(opclass: OpClass): string {
  const params = opclass.params && Object.keys(opclass.params).length ? optionList(opclass.params) : '';
  return ` ${quoteIdent(opclass.name)}${params}`;
}

/** One key part: `email COLLATE "C" text_pattern_ops DESC NULLS LAST`, in the order PostgreSQL's grammar takes them. */
export function renderKey(key: IndexKey): string {
  const target = 'column' in key ? quoteIdent(key.column) : `(${key.expr})`;
  const collate = key.collate !== undefined ? ` COLLATE ${quoteIdent(key.collate)}` : '';
  const opclass = key.opclass ? opclassSql(key.opclass) : '';
  const order = key.desc ? ' DESC' : '';
  const nulls = key.nulls ? ` NULLS ${key.nulls.toUpperCase()}` : '';
  return `${target}${collate}${opclass}${order}${nulls}`;
}

export type IndexDefinition = Pick<DesiredIndex, 'unique' | 'method' | 'keys' | 'where' | 'include' | 'nullsNotDistinct' | 'with'>;

/** CREATE INDEX for a desired index; shared by normalize (plain) and render (CONCURRENTLY). */
export function createIndexSql(name: string, table: string, index: IndexDefinition, concurrently = false): string {
  const unique = index.unique ? 'UNIQUE ' : '';
  const conc = concurrently ? 'CONCURRENTLY ' : '';
  // quoted: a method is a name (checked against pg_am before planning), never SQL text
  const using = index.method && index.method !== 'btree' ? ` USING ${quoteIdent(index.method)}` : '';
  const include = index.include?.length ? ` INCLUDE (${index.include.map(quoteIdent).join(', ')})` : '';
  const nulls = index.nullsNotDistinct ? ' NULLS NOT DISTINCT' : '';
  const withs = index.with && Object.keys(index.with).length ? ` WITH ${optionList(index.with)}` : '';
  const where = index.where ? ` WHERE ${index.where}` : '';
  return `CREATE ${unique}INDEX ${conc}${quoteIdent(name)} ON ${table}${using} (${index.keys.map(renderKey).join(', ')})${include}${nulls}${withs}${where}`;
}
