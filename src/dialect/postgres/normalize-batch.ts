import { sql, type Kysely, type Transaction } from 'kysely';
import { SchemaDiffError, messageOf } from '../../errors.js';
import type { DesiredIndex, DesiredTable, Table, TableRef } from '../../schema/types.js';
import { checkExpression, introspectIndexes } from './introspect.js';
import { mutableCallsOf, probeProof, type ProbeProof } from './probe-check.js';
import { createIndexSql } from './index-sql.js';
import { indexProbe, liveTable, normalizedIndexFields, tableShape, type LiveTables, type NormalizedIndexFields } from './normal-form.js';
import { cacheKey } from './normalize-cache.js';
import { quoteTable } from './quote.js';

class RollbackSignal extends Error {}

/** The canonical forms of the expressions normalizeInBatch was given, by table and object name. */
export interface NormalizedAnswers {
  check(table: TableRef, name: string): string;
  index(table: TableRef, name: string): NormalizedIndexFields;
}

/** The temporary table that parses every pending expression of one table shape. */
interface ShapeProbe {
  readonly scratch: string;
  /** A table of this shape, copied by CREATE TEMP TABLE … (LIKE …): real tables are never locked or altered. */
  readonly like: TableRef;
  /** Manifest text → the probe CHECK's name. */
  readonly checks: Map<string, string>;
  /** indexProbe text → the probe index's name and the index. */
  readonly indexes: Map<string, { readonly name: string; readonly index: DesiredIndex }>;
}

/**
 * Normalizes the pending expressions of every table in one transaction that
 * is always rolled back, with as few catalog rows as PostgreSQL allows: one
 * CREATE TEMP TABLE per distinct table shape, with every distinct CHECK of
 * that shape inline (one pg_class row, however many checks), one CREATE INDEX
 * per distinct index, then one read of all they hold. When a statement fails,
 * each expression is tried on its own to name every one that does not parse.
 */
export async function normalizeInBatch(
  db: Kysely<unknown>,
  workers: readonly Kysely<unknown>[],
  pending: readonly DesiredTable[],
  live: LiveTables,
): Promise<NormalizedAnswers> {
  const shapes = shapeProbes(pending, live);
  const checks = new Map<string, string>();
  const indexes = new Map<string, NormalizedIndexFields>();
  if (shapes.size > 0) {
    const groups = splitForWorkers([...shapes.values()], shapes.size >= PARALLEL_FROM ? workers.length : 1);
    const settled = await Promise.allSettled(groups.map((group, i) => rolledBack(groups.length > 1 ? workers[i] : db, (trx) => runProbes(trx, group))));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await refuseUnparsedExpressions(db, pending, live);
      throw failed.reason;
    }
    const read = mergeResults(settled.map((r) => (r as PromiseFulfilledResult<ProbeResults>).value));
    for (const table of pending) {
      const shape = shapes.get(tableShape(liveTable(live, table.ref) as Table)) as ShapeProbe;
      for (const c of table.checks) {
        checks.set(cacheKey(table.ref, 'check', c.name), read.checks.get(`${shape.scratch}.${shape.checks.get(c.source)}`) as string);
      }
      for (const ix of table.indexes) {
        const probe = shape.indexes.get(indexProbe(ix));
        indexes.set(cacheKey(table.ref, 'index', ix.name), read.indexes.get(probe?.name ?? '') as NormalizedIndexFields);
      }
    }
  }
  return {
    check: (table, name) => answer(checks, cacheKey(table, 'check', name)),
    index: (table, name) => answer(indexes, cacheKey(table, 'index', name)),
  };
}

/**
 * From this many table shapes on, the probes are shared out between the
 * workers' connections, each in a rolled-back transaction of its own: the
 * DDL is server CPU, and a second backend uses a second core.
 */
const PARALLEL_FROM = 50;

function splitForWorkers(shapes: readonly ShapeProbe[], workers: number): ShapeProbe[][] {
  const groups: ShapeProbe[][] = Array.from({ length: Math.max(1, workers) }, () => []);
  const cost = groups.map(() => 0);
  for (const shape of shapes) {
    const i = cost.indexOf(Math.min(...cost));
    groups[i].push(shape);
    cost[i] += 1 + shape.indexes.size;
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

function shapeProbes(pending: readonly DesiredTable[], live: LiveTables): Map<string, ShapeProbe> {
  const shapes = new Map<string, ShapeProbe>();
  for (const table of pending) {
    const t = liveTable(live, table.ref) as Table;
    const shape = tableShape(t);
    let probe = shapes.get(shape);
    if (!probe) {
      probe = { scratch: `sd_norm_${shapes.size}`, like: t.ref, checks: new Map(), indexes: new Map() };
      shapes.set(shape, probe);
    }
    for (const c of table.checks) if (!probe.checks.has(c.source)) probe.checks.set(c.source, `sd_ck_${probe.checks.size}`);
    for (const ix of table.indexes) {
      const text = indexProbe(ix);
      if (!probe.indexes.has(text)) probe.indexes.set(text, { name: `${probe.scratch}_ix_${probe.indexes.size}`, index: ix });
    }
  }
  return shapes;
}

interface ProbeResults {
  /** `scratch.probe` → the CHECK's canonical expression. */
  readonly checks: ReadonlyMap<string, string>;
  /** probe index name → its normalized fields. */
  readonly indexes: ReadonlyMap<string, NormalizedIndexFields>;
}

async function runProbes(trx: Transaction<unknown>, shapes: readonly ShapeProbe[]): Promise<ProbeResults> {
  // a worker connection has no session settings of ours: the catalog reads below look costly enough to be JIT-compiled
  await sql.raw('SET LOCAL jit = off').execute(trx);
  for (const shape of shapes) {
    const constraints = [...shape.checks].map(([source, name]) => `, CONSTRAINT ${name} CHECK (${source})`).join('');
    await sql.raw(`CREATE TEMP TABLE ${shape.scratch} (LIKE ${quoteTable(shape.like)}${constraints})`).execute(trx);
    for (const { name, index } of shape.indexes.values()) {
      await sql.raw(createIndexSql(name, `pg_temp.${shape.scratch}`, { ...index, ...index.source })).execute(trx);
    }
  }
  await proveBatch(trx, shapes);
  const scratches = shapes.map((s) => s.scratch);
  const { rows: tables } = await sql<{ oid: number; scratch: string; probe: string | null; def: string | null }>`
    select c.oid::int as oid, c.relname as scratch, con.conname as probe, pg_get_constraintdef(con.oid) as def
      from pg_class c
      left join pg_constraint con on con.conrelid = c.oid and con.contype = 'c'
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${scratches}::text[])`.execute(trx);
  const checks = new Map<string, string>();
  for (const r of tables) if (r.probe !== null && r.def !== null) checks.set(`${r.scratch}.${r.probe}`, checkExpression(r.def));
  const oids = [...new Set(tables.map((r) => r.oid))];
  const indexes = new Map((await introspectIndexes(trx, oids)).map((ix) => [ix.name, normalizedIndexFields(ix)]));
  return { checks, indexes };
}

/**
 * Proof, by the database itself, that the batch made exactly its probes and
 * nothing else (the batched form of probe-check.ts, whose reasons hold here):
 * each scratch table has the columns of the table it copies, exactly the
 * probe CHECKs and probe indexes by name, no trigger, rule or policy; and no
 * probe calls a function or operator that is not IMMUTABLE. Anything else
 * fails the batch, and the one-at-a-time probes (each with its own proof) then
 * name the manifest entry.
 */
async function proveBatch(trx: Transaction<unknown>, shapes: readonly ShapeProbe[]): Promise<void> {
  const { rows } = await sql<{ scratch: string; same_columns: boolean; cons: string[]; idx: string[]; extra: number }>`
    select s.relname as scratch,
           (select string_agg(concat_ws(' ', attname, atttypid, atttypmod, attnotnull, attcollation), ',' order by attnum)
              from pg_attribute where attrelid = s.oid and attnum > 0 and not attisdropped)
             is not distinct from
           (select string_agg(concat_ws(' ', attname, atttypid, atttypmod, attnotnull, attcollation), ',' order by attnum)
              from pg_attribute where attrelid = l.oid and attnum > 0 and not attisdropped) as same_columns,
           -- NOT NULL (contype n, PostgreSQL 17 and PGlite) is copied by LIKE and compared with the columns above
           array(select conname::text from pg_constraint where conrelid = s.oid and contype <> 'n' order by 1) as cons,
           array(select ic.relname::text from pg_index i join pg_class ic on ic.oid = i.indexrelid where i.indrelid = s.oid order by 1) as idx,
           ((select count(*) from pg_trigger where tgrelid = s.oid) + (select count(*) from pg_rewrite where ev_class = s.oid)
             + (select count(*) from pg_policy where polrelid = s.oid))::int as extra
      from unnest(${shapes.map((x) => x.scratch)}::text[], ${shapes.map((x) => x.like.schema)}::text[], ${shapes.map((x) => x.like.name)}::text[])
           as m(scratch, like_schema, like_name)
      join pg_class s on s.relname = m.scratch and s.relnamespace = pg_my_temp_schema()
      join pg_namespace ln on ln.nspname = m.like_schema
      join pg_class l on l.relname = m.like_name and l.relnamespace = ln.oid`.execute(trx);
  const sorted = (xs: Iterable<string>) => JSON.stringify([...xs].sort());
  const wrong = shapes.length !== rows.length || rows.some((r) => {
    const shape = shapes.find((x) => x.scratch === r.scratch) as ShapeProbe;
    const expectedIndexes = [...shape.indexes.values()].map((i) => i.name);
    return !r.same_columns || r.extra !== 0 || sorted(r.cons) !== sorted(shape.checks.values()) || sorted(r.idx) !== sorted(expectedIndexes);
  });
  if (wrong) throw new SchemaDiffError('manifest', 'manifest: an expression did more than define its one constraint or index');
  const { rows: trees } = await sql<{ label: string; tree: string | null }>`
    select c.relname || '.' || con.conname as label, con.conbin::text as tree
      from pg_constraint con join pg_class c on c.oid = con.conrelid
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${shapes.map((x) => x.scratch)}::text[]) and con.contype = 'c'
    union all
    select ic.relname, concat_ws(' ', i.indexprs::text, i.indpred::text)
      from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_class c on c.oid = i.indrelid
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${shapes.map((x) => x.scratch)}::text[])`.execute(trx);
  const mutable = await mutableCallsOf(trx, trees.map((t) => ({ label: t.label, tree: t.tree ?? '' })));
  if (mutable.size > 0) throw new SchemaDiffError('manifest', 'manifest: an expression calls a function that is not IMMUTABLE');
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
