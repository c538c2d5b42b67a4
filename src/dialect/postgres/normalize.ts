import { sql, type Kysely, type Transaction } from 'kysely';
import { SchemaDiffError, messageOf } from '../../errors.js';
import type { Catalog, DesiredCheck, DesiredIndex, DesiredTable } from '../../schema/types.js';
import { findTable, freeze } from '../../schema/types.js';
import { checkExpression, introspectIndexes, tableOid } from './introspect.js';
import { createIndexSql } from './index-sql.js';
import { probeProof, type ProbeProof } from './probe-check.js';
import { quoteTable } from './quote.js';

class RollbackSignal extends Error {}

/**
 * Lets PostgreSQL itself parse every manifest expression and print it back the
 * way it stores it, so that comparison is exact: BETWEEN becomes two
 * comparisons, LIKE becomes ~~, literals gain casts to the column's type.
 * Each table gets an empty temporary copy (CREATE TEMP TABLE ... LIKE) inside a
 * transaction that is always rolled back: real tables are never locked or altered.
 */
export async function normalizePostgres(
  db: Kysely<unknown>,
  desired: readonly DesiredTable[],
  catalog: Catalog,
): Promise<readonly DesiredTable[]> {
  const problems: string[] = [];
  let result: DesiredTable[] = [];
  try {
    // READ WRITE even when the session defaults to read-only (plan, verify): TEMP tables are writes, rolled back below
    await db.transaction().setAccessMode('read write').execute(async (trx) => {
      result = [];
      for (const [i, table] of desired.entries()) {
        if (!findTable(catalog, table.ref)) {
          result.push(table);
          continue;
        }
        result.push(await normalizeTable(trx, table, `sd_norm_${i}`, problems));
      }
      throw new RollbackSignal();
    });
  } catch (e) {
    if (!(e instanceof RollbackSignal)) throw e;
  }
  if (problems.length > 0) {
    const head = problems.length === 1 ? problems[0] : `${problems.length} expressions do not parse`;
    throw new SchemaDiffError('manifest', `manifest ${head}`, problems);
  }
  return freeze(result);
}

async function normalizeTable(
  trx: Transaction<unknown>,
  table: DesiredTable,
  scratch: string,
  problems: string[],
): Promise<DesiredTable> {
  await sql.raw(`create temp table ${scratch} (like ${quoteTable(table.ref)})`).execute(trx);
  const oid = await tableOid(trx, `pg_temp.${scratch}`);
  const checks: DesiredCheck[] = [];
  for (const [j, check] of table.checks.entries()) {
    const probe = `sd_ck_${j}`;
    const ok = await attempt(
      trx,
      `alter table pg_temp.${scratch} add constraint ${probe} check (${check.source})`,
      `${check.path}.expr`,
      problems,
      await probeProof(trx, oid, { constraint: probe }),
    );
    checks.push(ok ? { ...check, expr: await readCheck(trx, oid, probe) } : check);
  }
  const indexes: DesiredIndex[] = [];
  for (const [k, index] of table.indexes.entries()) {
    const probe = `sd_ix_${scratch}_${k}`;
    const statement = createIndexSql(probe, `pg_temp.${scratch}`, { ...index, ...index.source });
    const ok = await attempt(trx, statement, index.path, problems, await probeProof(trx, oid, { index: probe }));
    if (!ok) {
      indexes.push(index);
      continue;
    }
    const [read] = (await introspectIndexes(trx, [oid])).filter((x) => x.name === probe);
    const { keys, where, method, include, nullsNotDistinct, with: storage } = read;
    indexes.push({ ...index, keys, where, method, include, nullsNotDistinct, with: storage });
  }
  return { ...table, checks, indexes };
}

/**
 * Runs one probe statement under a savepoint, turning a parse error into a
 * manifest problem, and so too a probe the database shows did more than make its
 * one object (probe-check.ts): undone, and refused.
 */
async function attempt(trx: Transaction<unknown>, statement: string, path: string, problems: string[], proof: ProbeProof): Promise<boolean> {
  await sql.raw('savepoint sd_probe').execute(trx);
  try {
    await sql.raw(statement).execute(trx);
    const wrong = await proof();
    if (wrong !== null) {
      await sql.raw('rollback to savepoint sd_probe').execute(trx);
      problems.push(`${path}: ${wrong}`);
      return false;
    }
    await sql.raw('release savepoint sd_probe').execute(trx);
    return true;
  } catch (e) {
    await sql.raw('rollback to savepoint sd_probe').execute(trx);
    problems.push(`${path}: ${messageOf(e).split('\n')[0]}`);
    return false;
  }
}

async function readCheck(trx: Transaction<unknown>, oid: number, name: string): Promise<string> {
  const { rows } = await sql<{ def: string }>`
    select pg_get_constraintdef(oid) as def from pg_constraint where conrelid = ${oid} and conname = ${name}`.execute(trx);
  return checkExpression(rows[0].def);
}

export { createIndexSql } from './index-sql.js';
