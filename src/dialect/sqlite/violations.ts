import type Database from 'better-sqlite3';
import type { Catalog, IndexKey, TableRef } from '../../schema/types.js';
import { findTable, qualifiedName } from '../../schema/types.js';
import type { ViolationCount, ViolationOptions, ViolationTarget } from '../dialect.js';
import { columnsIn } from './expression.js';
import { quoteIdent, quoteTable } from './quote.js';
import { sqliteMessage } from './sqlite-error.js';

type CheckTarget = Extract<ViolationTarget, { kind: 'check' }>;
type ForeignKeyTarget = Extract<ViolationTarget, { kind: 'foreign_key' }>;
type UniqueTarget = Extract<ViolationTarget, { kind: 'unique' }>;

/**
 * Counts the rows SQLite itself would reject, with SQLite's own semantics:
 * - CHECK: `(expr) IS FALSE`, the same truth test a CHECK applies (NULL passes,
 *   a text that reads as zero fails), on the values as stored;
 * - FK: a child row whose key columns are all non-NULL and that finds no parent,
 *   looked up as SQLite does it: the parent column's affinity and collation
 *   apply (`+c.col` strips the child column's affinity), so a key differing
 *   only in case is an orphan unless the parent column is COLLATE NOCASE;
 * - unique: rows beyond the first per key, NULL keys being distinct.
 * Runs on a read-only connection: nothing is written, whatever the expression.
 */
export function countViolationsSqlite(
  raw: Database.Database,
  catalog: Catalog,
  targets: readonly ViolationTarget[],
  options: ViolationOptions,
): ViolationCount[] {
  const db = scanner(raw, options.since);
  const byTable = new Map<string, ViolationTarget[]>();
  for (const t of targets) byTable.set(qualifiedName(t.table), [...(byTable.get(qualifiedName(t.table)) ?? []), t]);
  const results = new Map<ViolationTarget, ViolationCount>();
  for (const group of byTable.values()) {
    options.onProgress?.(`checking ${qualifiedName(group[0].table)} (${group.length} constraint(s))`);
    const pass = countTableInOnePass(db, catalog, group);
    const rows = pass?.total ?? rowCount(db, group[0].table);
    for (const t of group) {
      const counted = countOne(db, catalog, t, pass?.counts ?? null, options.samples);
      results.set(t, rows === null ? counted : { ...counted, rows });
    }
  }
  return targets.map((t) => results.get(t) as ViolationCount);
}

function countOne(db: Scanner, catalog: Catalog, t: ViolationTarget, onePass: ReadonlyMap<string, number> | null, samples: number): ViolationCount {
  const base = { name: t.name, table: t.table, kind: t.kind, severity: t.severity };
  const live = findTable(catalog, t.table);
  const pk = live?.primaryKey ?? [];
  try {
    let violations: number;
    let groups: number | undefined;
    if (t.kind === 'check') violations = onePass?.get(t.name) ?? count(db, `SELECT count(*) AS n ${checkFrom(db, t)}`);
    else if (t.kind === 'foreign_key') violations = onePass?.get(t.name) ?? count(db, `SELECT count(*) AS n ${foreignKeyFrom(db, t, parentKey(catalog, t))}`);
    else ({ violations, groups } = uniqueCounts(db, t));
    const involved = t.kind === 'check' ? columnsIn(t.expr, live?.columns.map((c) => c.name) ?? []) : involvedColumns(t);
    const sample = violations > 0 && samples > 0 ? sampleRows(db, t, catalog, pk, involved, samples) : [];
    return { ...base, violations, ...(groups !== undefined ? { groups } : {}), sample };
  } catch (e) {
    return { ...base, violations: 0, sample: [], error: sqliteMessage(e) };
  }
}

/**
 * One scan of the table for its row count, every CHECK and every foreign key
 * (a NOT EXISTS probe of the parent per row, by its key's index); null (count
 * each alone, so a failing expression is named) if the query fails.
 */
function countTableInOnePass(db: Scanner, catalog: Catalog, group: readonly ViolationTarget[]): { total: number; counts: Map<string, number> } | null {
  const counted = group.filter((t): t is CheckTarget | ForeignKeyTarget => t.kind !== 'unique');
  const columns = counted.map((t, i) => {
    const where = t.kind === 'check' ? `(${t.expr}) IS FALSE` : foreignKeyOrphan(t, parentKey(catalog, t));
    return `, count(*) FILTER (WHERE ${where}) AS c${i}`;
  });
  try {
    const row = db.get(`SELECT count(*) AS total${columns.join('')} FROM ${db.source(group[0].table)} AS c`) as Record<string, number>;
    return { total: Number(row.total), counts: new Map(counted.map((t, i) => [t.name, Number(row[`c${i}`])])) };
  } catch {
    return null;
  }
}

function checkFrom(db: Scanner, t: CheckTarget): string {
  return `FROM ${db.source(t.table)} WHERE (${t.expr}) IS FALSE`;
}

function parentKey(catalog: Catalog, t: ForeignKeyTarget): readonly string[] {
  return t.refColumns.length ? t.refColumns : (findTable(catalog, t.refTable)?.primaryKey ?? []);
}

/** A row of `c` whose key columns are all non-NULL and that finds no parent. */
function foreignKeyOrphan(t: ForeignKeyTarget, refColumns: readonly string[]): string {
  const notNull = t.columns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ');
  const join = t.columns.map((c, i) => `p.${quoteIdent(refColumns[i])} = +c.${quoteIdent(c)}`).join(' AND ');
  return `${notNull} AND NOT EXISTS (SELECT 1 FROM ${quoteTable(t.refTable)} AS p WHERE ${join})`;
}

function foreignKeyFrom(db: Scanner, t: ForeignKeyTarget, refColumns: readonly string[]): string {
  return `FROM ${db.source(t.table)} AS c WHERE ${foreignKeyOrphan(t, refColumns)}`;
}

function keyList(keys: readonly IndexKey[]): string[] {
  return keys.map((k) => keyOf(k) + (k.collate !== undefined ? ` COLLATE ${quoteIdent(k.collate)}` : ''));
}

/** A key as a value, without its collation (enough to say whether it is NULL). */
const keyOf = (k: IndexKey) => ('column' in k ? quoteIdent(k.column) : `(${stripDirection(k.expr)})`);

/** A key written `x DESC` groups like `x`: the direction orders an index, it does not make keys distinct. */
function stripDirection(expr: string): string {
  return expr.replace(/\s+(ASC|DESC)$/i, '');
}

function uniqueFilter(t: UniqueTarget): string {
  const notNull = t.keys.map((k) => `${keyOf(k)} IS NOT NULL`);
  return [...notNull, ...(t.where ? [`(${t.where})`] : [])].join(' AND ');
}

function uniqueCounts(db: Scanner, t: UniqueTarget): { violations: number; groups: number } {
  const keys = keyList(t.keys).join(', ');
  const row = db.get(
    `SELECT count(*) AS groups, coalesce(sum(n - 1), 0) AS excess FROM (SELECT count(*) AS n FROM ${db.source(t.table)} WHERE ${uniqueFilter(t)} GROUP BY ${keys} HAVING count(*) > 1)`,
  ) as { groups: number; excess: number };
  return { groups: Number(row.groups), violations: Number(row.excess) };
}

function involvedColumns(t: ForeignKeyTarget | UniqueTarget): string[] {
  if (t.kind === 'foreign_key') return [...t.columns];
  return t.keys.flatMap((k) => ('column' in k ? [k.column] : []));
}

function sampleRows(
  db: Scanner,
  t: ViolationTarget,
  catalog: Catalog,
  pk: readonly string[],
  involved: readonly string[],
  limit: number,
): Record<string, unknown>[] {
  const wanted = [...new Set([...pk, ...involved])];
  const select = wanted.length ? wanted.map((c) => `c.${quoteIdent(c)}`).join(', ') : 'c.*';
  let from: string;
  if (t.kind === 'check') from = `FROM ${db.source(t.table)} AS c WHERE (${t.expr}) IS FALSE`;
  else if (t.kind === 'foreign_key') from = foreignKeyFrom(db, t, parentKey(catalog, t));
  else {
    const keys = keyList(t.keys);
    const dup = `SELECT ${keys.join(', ')} FROM ${db.source(t.table)} WHERE ${uniqueFilter(t)} GROUP BY ${keys.join(', ')} HAVING count(*) > 1`;
    from = `FROM ${db.source(t.table)} AS c WHERE ${uniqueFilter(t)} AND (${keys.join(', ')}) IN (${dup})`;
  }
  const order = pk.length ? ` ORDER BY ${pk.map((c) => `c.${quoteIdent(c)}`).join(', ')}` : '';
  return db.all(`SELECT ${select} ${from}${order} LIMIT ${limit}`);
}

function rowCount(db: Scanner, table: TableRef): number | null {
  try {
    return count(db, `SELECT count(*) AS n FROM ${db.source(table)}`);
  } catch {
    return null;
  }
}

function count(db: Scanner, query: string): number {
  return Number((db.get(query) as { n: number }).n);
}

/** The read-only connection, with the rows a check reads: the whole table, or since `validate --since`. */
interface Scanner {
  source(table: TableRef): string;
  get(query: string): unknown;
  all(query: string): Record<string, unknown>[];
}

/**
 * With --since, a scanned table is a subquery of its recent rows: the column
 * quoted, the value bound as the parameter @since (never spliced), and bound to
 * every query, each of which then names it.
 */
function scanner(db: Database.Database, since: ViolationOptions['since']): Scanner {
  const params = since ? [{ since: since.from }] : [];
  return {
    source: (table) => (since ? `(SELECT * FROM ${quoteTable(table)} WHERE ${quoteIdent(since.column)} >= @since)` : quoteTable(table)),
    get: (query) => db.prepare(query).get(...params),
    all: (query) => db.prepare(query).all(...params) as Record<string, unknown>[],
  };
}
