import { sql, type Kysely } from 'kysely';
import { messageOf } from '../../errors.js';
import type { Catalog, IndexKey, TableRef } from '../../schema/types.js';
import { findTable, qualifiedName } from '../../schema/types.js';
import type { ViolationCount, ViolationOptions, ViolationTarget } from '../dialect.js';
import { quoteIdent, quoteTable } from './quote.js';

/**
 * Counts the rows that break each target, reading only, inside a READ ONLY
 * transaction. All CHECKs of a table are counted in one pass (one filtered
 * count per constraint); each foreign key is an anti-join; each unique index a
 * grouped query. `(expr) IS FALSE`, not `NOT (expr)`: a NULL result passes, as
 * it does in the database.
 */
export async function countViolationsPostgres(
  db: Kysely<unknown>,
  catalog: Catalog,
  targets: readonly ViolationTarget[],
  options: ViolationOptions,
): Promise<ViolationCount[]> {
  const results = new Map<ViolationTarget, ViolationCount>();
  const byTable = new Map<string, ViolationTarget[]>();
  for (const t of targets) {
    const key = qualifiedName(t.table);
    byTable.set(key, [...(byTable.get(key) ?? []), t]);
  }
  const queue = [...byTable.values()];
  const worker = async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      options.onProgress?.(`checking ${qualifiedName(group[0].table)} (${group.length} constraint(s))`);
      for (const [t, r] of await countTable(db, catalog, group, options)) results.set(t, r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, worker));
  return targets.map((t) => results.get(t) as ViolationCount);
}

async function countTable(
  db: Kysely<unknown>,
  catalog: Catalog,
  targets: readonly ViolationTarget[],
  options: ViolationOptions,
): Promise<Map<ViolationTarget, ViolationCount>> {
  const out = new Map<ViolationTarget, ViolationCount>();
  const table = targets[0].table;
  const pk = findTable(catalog, table)?.primaryKey ?? [];
  const checks = targets.filter((t): t is Extract<ViolationTarget, { kind: 'check' }> => t.kind === 'check');
  const checkCounts = checks.length ? await countChecksInOnePass(db, table, checks) : null;
  for (const t of targets) {
    const base = { name: t.name, table: t.table, kind: t.kind, severity: t.severity };
    try {
      let violations: number;
      let groups: number | undefined;
      if (t.kind === 'check') {
        violations = checkCounts ? (checkCounts.get(t.name) as number) : await countOne(db, checkQuery(t, 'count'));
      } else if (t.kind === 'foreign_key') {
        violations = await countOne(db, foreignKeyQuery(t, 'count'));
      } else {
        const r = await uniqueCounts(db, t);
        violations = r.violations;
        groups = r.groups;
      }
      const sample = violations > 0 && options.samples > 0 ? await sampleRows(db, t, pk, options.samples) : [];
      out.set(t, { ...base, violations, ...(groups !== undefined ? { groups } : {}), sample });
    } catch (e) {
      out.set(t, { ...base, violations: 0, sample: [], error: messageOf(e).split('\n')[0] });
    }
  }
  return out;
}

/** One scan for every CHECK of a table; if any expression errors, null so each is counted alone. */
async function countChecksInOnePass(
  db: Kysely<unknown>,
  table: TableRef,
  checks: readonly Extract<ViolationTarget, { kind: 'check' }>[],
): Promise<Map<string, number> | null> {
  const columns = checks.map((c, i) => `count(*) FILTER (WHERE (${c.expr}) IS FALSE) AS c${i}`).join(', ');
  try {
    const rows = await readOnly(db, `SELECT ${columns} FROM ${quoteTable(table)}`);
    return new Map(checks.map((c, i) => [c.name, Number(rows[0][`c${i}`])]));
  } catch {
    return null;
  }
}

function checkQuery(t: Extract<ViolationTarget, { kind: 'check' }>, mode: 'count' | 'rows'): string {
  const from = `FROM ${quoteTable(t.table)} WHERE (${t.expr}) IS FALSE`;
  return mode === 'count' ? `SELECT count(*) AS n ${from}` : `SELECT * ${from}`;
}

function foreignKeyQuery(t: Extract<ViolationTarget, { kind: 'foreign_key' }>, mode: 'count' | 'rows'): string {
  const notNull = t.columns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ');
  const join = t.columns.map((c, i) => `p.${quoteIdent(t.refColumns[i])} = c.${quoteIdent(c)}`).join(' AND ');
  const from = `FROM ${quoteTable(t.table)} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${quoteTable(t.refTable)} p WHERE ${join})`;
  return mode === 'count' ? `SELECT count(*) AS n ${from}` : `SELECT c.* ${from}`;
}

function keyList(keys: readonly IndexKey[]): string {
  return keys.map((k) => ('column' in k ? quoteIdent(k.column) : `(${k.expr})`)).join(', ');
}

async function uniqueCounts(db: Kysely<unknown>, t: Extract<ViolationTarget, { kind: 'unique' }>) {
  const keys = keyList(t.keys);
  const where = t.where ? ` WHERE ${t.where}` : '';
  const rows = await readOnly(
    db,
    `SELECT count(*) AS groups, coalesce(sum(n - 1), 0) AS excess FROM (SELECT count(*) AS n FROM ${quoteTable(t.table)}${where} GROUP BY ${keys} HAVING count(*) > 1) d`,
  );
  return { groups: Number(rows[0].groups), violations: Number(rows[0].excess) };
}

async function sampleRows(
  db: Kysely<unknown>,
  t: ViolationTarget,
  pk: readonly string[],
  limit: number,
): Promise<Record<string, unknown>[]> {
  let query: string;
  if (t.kind === 'check') query = checkQuery(t, 'rows');
  else if (t.kind === 'foreign_key') query = foreignKeyQuery(t, 'rows');
  else {
    const where = t.where ? ` WHERE ${t.where}` : '';
    const keys = keyList(t.keys);
    query = `SELECT * FROM ${quoteTable(t.table)} WHERE (${keys}) IN (SELECT ${keys} FROM ${quoteTable(t.table)}${where} GROUP BY ${keys} HAVING count(*) > 1)${t.where ? ` AND ${t.where}` : ''}`;
  }
  const order = pk.length ? ` ORDER BY ${pk.map(quoteIdent).join(', ')}` : '';
  const rows = await readOnly(db, `SELECT * FROM (${query}) s${order} LIMIT ${limit}`);
  const wanted = new Set([...pk, ...columnsOf(t)]);
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => wanted.size === pk.length || wanted.has(k))));
}

function columnsOf(t: ViolationTarget): string[] {
  if (t.kind === 'foreign_key') return [...t.columns];
  if (t.kind === 'unique') return t.keys.flatMap((k) => ('column' in k ? [k.column] : []));
  return [...new Set(t.expr.match(/[a-z_][a-z0-9_]*/g) ?? [])];
}

async function countOne(db: Kysely<unknown>, query: string): Promise<number> {
  const rows = await readOnly(db, query);
  return Number(rows[0].n);
}

/** Every query of validate runs in a READ ONLY transaction: it cannot write, whatever the expression. */
async function readOnly(db: Kysely<unknown>, query: string): Promise<Record<string, unknown>[]> {
  return db
    .transaction()
    .setAccessMode('read only')
    .execute(async (trx) => (await sql.raw<Record<string, unknown>>(query).execute(trx)).rows);
}
