import type { IndexKey, TableRef } from '../../schema/types.js';
import type { ViolationTarget } from '../dialect.js';
import { quoteIdent, quoteTable } from './quote.js';

/**
 * The SQL validate runs on PostgreSQL, one builder per query. Every user
 * expression is wrapped as `(expr\n)`: the newline ends a trailing `--`
 * comment before the closing parenthesis.
 */

export type CheckTarget = Extract<ViolationTarget, { kind: 'check' }>;
export type ForeignKeyTarget = Extract<ViolationTarget, { kind: 'foreign_key' }>;
export type UniqueTarget = Extract<ViolationTarget, { kind: 'unique' }>;

/** What sample rows show and how they are ordered. */
export interface SampleShape {
  /** Primary key first, then the columns the constraint reads. */
  readonly columns: readonly string[];
  /** The primary key, or every shown column when the table has none (so the order is stable). */
  readonly orderBy: readonly string[];
  readonly limit: number;
}

const FLAG = (i: number) => quoteIdent(`schema_diff:f${i}`);
const KIND = quoteIdent('schema_diff:k');
const wrap = (expr: string) => `(${expr}\n)`;
const list = (columns: readonly string[], alias = '') => columns.map((c) => alias + quoteIdent(c)).join(', ');

/**
 * The rows a check reads: the table, or only its rows from `validate --since`
 * on: `filter` is a condition on a quoted column with the value as parameter
 * $1 (rowFilterSql), never spliced in. The alias lets every query name it alike.
 */
function scanned(table: TableRef, filter: string | undefined, alias: string): string {
  return filter ? `(SELECT * FROM ${quoteTable(table)} WHERE ${filter}) ${alias}` : `${quoteTable(table)} ${alias}`;
}

/** `validate --since`: rows whose column is at or after the value, given as parameter $1. */
export function rowFilterSql(column: string): string {
  return `${quoteIdent(column)} >= $1`;
}

/** `(expr) IS FALSE`, not `NOT (expr)`: a NULL result passes, as it does in the database. */
export const violates = (expr: string) => `${wrap(expr)} IS FALSE`;

/** One scan: the table's row count and one filtered count per CHECK (c0, c1, …). */
export function checkPassSql(table: TableRef, checks: readonly CheckTarget[], filter?: string): string {
  const counts = checks.map((c, i) => `,\n       count(*) FILTER (WHERE ${violates(c.expr)}) AS c${i}`).join('');
  return `SELECT count(*) AS total${counts}\n  FROM ${scanned(table, filter, 't')}`;
}

/**
 * One scan for the samples of every violated CHECK of a table: the violating
 * rows are kept once (MATERIALIZED), then each constraint takes its first rows
 * with a top-N sort. The OFFSET 0 fence makes each expression run once per row.
 */
export function checkSamplesSql(table: TableRef, checks: readonly CheckTarget[], shape: SampleShape, filter?: string): string {
  const flags = checks.map((c, i) => `${violates(c.expr)} AS ${FLAG(i)}`).join(',\n         ');
  const any = checks.map((_, i) => FLAG(i)).join(' OR ');
  const branches = checks.map(
    (_, i) =>
      `(SELECT ${i} AS ${KIND}, ${list(shape.columns)} FROM v WHERE ${FLAG(i)} ORDER BY ${list(shape.orderBy)} LIMIT ${shape.limit})`,
  );
  return [
    `WITH v AS MATERIALIZED (`,
    `  SELECT * FROM (`,
    `    SELECT ${list(shape.columns)},`,
    `         ${flags}`,
    `      FROM ${scanned(table, filter, 't')} OFFSET 0) s`,
    `   WHERE ${any})`,
    branches.join('\nUNION ALL\n'),
  ].join('\n');
}

/** The row's sample kind column, to split the union of check samples. */
export const SAMPLE_KIND = 'schema_diff:k';

/** Rows whose foreign-key columns are all non-null (MATCH SIMPLE) and have no parent. */
function orphans(fk: ForeignKeyTarget, filter?: string): string {
  const notNull = fk.columns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ');
  const join = fk.columns.map((c, i) => `p.${quoteIdent(fk.refColumns[i])} = c.${quoteIdent(c)}`).join(' AND ');
  return `FROM ${scanned(fk.table, filter, 'c')}\n WHERE ${notNull}\n   AND NOT EXISTS (SELECT 1 FROM ${quoteTable(fk.refTable)} p WHERE ${join})`;
}

export function foreignKeyCountSql(fk: ForeignKeyTarget, filter?: string): string {
  return `SELECT count(*) AS n\n  ${orphans(fk, filter)}`;
}

/** The column that carries the orphan count on every sample row. */
export const ORPHANS = 'schema_diff:n';

/**
 * Count and samples in one anti-join: the window count is taken over every
 * orphan before ORDER BY and LIMIT keep the first few. No orphan, no row.
 */
export function foreignKeySamplesSql(fk: ForeignKeyTarget, shape: SampleShape, filter?: string): string {
  return (
    `SELECT *, count(*) OVER () AS ${quoteIdent(ORPHANS)} FROM (SELECT ${list(shape.columns, 'c.')}\n  ${orphans(fk, filter)} OFFSET 0) s\n` +
    ` ORDER BY ${list(shape.orderBy)} LIMIT ${shape.limit}`
  );
}

function keyList(keys: readonly IndexKey[]): string {
  return keys.map((k) => ('column' in k ? quoteIdent(k.column) : wrap(k.expr))).join(', ');
}

/**
 * The rows a unique index would hold entries that can clash: those that satisfy
 * its predicate and whose keys are all non-null (NULLs never clash in a unique index).
 */
function indexedRows(ix: UniqueTarget, filter?: string): string {
  const conditions = ix.keys.map((k) => `${'column' in k ? quoteIdent(k.column) : wrap(k.expr)} IS NOT NULL`);
  if (ix.where) conditions.unshift(wrap(ix.where));
  return `FROM ${scanned(ix.table, filter, 't')} WHERE ${conditions.join(' AND ')}`;
}

function duplicatedKeys(ix: UniqueTarget, filter?: string): string {
  const keys = keyList(ix.keys);
  return `SELECT ${keys} ${indexedRows(ix, filter)} GROUP BY ${keys} HAVING count(*) > 1`;
}

/** Duplicated keys (groups) and the rows in excess of one per key. */
export function uniqueCountSql(ix: UniqueTarget, filter?: string): string {
  const keys = keyList(ix.keys);
  return `SELECT count(*) AS groups, coalesce(sum(n - 1), 0) AS excess\n  FROM (SELECT count(*) AS n ${indexedRows(ix, filter)} GROUP BY ${keys} HAVING count(*) > 1) d`;
}

/** Rows of duplicated keys, a key's rows together. */
export function uniqueSamplesSql(ix: UniqueTarget, shape: SampleShape, filter?: string): string {
  const keys = keyList(ix.keys);
  return `SELECT ${list(shape.columns)}\n  ${indexedRows(ix, filter)}\n   AND (${keys}) IN (${duplicatedKeys(ix, filter)})\n ORDER BY ${keys}, ${list(shape.orderBy)} LIMIT ${shape.limit}`;
}
