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

/** A foreign key counted in a table's pass, and whether its parent key is provably unique (then joined as it is). */
export interface PassKey {
  readonly fk: ForeignKeyTarget;
  readonly parentUnique: boolean;
}

const PASS_CHECK = (i: number) => quoteIdent(`schema_diff:c${i}`);
const PASS_KEYED = (i: number) => quoteIdent(`schema_diff:k${i}`);
const PASS_KEY = (i: number, j: number) => quoteIdent(`schema_diff:k${i}_${j}`);

/**
 * One scan of the table for its row count (total), every CHECK (c0, c1, …)
 * and every foreign key (f0, f1, …). A key is an outer join against its
 * parent: a row whose key columns are all non-null (MATCH SIMPLE) and that
 * finds no parent is an orphan. The table's columns are read in an inner
 * select, so a CHECK naming a column the parent also has still means the
 * child's. A parent key not known to be unique is joined through DISTINCT,
 * so that no child row is counted twice.
 */
export function tablePassSql(table: TableRef, checks: readonly CheckTarget[], keys: readonly PassKey[], filter?: string): string {
  if (checks.length === 0 && keys.length === 0) return `SELECT count(*) AS total\n  FROM ${scanned(table, filter, 't')}`;
  const inner = [
    ...checks.map((c, i) => `${violates(c.expr)} AS ${PASS_CHECK(i)}`),
    ...keys.flatMap(({ fk }, i) => [
      `${fk.columns.map((c) => `${quoteIdent(c)} IS NOT NULL`).join(' AND ')} AS ${PASS_KEYED(i)}`,
      ...fk.columns.map((c, j) => `${quoteIdent(c)} AS ${PASS_KEY(i, j)}`),
    ]),
  ];
  const joins = keys.map(({ fk, parentUnique }, i) => {
    const parent = parentUnique ? quoteTable(fk.refTable) : `(SELECT DISTINCT ${list(fk.refColumns)} FROM ${quoteTable(fk.refTable)})`;
    const on = fk.refColumns.map((r, j) => `p${i}.${quoteIdent(r)} = s.${PASS_KEY(i, j)}`).join(' AND ');
    return `\n  LEFT JOIN ${parent} p${i} ON ${on}`;
  });
  const counts = [
    'count(*) AS total',
    ...checks.map((_, i) => `count(*) FILTER (WHERE s.${PASS_CHECK(i)}) AS c${i}`),
    ...keys.map(({ fk }, i) => `count(*) FILTER (WHERE s.${PASS_KEYED(i)} AND p${i}.${quoteIdent(fk.refColumns[0])} IS NULL) AS f${i}`),
  ];
  return `SELECT ${counts.join(',\n       ')}\n  FROM (SELECT ${inner.join(',\n               ')}\n          FROM ${scanned(table, filter, 't')}) s${joins.join('')}`;
}

/** Samples only (the count came from the table's pass): orphans in key order. */
export function foreignKeyOnlySamplesSql(fk: ForeignKeyTarget, shape: SampleShape, filter?: string): string {
  return `SELECT * FROM (SELECT ${list(shape.columns, 'c.')}\n  ${orphans(fk, filter)} OFFSET 0) s\n ORDER BY ${list(shape.orderBy)} LIMIT ${shape.limit}`;
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

/**
 * The keys as the index compares them: with the key's collation where it
 * names one (a nondeterministic one can make 'A' and 'a' the same key, and
 * "C" can make them two). An operator class whose equality is not the type's
 * default (record_image_ops, say) is not followed: such keys are compared
 * with the type's own equality.
 */
function keyList(keys: readonly IndexKey[]): string {
  return keys.map((k) => `${keyOf(k)}${k.collate !== undefined ? ` COLLATE ${quoteIdent(k.collate)}` : ''}`).join(', ');
}

const keyOf = (k: IndexKey) => ('column' in k ? quoteIdent(k.column) : wrap(k.expr));

/**
 * The rows a unique index would hold entries that can clash: those that satisfy
 * its predicate and whose keys are all non-null (NULLs never clash in a unique
 * index), or, NULLS NOT DISTINCT, every row that satisfies it.
 */
function indexedRows(ix: UniqueTarget, filter?: string): string {
  return `FROM ${scanned(ix.table, filter, 't')} WHERE ${indexedCondition(ix)}`;
}

function indexedCondition(ix: UniqueTarget): string {
  // IS DISTINCT FROM NULL, not IS NOT NULL: a composite key with a NULL field is not NULL to the index, and clashes
  const conditions = ix.nullsNotDistinct ? [] : ix.keys.map((k) => `${keyOf(k)} IS DISTINCT FROM NULL`);
  if (ix.where) conditions.unshift(wrap(ix.where));
  return conditions.length ? conditions.join(' AND ') : 'true';
}

/**
 * One scan for every unique index of a table: per index (u0, u1, …), the rows
 * it would hold minus their distinct keys, which is the rows in excess of one
 * per key (0: no duplicate). Distinct counts sort where GROUP BY hashes: on
 * MeStore's payments, both indexes in one query took half the time of the two
 * grouped queries. How many keys are duplicated is asked (uniqueCountSql)
 * only of an index with excess rows.
 */
export function uniquesPassSql(uniques: readonly UniqueTarget[], filter?: string): string {
  const counts = uniques.map((ix, i) => {
    const condition = indexedCondition(ix);
    // a row of keys counts NULL fields as equal (NULLS NOT DISTINCT); a bare key's NULL is not counted at all
    const key = ix.keys.length === 1 && !ix.nullsNotDistinct ? keyList(ix.keys) : `ROW(${keyList(ix.keys)})`;
    return `count(*) FILTER (WHERE ${condition}) - count(DISTINCT ${key}) FILTER (WHERE ${condition}) AS u${i}`;
  });
  return `SELECT ${counts.join(',\n       ')}\n  FROM ${scanned(uniques[0].table, filter, 't')}`;
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

/**
 * Rows of duplicated keys, a key's rows together. Under NULLS NOT DISTINCT a
 * NULL key is a key like any other, which `IN` would never match: the rows
 * are then those whose window of equal keys (PARTITION BY groups NULLs
 * together, as the index does) holds more than one.
 */
export function uniqueSamplesSql(ix: UniqueTarget, shape: SampleShape, filter?: string): string {
  const keys = keyList(ix.keys);
  if (ix.nullsNotDistinct) {
    // the derived table's columns renamed by position (s(c0, …, n, k0, …)): no name of the table can clash with them
    const c = (i: number) => quoteIdent(`c${i}`);
    const k = (i: number) => quoteIdent(`k${i}`);
    const names = [...shape.columns.map((_, i) => c(i)), quoteIdent('n'), ...ix.keys.map((_, i) => k(i))];
    const shown = shape.columns.map((name, i) => `${c(i)} AS ${quoteIdent(name)}`);
    const order = [...ix.keys.map((_, i) => k(i)), ...shape.orderBy.map((name) => shape.columns.indexOf(name)).filter((i) => i >= 0).map(c)];
    const inner = `SELECT ${list(shape.columns)}, count(*) OVER (PARTITION BY ${keys}), ${keys} ${indexedRows(ix, filter)}`;
    return `SELECT ${shown.join(', ')}\n  FROM (${inner}) s(${names.join(', ')})\n WHERE ${quoteIdent('n')} > 1\n ORDER BY ${order.join(', ')} LIMIT ${shape.limit}`;
  }
  return `SELECT ${list(shape.columns)}\n  ${indexedRows(ix, filter)}\n   AND (${keys}) IN (${duplicatedKeys(ix, filter)})\n ORDER BY ${keys}, ${list(shape.orderBy)} LIMIT ${shape.limit}`;
}
