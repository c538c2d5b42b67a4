import { sql, type Kysely, type Transaction } from 'kysely';
import { SchemaDiffError, messageOf } from '../../errors.js';
import type { DesiredTable, Index, Table, TableRef } from '../../schema/types.js';
import { tableKey } from '../../schema/types.js';
import { borrowsColumns, checkTrees, proveBatch } from './batch-proof.js';
import { CONJUNCTS_CHECK, conjunctsCheckSql, conjunctTexts } from './conjuncts.js';
import { checkExpression, introspectIndexes } from './introspect.js';
import { probeProof, type ProbeProof } from './probe-check.js';
import { COLUMNS_PER_SCRATCH, columnDefinitions, scratchProbes, type ColumnDef, type IndexProbed, type Packing, type ScratchProbe } from './scratch-tables.js';
import { createIndexSql } from './index-sql.js';
import { indexProbe, liveTable, normalizedIndexFields, type LiveTables, type NormalizedIndexFields } from './normal-form.js';
import { cacheKey } from './normalize-cache.js';
import { quoteTable } from './quote.js';

class RollbackSignal extends Error {}

/** The canonical forms of the expressions normalizeInBatch was given, by table and object name. */
export interface NormalizedAnswers {
  check(table: TableRef, name: string): string;
  index(table: TableRef, name: string): NormalizedIndexFields;
}

/**
 * Normalizes the pending expressions of every table in one transaction that
 * is always rolled back, with as few catalog rows as PostgreSQL allows: a few
 * CREATE TEMP TABLEs whose columns are those of many table shapes, with every
 * distinct CHECK inline; plain btree indexes as slices of a few shared indexes
 * (their predicates as CHECKs), any other index on its own; then one read of
 * all they hold (scratch-tables.ts says what shares what). The database then
 * shows which columns each probe used (batch-proof.ts): a probe that used a
 * column its own table lacks, or a system column, or any failure of the shared
 * batch, and everything is parsed again the plain way, one LIKE copy per shape
 * and every index alone. When a statement fails there, each expression is
 * tried on its own to name every one that does not parse.
 */
export async function normalizeInBatch(
  db: Kysely<unknown>,
  workers: readonly Kysely<unknown>[],
  pending: readonly DesiredTable[],
  live: LiveTables,
): Promise<NormalizedAnswers> {
  const checks = new Map<string, string>();
  const indexes = new Map<string, NormalizedIndexFields>();
  if (pending.length > 0) {
    const columns = await columnDefinitions(db, pending.map((t) => t.ref));
    let read = await probeAll(db, workers, pending, live, columns, { columnsPerScratch: COLUMNS_PER_SCRATCH, shareKeys: true });
    // A probe resolved a column its own table does not have, or a system column (a CHECK takes one, an index
    // predicate not), or the shared batch failed (a statement, a type name): every shape on a table of its own
    // made with LIKE, every index alone, as one would write them; what fails there is named.
    if (read === 'again-alone') read = await probeAll(db, workers, pending, live, columns, { columnsPerScratch: 0, shareKeys: false });
    if (read === 'again-alone') throw new Error('normalize: the one-shape-per-table batch cannot borrow a column');
    for (const table of pending) {
      const scratch = read.scratchOf.get(tableKey(table.ref)) as ScratchProbe;
      for (const c of table.checks) {
        checks.set(cacheKey(table.ref, 'check', c.name), read.checks.get(`${scratch.scratch}.${scratch.checks.get(c.source)?.name}`) as string);
      }
      for (const ix of table.indexes) {
        const probe = scratch.indexes.get(indexProbe(ix));
        indexes.set(cacheKey(table.ref, 'index', ix.name), read.indexes.get(probe?.name ?? '') as NormalizedIndexFields);
      }
    }
  }
  return {
    check: (table, name) => answer(checks, cacheKey(table, 'check', name)),
    index: (table, name) => answer(indexes, cacheKey(table, 'index', name)),
  };
}

interface ProbeAnswers extends ProbeResults {
  readonly scratchOf: ReadonlyMap<string, ScratchProbe>;
}

async function probeAll(
  db: Kysely<unknown>,
  workers: readonly Kysely<unknown>[],
  pending: readonly DesiredTable[],
  live: LiveTables,
  columns: ReadonlyMap<string, readonly (ColumnDef & { name: string })[]>,
  packing: Packing,
): Promise<ProbeAnswers | 'again-alone'> {
  const { scratches, scratchOf } = scratchProbes(pending, live, columns, packing);
  const shapeCount = scratchOf.size;
  const groups = splitForWorkers(scratches, shapeCount >= PARALLEL_FROM ? workers.length : 1);
  const settled = await Promise.allSettled(groups.map((group, i) => rolledBack(groups.length > 1 ? workers[i] : db, (trx) => runProbes(trx, group))));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed && packing.columnsPerScratch > 0) return 'again-alone';
  if (failed) {
    await refuseUnparsedExpressions(db, pending, live);
    throw failed.reason;
  }
  const results = settled.map((r) => (r as PromiseFulfilledResult<ProbeResults | 'again-alone'>).value);
  if (results.includes('again-alone')) return 'again-alone';
  return { ...mergeResults(results as ProbeResults[]), scratchOf };
}

/**
 * From this many table shapes on, the probes are shared out between the
 * workers' connections, each in a rolled-back transaction of its own: the
 * DDL is server CPU, and a second backend uses a second core.
 */
const PARALLEL_FROM = 50;

function splitForWorkers(scratches: readonly ScratchProbe[], workers: number): ScratchProbe[][] {
  const groups: ScratchProbe[][] = Array.from({ length: Math.max(1, workers) }, () => []);
  const cost = groups.map(() => 0);
  for (const scratch of scratches) {
    const i = cost.indexOf(Math.min(...cost));
    groups[i].push(scratch);
    cost[i] += 1 + scratch.checks.size / 10 + [...scratch.indexes.values()].filter((p) => !p.within).length + scratch.shared.length;
  }
  return groups.filter((g) => g.length > 0);
}

function mergeResults(results: readonly ProbeResults[]): ProbeResults {
  return {
    checks: new Map(results.flatMap((r) => [...r.checks])),
    indexes: new Map(results.flatMap((r) => [...r.indexes])),
  };
}

function answer<T>(answers: ReadonlyMap<string, T>, key: string): T {
  const value = answers.get(key);
  if (value === undefined) throw new Error(`normalize: no canonical form for ${key}`);
  return value;
}

interface ProbeResults {
  /** `scratch.probe` → the CHECK's canonical expression. */
  readonly checks: ReadonlyMap<string, string>;
  /** probe index name → its normalized fields. */
  readonly indexes: ReadonlyMap<string, NormalizedIndexFields>;
}

async function runProbes(trx: Transaction<unknown>, scratches: readonly ScratchProbe[]): Promise<ProbeResults | 'again-alone'> {
  // a worker connection has no session settings of ours: the catalog reads below look costly enough to be JIT-compiled
  await sql.raw('SET LOCAL jit = off').execute(trx);
  for (const s of scratches) {
    const columns = s.like ? [`LIKE ${quoteTable(s.like)}`] : [...s.columns.values()].map((c) => c.sql);
    const sources = [...s.checks.keys()];
    const constraints = s.conjuncts
      ? sources.length ? [conjunctsCheckSql(sources)] : []
      : [...s.checks].map(([source, { name }]) => `CONSTRAINT ${name} CHECK (${source})`);
    await sql.raw(`CREATE TEMP TABLE ${s.scratch} (${[...columns, ...constraints].join(', ')})`).execute(trx);
    for (const { name, index, within } of s.indexes.values()) {
      if (!within) await sql.raw(createIndexSql(name, `pg_temp.${s.scratch}`, { ...index, ...index.source })).execute(trx);
    }
    for (const { name, keys } of s.shared) {
      await sql.raw(createIndexSql(name, `pg_temp.${s.scratch}`, { unique: false, method: 'btree', keys, where: null })).execute(trx);
    }
  }
  const trees = await checkTrees(trx, scratches);
  if (!trees) return 'again-alone';
  await proveBatch(trx, scratches, trees);
  if (await borrowsColumns(trx, scratches, trees)) return 'again-alone';
  const names = scratches.map((s) => s.scratch);
  const { rows: tables } = await sql<{ oid: number; scratch: string; probe: string | null; def: string | null }>`
    select c.oid::int as oid, c.relname as scratch, con.conname as probe, pg_get_constraintdef(con.oid) as def
      from pg_class c
      left join pg_constraint con on con.conrelid = c.oid and con.contype = 'c'
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${names}::text[])`.execute(trx);
  const checks = canonicalChecks(scratches, tables);
  if (!checks) return 'again-alone';
  const oids = [...new Set(tables.map((r) => r.oid))];
  const built = new Map((await introspectIndexes(trx, oids)).map((ix) => [ix.name, ix]));
  const indexes = new Map<string, NormalizedIndexFields>();
  for (const s of scratches) {
    for (const probed of s.indexes.values()) {
      const fields = probed.within ? sharedKeyFields(s, probed, built, checks) : normalizedIndexFields(built.get(probed.name) as Index);
      indexes.set(probed.name, fields);
    }
  }
  return { checks, indexes };
}

/**
 * Each probe CHECK's canonical expression, by `scratch.probe`: a CHECK's own,
 * or the conjuncts of a shared scratch table's one CHECK split apart. null
 * when a printed AND does not hold one conjunct per probe (then the batch is
 * parsed again, one CHECK each).
 */
function canonicalChecks(
  scratches: readonly ScratchProbe[],
  rows: readonly { scratch: string; probe: string | null; def: string | null }[],
): Map<string, string> | null {
  const byName = new Map(scratches.map((s) => [s.scratch, s]));
  const checks = new Map<string, string>();
  for (const r of rows) {
    if (r.probe === null || r.def === null) continue;
    const scratch = byName.get(r.scratch) as ScratchProbe;
    if (!scratch.conjuncts) {
      checks.set(`${r.scratch}.${r.probe}`, checkExpression(r.def));
      continue;
    }
    const texts = r.probe === CONJUNCTS_CHECK ? conjunctTexts(checkExpression(r.def)) : null;
    const probes = [...scratch.checks.values()];
    if (!texts || texts.length !== probes.length) return null;
    probes.forEach((p, i) => checks.set(`${r.scratch}.${p.name}`, texts[i]));
  }
  return checks;
}

/** An index parsed as keys of a shared one: its slice of the keys, its predicate from its CHECK, the rest btree's defaults. */
function sharedKeyFields(s: ScratchProbe, probed: IndexProbed, built: ReadonlyMap<string, Index>, checks: ReadonlyMap<string, string>): NormalizedIndexFields {
  const { index: shared, offset } = probed.within as { index: string; offset: number };
  const keys = (built.get(shared) as Index).keys.slice(offset, offset + probed.index.source.keys.length);
  const source = probed.index.source.where;
  const predicate = source ? (checks.get(`${s.scratch}.${s.checks.get(source)?.name}`) as string) : null;
  // the same fields normalizedIndexFields reads off an index of its own, absent ones included
  return { keys, where: predicate === 'true' ? null : predicate, method: 'btree', include: undefined, nullsNotDistinct: undefined, with: undefined };
}

/** Runs body in a READ WRITE transaction (plan's session defaults to read-only) that always rolls back. */
async function rolledBack<T>(db: Kysely<unknown>, body: (trx: Transaction<unknown>) => Promise<T>): Promise<T> {
  let result: T | undefined;
  try {
    // READ WRITE even when the session defaults to read-only (plan, verify): TEMP tables are writes, rolled back below
    await db.transaction().setAccessMode('read write').execute(async (trx) => {
      result = await body(trx);
      throw new RollbackSignal();
    });
  } catch (e) {
    if (!(e instanceof RollbackSignal)) throw e;
  }
  return result as T;
}

/**
 * After a failed batch: each pending expression on its own, under a savepoint,
 * so that the refusal names every one that does not parse. Returns when all
 * do (the batch failed for another reason, which the caller rethrows).
 */
async function refuseUnparsedExpressions(db: Kysely<unknown>, pending: readonly DesiredTable[], live: LiveTables): Promise<void> {
  const problems: string[] = [];
  await rolledBack(db, async (trx) => {
    for (const [i, table] of pending.entries()) {
      const scratch = `sd_norm_${i}`;
      await sql.raw(`CREATE TEMP TABLE ${scratch} (LIKE ${quoteTable((liveTable(live, table.ref) as Table).ref)})`).execute(trx);
      const oid = await tableOid(trx, `pg_temp.${scratch}`);
      for (const [j, check] of table.checks.entries()) {
        const statement = `ALTER TABLE pg_temp.${scratch} ADD CONSTRAINT sd_ck_${j} CHECK (${check.source})`;
        await attempt(trx, statement, `${check.path}.expr`, problems, await probeProof(trx, oid, { constraint: `sd_ck_${j}` }));
      }
      for (const [k, index] of table.indexes.entries()) {
        const statement = createIndexSql(`${scratch}_ix_${k}`, `pg_temp.${scratch}`, { ...index, ...index.source });
        await attempt(trx, statement, index.path, problems, await probeProof(trx, oid, { index: `${scratch}_ix_${k}` }));
      }
    }
  });
  if (problems.length > 0) {
    const head = problems.length === 1 ? problems[0] : `${problems.length} expressions do not parse`;
    throw new SchemaDiffError('manifest', `manifest ${head}`, problems);
  }
}

/**
 * Runs one probe statement under a savepoint, turning a parse error into a
 * manifest problem, and so too a probe the database shows did more than make
 * its one object (probe-check.ts): undone, and refused.
 */
async function attempt(trx: Transaction<unknown>, statement: string, path: string, problems: string[], proof: ProbeProof): Promise<void> {
  await sql.raw('savepoint sd_probe').execute(trx);
  try {
    await sql.raw(statement).execute(trx);
    const wrong = await proof();
    if (wrong !== null) {
      await sql.raw('rollback to savepoint sd_probe').execute(trx);
      problems.push(`${path}: ${wrong}`);
      return;
    }
    await sql.raw('release savepoint sd_probe').execute(trx);
  } catch (e) {
    await sql.raw('rollback to savepoint sd_probe').execute(trx);
    problems.push(`${path}: ${messageOf(e).split('\n')[0]}`);
  }
}

/** The oid of one of our own scratch tables (its name is ours, never the manifest's). */
async function tableOid(db: Kysely<unknown>, qualified: string): Promise<number> {
  const { rows } = await sql<{ oid: number }>`select ${qualified}::regclass::oid::int as oid`.execute(db);
  return rows[0].oid;
}
