import { sql, type Kysely, type Transaction } from 'kysely';
import { SchemaDiffError, messageOf } from '../../errors.js';
import type { DesiredIndex, DesiredTable, Index, IndexKey, Table, TableRef } from '../../schema/types.js';
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

/**
 * One temporary table that parses the pending expressions of several table
 * shapes: its columns are the union of theirs, each defined exactly as the
 * live table has it (type, typmod, collation, NOT NULL), merged only where two
 * shapes agree on a column of the same name.
 */
interface ScratchProbe {
  readonly scratch: string;
  /** Column name → its definition and its catalog signature. */
  readonly columns: Map<string, ColumnDef>;
  /** The column names of each shape parsed here, by shape. */
  readonly shapes: Map<string, ReadonlySet<string>>;
  /** Manifest text → the probe CHECK's name and the shapes whose tables asked for it. */
  readonly checks: Map<string, Probed>;
  /** indexProbe text → the probe index's name, the index, and the shapes that asked for it. */
  readonly indexes: Map<string, IndexProbed>;
  /** Plain btree indexes parsed as the keys of a few wide ones (see SharedKeys). */
  readonly shared: SharedKeys[];
}

interface IndexProbed extends Probed {
  readonly index: DesiredIndex;
  /** Where its keys are parsed when they share an index; otherwise it is built on its own, under its name. */
  readonly within?: { readonly index: string; readonly offset: number };
}

/**
 * Building an index is what costs once tables are shared: a thousand of them
 * took most of a plan's time. What normalization reads of a plain btree
 * index (no INCLUDE, storage parameters or NULLS NOT DISTINCT) is each key's
 * own: its deparsed expression, operator class, collation and order, which do
 * not depend on the other keys. So such indexes are parsed as the keys of one
 * index of up to INDEX_MAX_KEYS (32) keys, and each predicate as a CHECK on the
 * same scratch table: pg_get_expr prints an index predicate and a CHECK alike
 * (the same deparse, on the same columns); a constant TRUE predicate, which
 * CREATE INDEX drops, is read as none.
 */
interface SharedKeys {
  readonly name: string;
  readonly keys: IndexKey[];
}

const MAX_INDEX_KEYS = 32;

interface Probed {
  readonly name: string;
  readonly shapes: Set<string>;
}

interface ColumnDef {
  /** `"name" type [COLLATE …] [NOT NULL]`, from the catalog (format_type, quote_ident). */
  readonly sql: string;
  /** atttypid, atttypmod, attcollation, attnotnull: what the proof compares. */
  readonly signature: string;
}

/**
 * Creating a temporary table is what costs (a thousand of them, with their
 * TOAST tables, took ten times as long as the same CHECKs on a few wide ones,
 * and left thousands of dead rows in pg_class): shapes share a scratch table
 * up to this many columns. Index builds on wider tables grow slower again.
 */
const COLUMNS_PER_SCRATCH = 120;

/**
 * Normalizes the pending expressions of every table in one transaction that
 * is always rolled back, with as few catalog rows as PostgreSQL allows: a few
 * CREATE TEMP TABLEs whose columns are those of many table shapes, with every
 * distinct CHECK inline, one CREATE INDEX per distinct index, then one read of
 * all they hold. The database then shows which columns each probe used
 * (conkey, indkey, the Vars of its expressions): a probe that used a column
 * its own table lacks (the scratch had it from another shape) is normalized
 * again on a table of its own shape alone. When a statement fails, each
 * expression is tried on its own to name every one that does not parse.
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
    // a probe resolved a column its own table does not have: every shape on a table of its own, every index alone
    if (read === 'borrowed-column') read = (await probeAll(db, workers, pending, live, columns, { columnsPerScratch: 0, shareKeys: false })) as ProbeAnswers;
    for (const table of pending) {
      const scratch = read.scratchOf.get(tableShape(liveTable(live, table.ref) as Table)) as ScratchProbe;
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
): Promise<ProbeAnswers | 'borrowed-column'> {
  const { scratches, scratchOf } = scratchProbes(pending, live, columns, packing);
  const shapeCount = scratchOf.size;
  const groups = splitForWorkers(scratches, shapeCount >= PARALLEL_FROM ? workers.length : 1);
  const settled = await Promise.allSettled(groups.map((group, i) => rolledBack(groups.length > 1 ? workers[i] : db, (trx) => runProbes(trx, group))));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await refuseUnparsedExpressions(db, pending, live);
    throw failed.reason;
  }
  const results = settled.map((r) => (r as PromiseFulfilledResult<ProbeResults | 'borrowed-column'>).value);
  if (results.includes('borrowed-column')) return 'borrowed-column';
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

/**
 * Each live table's columns as CREATE TABLE would define them, read from the
 * catalog in one query (the names and types are the database's own, quoted
 * by it): `LIKE` copies one table, and a scratch table here holds several.
 */
async function columnDefinitions(db: Kysely<unknown>, refs: readonly TableRef[]): Promise<Map<string, (ColumnDef & { name: string })[]>> {
  const { rows } = await sql<{ schema: string; table: string; name: string; sql: string; signature: string }>`
    select w.schema, w.name as table, a.attname as name,
           quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
             || case when a.attcollation <> 0 and a.attcollation <> t.typcollation
                     then ' COLLATE ' || quote_ident(cn.nspname) || '.' || quote_ident(co.collname) else '' end
             || case when a.attnotnull then ' NOT NULL' else '' end as sql,
           concat_ws(' ', a.atttypid, a.atttypmod, a.attcollation, a.attnotnull) as signature
      from unnest(${refs.map((r) => r.schema)}::text[], ${refs.map((r) => r.name)}::text[]) as w(schema, name)
      join pg_namespace n on n.nspname = w.schema
      join pg_class c on c.relnamespace = n.oid and c.relname = w.name
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      join pg_type t on t.oid = a.atttypid
      left join pg_collation co on co.oid = a.attcollation
      left join pg_namespace cn on cn.oid = co.collnamespace
     order by w.schema, w.name, a.attnum`.execute(db);
  const byTable = new Map<string, (ColumnDef & { name: string })[]>();
  for (const r of rows) {
    const key = JSON.stringify([r.schema, r.table]);
    const list = byTable.get(key) ?? [];
    list.push({ name: r.name, sql: r.sql, signature: r.signature });
    byTable.set(key, list);
  }
  return byTable;
}

interface Packing {
  /** The widest a shared scratch table grows (0: one shape per scratch table). */
  readonly columnsPerScratch: number;
  /** Whether plain btree indexes are parsed as keys of shared indexes. */
  readonly shareKeys: boolean;
}

/**
 * Packs the shapes into scratch tables, first fit: a shape joins a scratch
 * when every column name they share has the same definition and the union
 * stays within columnsPerScratch.
 */
function scratchProbes(
  pending: readonly DesiredTable[],
  live: LiveTables,
  columns: ReadonlyMap<string, readonly (ColumnDef & { name: string })[]>,
  packing: Packing,
): { scratches: ScratchProbe[]; scratchOf: Map<string, ScratchProbe> } {
  const scratches: ScratchProbe[] = [];
  const scratchOf = new Map<string, ScratchProbe>();
  for (const table of pending) {
    const t = liveTable(live, table.ref) as Table;
    const shape = tableShape(t);
    let probe = scratchOf.get(shape);
    if (!probe) {
      const own = columns.get(JSON.stringify([t.ref.schema, t.ref.name])) ?? [];
      probe = scratches.find((s) => fits(s, own, packing.columnsPerScratch));
      if (!probe) {
        probe = { scratch: `sd_norm_${scratches.length}`, columns: new Map(), shapes: new Map(), checks: new Map(), indexes: new Map(), shared: [] };
        scratches.push(probe);
      }
      for (const c of own) probe.columns.set(c.name, c);
      probe.shapes.set(shape, new Set(own.map((c) => c.name)));
      scratchOf.set(shape, probe);
    }
    for (const c of table.checks) addCheck(probe, c.source, shape);
    for (const ix of table.indexes) {
      const text = indexProbe(ix);
      const known = probe.indexes.get(text);
      if (known) {
        known.shapes.add(shape);
        if (known.within && ix.source.where) addCheck(probe, ix.source.where, shape);
        continue;
      }
      const within = packing.shareKeys && sharesKeys(ix) ? shareKeys(probe, ix) : undefined;
      if (within && ix.source.where) addCheck(probe, ix.source.where, shape);
      probe.indexes.set(text, { name: `${probe.scratch}_ix_${probe.indexes.size}`, index: ix, shapes: new Set([shape]), ...(within ? { within } : {}) });
    }
  }
  return { scratches, scratchOf };
}

function addCheck(scratch: ScratchProbe, source: string, shape: string): void {
  const probed = scratch.checks.get(source) ?? { name: `sd_ck_${scratch.checks.size}`, shapes: new Set<string>() };
  probed.shapes.add(shape);
  scratch.checks.set(source, probed);
}

/** A btree index whose every normalized field but its keys and predicate is the default. */
function sharesKeys(ix: DesiredIndex): boolean {
  return (
    (ix.method === undefined || ix.method === 'btree') &&
    !ix.include?.length &&
    !ix.nullsNotDistinct &&
    !(ix.with && Object.keys(ix.with).length) &&
    ix.source.keys.length <= MAX_INDEX_KEYS
  );
}

function shareKeys(scratch: ScratchProbe, ix: DesiredIndex): { index: string; offset: number } {
  let shared = scratch.shared[scratch.shared.length - 1];
  if (!shared || shared.keys.length + ix.source.keys.length > MAX_INDEX_KEYS) {
    shared = { name: `${scratch.scratch}_keys_${scratch.shared.length}`, keys: [] };
    scratch.shared.push(shared);
  }
  const offset = shared.keys.length;
  shared.keys.push(...ix.source.keys);
  return { index: shared.name, offset };
}

function fits(scratch: ScratchProbe, own: readonly (ColumnDef & { name: string })[], columnsPerScratch: number): boolean {
  let added = 0;
  for (const c of own) {
    const there = scratch.columns.get(c.name);
    if (there === undefined) added++;
    else if (there.signature !== c.signature) return false;
  }
  return scratch.columns.size + added <= columnsPerScratch;
}

interface ProbeResults {
  /** `scratch.probe` → the CHECK's canonical expression. */
  readonly checks: ReadonlyMap<string, string>;
  /** probe index name → its normalized fields. */
  readonly indexes: ReadonlyMap<string, NormalizedIndexFields>;
}

async function runProbes(trx: Transaction<unknown>, scratches: readonly ScratchProbe[]): Promise<ProbeResults | 'borrowed-column'> {
  // a worker connection has no session settings of ours: the catalog reads below look costly enough to be JIT-compiled
  await sql.raw('SET LOCAL jit = off').execute(trx);
  for (const s of scratches) {
    const columns = [...s.columns.values()].map((c) => c.sql);
    const constraints = [...s.checks].map(([source, { name }]) => `CONSTRAINT ${name} CHECK (${source})`);
    await sql.raw(`CREATE TEMP TABLE ${s.scratch} (${[...columns, ...constraints].join(', ')})`).execute(trx);
    for (const { name, index, within } of s.indexes.values()) {
      if (!within) await sql.raw(createIndexSql(name, `pg_temp.${s.scratch}`, { ...index, ...index.source })).execute(trx);
    }
    for (const { name, keys } of s.shared) {
      await sql.raw(createIndexSql(name, `pg_temp.${s.scratch}`, { unique: false, method: 'btree', keys, where: null })).execute(trx);
    }
  }
  await proveBatch(trx, scratches);
  if (await borrowsColumns(trx, scratches)) return 'borrowed-column';
  const names = scratches.map((s) => s.scratch);
  const { rows: tables } = await sql<{ oid: number; scratch: string; probe: string | null; def: string | null }>`
    select c.oid::int as oid, c.relname as scratch, con.conname as probe, pg_get_constraintdef(con.oid) as def
      from pg_class c
      left join pg_constraint con on con.conrelid = c.oid and con.contype = 'c'
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${names}::text[])`.execute(trx);
  const checks = new Map<string, string>();
  for (const r of tables) if (r.probe !== null && r.def !== null) checks.set(`${r.scratch}.${r.probe}`, checkExpression(r.def));
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

/** An index parsed as keys of a shared one: its slice of the keys, its predicate from its CHECK, the rest btree's defaults. */
function sharedKeyFields(s: ScratchProbe, probed: IndexProbed, built: ReadonlyMap<string, Index>, checks: ReadonlyMap<string, string>): NormalizedIndexFields {
  const { index: shared, offset } = probed.within as { index: string; offset: number };
  const keys = (built.get(shared) as Index).keys.slice(offset, offset + probed.index.source.keys.length);
  const source = probed.index.source.where;
  const predicate = source ? (checks.get(`${s.scratch}.${s.checks.get(source)?.name}`) as string) : null;
  // the same fields normalizedIndexFields reads off an index of its own, absent ones included
  return { keys, where: predicate === 'true' ? null : predicate, method: 'btree', include: undefined, nullsNotDistinct: undefined, with: undefined };
}

/**
 * Whether a probe on a shared scratch table used a column that one of the
 * tables asking for it lacks, or the whole row (which is not its table's):
 * read from the database, the columns a CHECK uses (conkey) and an index
 * uses (indkey, and the Vars of its expressions and predicate); for an index
 * parsed as keys of a shared one, the keys of its slice.
 */
async function borrowsColumns(trx: Transaction<unknown>, scratches: readonly ScratchProbe[]): Promise<boolean> {
  const shared = scratches.filter((s) => s.shapes.size > 1);
  if (shared.length === 0) return false;
  const names = shared.map((s) => s.scratch);
  const { rows } = await sql<{ scratch: string; probe: string; attnums: number[]; exprs: string | null; pred: string | null }>`
    select c.relname as scratch, con.conname as probe, coalesce(con.conkey::int[], '{}') as attnums, null as exprs, null as pred
      from pg_constraint con join pg_class c on c.oid = con.conrelid
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${names}::text[]) and con.contype = 'c'
    union all
    select c.relname, ic.relname, i.indkey::int2[]::int[], i.indexprs::text, i.indpred::text
      from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_class c on c.oid = i.indrelid
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${names}::text[])`.execute(trx);
  const { rows: attributes } = await sql<{ scratch: string; attnum: number; name: string }>`
    select c.relname as scratch, a.attnum::int as attnum, a.attname as name
      from pg_attribute a join pg_class c on c.oid = a.attrelid
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${names}::text[]) and a.attnum > 0`.execute(trx);
  const nameOf = new Map(attributes.map((a) => [`${a.scratch}.${a.attnum}`, a.name]));
  const byName = new Map(shared.map((s) => [s.scratch, s]));
  // every probe's used columns, as names, against the columns of each shape that asked for it
  const outside = (scratch: ScratchProbe, shapes: Iterable<string>, attnums: readonly number[]) =>
    attnums.some((n) => n <= 0) ||
    [...shapes].some((shape) => attnums.some((n) => !(scratch.shapes.get(shape) as ReadonlySet<string>).has(nameOf.get(`${scratch.scratch}.${n}`) ?? '')));
  for (const r of rows) {
    const scratch = byName.get(r.scratch) as ScratchProbe;
    const check = [...scratch.checks.values()].find((p) => p.name === r.probe);
    if (check) {
      if (outside(scratch, check.shapes, r.attnums)) return true;
      continue;
    }
    const exprs = topLevelNodes(r.exprs ?? '');
    const keyColumns = (from: number, count: number) =>
      r.attnums.slice(from, from + count).flatMap((n, k) => (n !== 0 ? [n] : varattnos(exprs[r.attnums.slice(0, from + k).filter((x) => x === 0).length] ?? '')));
    const alone = [...scratch.indexes.values()].find((p) => p.name === r.probe && !p.within);
    if (alone) {
      if (outside(scratch, alone.shapes, [...keyColumns(0, r.attnums.length), ...varattnos(r.pred ?? '')])) return true;
      continue;
    }
    const members = [...scratch.indexes.values()].filter((p) => p.within?.index === r.probe);
    if (members.length === 0) return true;
    for (const m of members) if (outside(scratch, m.shapes, keyColumns(m.within?.offset ?? 0, m.index.source.keys.length))) return true;
  }
  return false;
}

/** The column numbers of the Vars in a stored expression tree (varno 1 is the one table; 0 is the whole row). */
function varattnos(tree: string): number[] {
  return [...tree.matchAll(/:varattno (-?\d+)/g)].map((m) => Number(m[1]));
}

/**
 * The elements of a stored list of expression trees, `({FUNCEXPR …} {OPEXPR …})`,
 * in order: split at brace depth zero. Braces inside a token are escaped with
 * a backslash by PostgreSQL's outToken.
 */
function topLevelNodes(list: string): string[] {
  const nodes: string[] = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < list.length; i++) {
    const ch = list[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}') {
      depth--;
      if (depth === 0) nodes.push(list.slice(start, i + 1));
    }
  }
  return nodes;
}

/**
 * Proof, by the database itself, that the batch made exactly its probes and
 * nothing else (the batched form of probe-check.ts, whose reasons hold here):
 * each scratch table has exactly the columns it was defined with (names and
 * catalog signatures, as read from the live tables), exactly the probe CHECKs
 * and probe indexes by name, no trigger, rule or policy; and no probe calls a
 * function or operator that is not IMMUTABLE. Anything else fails the batch,
 * and the one-at-a-time probes (each with its own proof) then name the
 * manifest entry.
 */
async function proveBatch(trx: Transaction<unknown>, scratches: readonly ScratchProbe[]): Promise<void> {
  const { rows } = await sql<{ scratch: string; columns: string | null; cons: string[]; idx: string[]; extra: number }>`
    select s.relname as scratch,
           (select string_agg(attname || ' ' || concat_ws(' ', atttypid, atttypmod, attcollation, attnotnull), ',' order by attnum)
              from pg_attribute where attrelid = s.oid and attnum > 0 and not attisdropped) as columns,
           -- NOT NULL (contype n, PostgreSQL 17 and PGlite) is part of the columns above
           array(select conname::text from pg_constraint where conrelid = s.oid and contype <> 'n' order by 1) as cons,
           array(select ic.relname::text from pg_index i join pg_class ic on ic.oid = i.indexrelid where i.indrelid = s.oid order by 1) as idx,
           ((select count(*) from pg_trigger where tgrelid = s.oid) + (select count(*) from pg_rewrite where ev_class = s.oid)
             + (select count(*) from pg_policy where polrelid = s.oid))::int as extra
      from pg_class s
     where s.relnamespace = pg_my_temp_schema() and s.relname = any(${scratches.map((x) => x.scratch)}::text[])`.execute(trx);
  const sorted = (xs: Iterable<string>) => JSON.stringify([...xs].sort());
  const wrong = scratches.length !== rows.length || rows.some((r) => {
    const scratch = scratches.find((x) => x.scratch === r.scratch) as ScratchProbe;
    const expectedColumns = [...scratch.columns].map(([name, c]) => `${name} ${c.signature}`).join(',');
    const expectedChecks = [...scratch.checks.values()].map((c) => c.name);
    const expectedIndexes = [...[...scratch.indexes.values()].filter((i) => !i.within).map((i) => i.name), ...scratch.shared.map((k) => k.name)];
    return r.columns !== expectedColumns || r.extra !== 0 || sorted(r.cons) !== sorted(expectedChecks) || sorted(r.idx) !== sorted(expectedIndexes);
  });
  if (wrong) throw new SchemaDiffError('manifest', 'manifest: an expression did more than define its one constraint or index');
  const { rows: trees } = await sql<{ label: string; tree: string | null }>`
    select c.relname || '.' || con.conname as label, con.conbin::text as tree
      from pg_constraint con join pg_class c on c.oid = con.conrelid
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${scratches.map((x) => x.scratch)}::text[]) and con.contype = 'c'
    union all
    select ic.relname, concat_ws(' ', i.indexprs::text, i.indpred::text)
      from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_class c on c.oid = i.indrelid
     where c.relnamespace = pg_my_temp_schema() and c.relname = any(${scratches.map((x) => x.scratch)}::text[])`.execute(trx);
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
