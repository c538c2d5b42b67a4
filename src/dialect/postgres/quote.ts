import type { TableRef } from '../../schema/types.js';

// Keywords that cannot stand unquoted as a column or table name in PostgreSQL.
const RESERVED = new Set(
  `all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation column
   concurrently constraint create cross current_catalog current_date current_role current_schema current_time
   current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign freeze from
   full grant group having ilike in initially inner intersect into is isnull join lateral leading left like limit localtime
   localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references returning
   right select session_user similar some symmetric system_user table tablesample then to trailing true union unique user
   using variadic verbose when where window with`.split(/\s+/),
);

/** An identifier as PostgreSQL's quote_ident would write it: bare when it can be. */
export function quoteIdent(name: string): string {
  if (/^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name)) return name;
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteTable(ref: TableRef): string {
  return `${quoteIdent(ref.schema)}.${quoteIdent(ref.name)}`;
}

/**
 * A string literal the way PostgreSQL's quote_literal writes it: quotes
 * doubled, and where there is a backslash, doubled too in an E'' literal,
 * which reads the same whether standard_conforming_strings is on (as in
 * schema-diff's sessions) or off (a printed script run in a session where a
 * role or database turned it off). Free text (comments) goes through here.
 */
export function quoteLiteral(value: string): string {
  const quoted = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}

export function quoteColumns(columns: readonly string[]): string {
  return columns.map(quoteIdent).join(', ');
}
