import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import { SchemaDiffError, messageOf } from '../../errors.js';
import type { Catalog, Table, TableRef } from '../../schema/types.js';
import { findTable, qualifiedName } from '../../schema/types.js';
import type { ViolationCount, ViolationOptions, ViolationTarget } from '../dialect.js';
import { scanExpression } from './expr-columns.js';
import {
  foreignKeyCountSql,
  rowFilterSql,
  tablePassSql,
  uniqueCountSql,
  uniquesPassSql,
  type CheckTarget,
  type ForeignKeyTarget,
  type UniqueTarget,
} from './violation-sql.js';
import { addSamples } from './violation-samples.js';

/** Tables at least this big get progress lines (start, heartbeat, duration) for each query. */
const LARGE_TABLE_ROWS = 100_000;
const LARGE_TABLE_BYTES = 16 * 1024 * 1024;
const HEARTBEAT_MS = 5_000;

type Row = Record<string, unknown>;
export type Outcome = { violations: number; groups?: number; sample: Row[]; error?: string };

export interface TableWork {
  readonly ref: TableRef;
  /** The tables checked and the parents their foreign keys reference. */
  readonly catalog: Catalog;
  readonly table: Table | undefined;
  readonly targets: readonly ViolationTarget[];
  readonly bytes: number;
  /** The table certainly holds no row (tableSizes says when): it is not scanned. */
  readonly empty: boolean;
}

/**
 * Counts the rows that break each target, reading only. Tables are checked in
 * parallel over the read pool (`jobs` workers, biggest tables first); each
 * table inside one READ ONLY, REPEATABLE READ transaction, so its counts and
 * samples see the same rows and nothing can be written whatever an expression
 * calls. Per table: one scan counts the rows, every CHECK and every foreign
 * key (an outer join per parent), one more counts every unique index,
 * and samples are read only for constraints with violations. An expression
 * that fails is reported on its constraint with the database's message; the
 * others are still counted.
 */
export async function countViolationsPostgres(
  db: Kysely<unknown>,
  introspect: (tables: readonly TableRef[]) => Promise<Catalog>,
  targets: readonly ViolationTarget[],
  options: ViolationOptions,
): Promise<ViolationCount[]> {
  const work = await planWork(db, introspect, targets);
  const slicing = options.background ? await sliceSupport(db) : null;
  const perTable: ViolationOptions = { ...options, samples: Math.max(0, Math.floor(options.samples)) };
  const results = new Map<ViolationTarget, ViolationCount>();
  const queue = [...work];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const w = next;
      const outcome =
        (w.empty && emptyTableCounts(w)) ||
        (slicing && (await countInSlices(db, w, perTable, slicing))) ||
        (await readOnly(db, options, (trx) => countTable(trx, w, perTable)).catch((e: unknown) => {
          throw cancelledOr(e, w);
        }));
      for (const [t, count] of outcome) results.set(t, count);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, work.length)) }, worker));
  return targets.map((t) => results.get(t) as ViolationCount);
}

/** Apply's check beside index builds: a big table's pass in slices of about this many bytes, each its own transaction. */
const SLICE_BYTES = 32 * 1024 * 1024;
/** A foreign key's parent small enough to be hashed again for every slice. */
const SMALL_PARENT_ROWS = 100_000;

interface SliceSupport {
  readonly blockSize: number;
}

/** TID range scans (PostgreSQL 14) read a slice of a table by its blocks; older servers would scan it whole per slice. */
async function sliceSupport(db: Kysely<unknown>): Promise<SliceSupport | null> {
  const { rows } = await sql<{ block_size: number; tid_ranges: boolean }>`
    select current_setting('block_size')::int as block_size, current_setting('server_version_num')::int >= 140000 as tid_ranges`.execute(db);
  return rows[0]?.tid_ranges ? { blockSize: Number(rows[0].block_size) } : null;
}

/**
 * apply's check beside its index builds: each build waits at its end for the
 * transactions older than it, the check's among them, so one long scan of a
 * big table delays every build that ends during it. Here the table's pass
 * (rows, CHECKs, foreign keys) runs as block-range slices, each in its own
 * short read-only transaction, and the counts are summed; unique indexes are
 * then counted whole, as before. Only where it is cheap and says the same:
 * counts only (no samples, no --since), every foreign key's parent small (it
 * is joined again per slice), every expression sound. Otherwise, or when a
 * slice fails (the whole-table path then names the constraint), null.
 * A row an application moves between slices meanwhile may be counted twice or
 * not at all, as one written just after any check: VALIDATE is the proof.
 */
async function countInSlices(db: Kysely<unknown>, work: TableWork, options: ViolationOptions, support: SliceSupport) {
  const sliceBytes = options.sliceBytes ?? SLICE_BYTES;
  if (options.samples > 0 || options.since || work.bytes < 2 * sliceBytes) return null;
  const checks = work.targets.filter((t): t is CheckTarget => t.kind === 'check');
  const keys = work.targets.filter((t): t is ForeignKeyTarget => t.kind === 'foreign_key');
  const uniques = work.targets.filter((t): t is UniqueTarget => t.kind === 'unique');
  if (checks.length + keys.length === 0 || checks.some((c) => expressionProblem(c.expr))) return null;
  const smallParent = (fk: ForeignKeyTarget) => {
    const estimate = findTable(work.catalog, fk.refTable)?.rowEstimate ?? -1;
    return estimate >= 0 && estimate <= SMALL_PARENT_ROWS;
  };
  if (keys.some((fk) => fk.refColumns.length !== fk.columns.length || !smallParent(fk))) return null;
  const passKeys = keys.map((fk) => ({ fk, parentUnique: parentKeyIsUnique(work.catalog, fk) }));
  const blocks = Math.ceil(work.bytes / support.blockSize);
  const per = Math.max(1, Math.floor(sliceBytes / support.blockSize));
  const name = qualifiedName(work.ref);
  const label = `${passLabel(checks.length, keys.length)}, in ${Math.ceil(blocks / per)} slices`;
  const started = Date.now();
  options.onProgress?.(`${name} (${sizeOf(work)}): ${label} …`);
  let rows = 0;
  const sums = [...checks, ...keys].map(() => 0);
  for (let from = 0; from < blocks; from += per) {
    // the last slice is open-ended: it takes the blocks the table grew by since its size was read
    const range = `ctid >= '(${from},0)'::tid` + (from + per < blocks ? ` AND ctid < '(${from + per},0)'::tid` : '');
    const row = await readOnly(db, options, async (trx) => (await trx.executeQuery<Row>(CompiledQuery.raw(tablePassSql(work.ref, checks, passKeys, range)))).rows[0]).catch(
      (e: unknown) => {
        if (isCancelled(e)) throw cancelledOr(e, work);
        return null;
      },
    );
    if (!row) return null;
    rows += Number(row.total);
    checks.forEach((_, i) => (sums[i] += Number(row[`c${i}`])));
    keys.forEach((_, i) => (sums[checks.length + i] += Number(row[`f${i}`])));
  }
  options.onProgress?.(`${name}: ${label} done in ${seconds(Date.now() - started)}`);
  const result = new Map<ViolationTarget, ViolationCount>([...checks, ...keys].map((t, i) => [t, countOf(t, counted(sums[i]), rows)]));
  if (uniques.length > 0) {
    const counts = await readOnly(db, options, (trx) => countUniques(stepRunner(trx, { ...work, targets: uniques }, options, []), uniques, undefined)).catch(
      (e: unknown) => {
        throw cancelledOr(e, work);
      },
    );
    for (const [t, o] of counts) result.set(t, countOf(t, o, rows));
  }
  return result;
}

/** One read-only transaction of the check, with its settings (countViolationsPostgres). */
async function readOnly<T>(db: Kysely<unknown>, options: ViolationOptions, body: (trx: Transaction<unknown>) => Promise<T>): Promise<T> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      // Beside a live application (apply's check), leave it the cores: no parallel workers for our scans.
      if (options.background) await sql`SET LOCAL max_parallel_workers_per_gather = 0`.execute(trx);
      // A role's or database's statement_timeout is meant for the application's queries: a full scan
      // of a big table outlasts it, and a check cut short proves nothing (docs/validate.md).
      await sql`SET LOCAL statement_timeout = 0`.execute(trx);
      return body(trx);
    });
}

/**
 * Each table's work, the biggest first. The catalog (row estimates, the parents' keys) is read only for the tables
 * that hold rows and the parents their foreign keys reference: an empty table needs none of it.
 */
async function planWork(
  db: Kysely<unknown>,
  introspect: (tables: readonly TableRef[]) => Promise<Catalog>,
  targets: readonly ViolationTarget[],
): Promise<TableWork[]> {
  const byTable = new Map<string, ViolationTarget[]>();
  for (const t of targets) {
    const list = byTable.get(qualifiedName(t.table));
    if (list) list.push(t);
    else byTable.set(qualifiedName(t.table), [t]);
  }
  const refs = [...byTable.values()].map((ts) => ts[0].table);
  const sizes = await tableSizes(db, refs);
  const read = refs.filter((_, i) => !sizes[i].empty);
  const parents = read.flatMap((ref) => (byTable.get(qualifiedName(ref)) ?? []).flatMap((t) => (t.kind === 'foreign_key' ? [t.refTable] : [])));
  const wanted = [...new Map([...read, ...parents].map((r) => [qualifiedName(r), r])).values()];
  const catalog: Catalog = wanted.length > 0 ? await introspect(wanted) : { dialect: 'postgres', tables: [] };
  const work = refs.map((ref, i) => ({
    ref,
    catalog,
    table: findTable(catalog, ref),
    targets: byTable.get(qualifiedName(ref)) ?? [],
    bytes: sizes[i].bytes,
    empty: sizes[i].empty,
  }));
  // the longest first: with two workers, a big table started last would finish alone
  return work.sort((a, b) => b.bytes - a.bytes);
}

/** The bytes countViolationsPostgres would scan for these targets: their tables' heaps (parents are joined by key). */
export async function bytesToScanPostgres(db: Kysely<unknown>, targets: readonly ViolationTarget[]): Promise<number> {
  const refs = [...new Map(targets.map((t) => [qualifiedName(t.table), t.table])).values()];
  return (await tableSizes(db, refs)).reduce((a, s) => a + s.bytes, 0);
}

/**
 * Each table's heap size in bytes, and whether it certainly holds no row: an ordinary, permanent table stored
 * by the heap access method, with no child table, whose main fork has no page. Anything else is scanned: a
 * partitioned table or an INHERITS parent (its rows may be its children's, which the scan reads and
 * PostgreSQL's VALIDATE checks), another access method (it may keep rows outside the main fork), an unlogged or
 * temporary table (on a standby an unlogged table's main fork reads as empty), a foreign table.
 */
async function tableSizes(db: Kysely<unknown>, refs: readonly TableRef[]): Promise<{ bytes: number; empty: boolean }[]> {
  if (refs.length === 0) return [];
  const { rows } = await db
    .transaction()
    .setAccessMode('read only')
    .execute((trx) =>
      sql<{ bytes: number | null; empty: boolean | null }>`
        select pg_relation_size(c.oid)::float8 as bytes,
               (c.relkind = 'r' and c.relpersistence = 'p' and not c.relhassubclass
                and c.relam = (select oid from pg_am where amname = 'heap')
                and pg_relation_size(c.oid) = 0) as empty
          from unnest(${refs.map((r) => r.schema)}::text[], ${refs.map((r) => r.name)}::text[]) with ordinality as w(schema, name, ord)
          left join pg_class c on c.oid = to_regclass(format('%I.%I', w.schema, w.name))
         order by w.ord`.execute(trx),
    );
  return rows.map((r) => ({ bytes: Number(r.bytes ?? 0), empty: r.empty === true }));
}

/**
 * A table that certainly holds no row (tableSizes): every constraint holds on it, and it needs no transaction of its
 * own (at a thousand empty tables, those round trips were most of plan's check of existing rows). A row written
 * since the size was read is one written just after any check: VALIDATE is the proof.
 */
function emptyTableCounts(work: TableWork): Map<ViolationTarget, ViolationCount> {
  return new Map(work.targets.map((t) => [t, countOf(t, t.kind === 'unique' ? counted(0, 0) : counted(0), 0)]));
}

async function countTable(trx: Transaction<unknown>, work: TableWork, options: ViolationOptions): Promise<Map<ViolationTarget, ViolationCount>> {
  // validate --since: every query of the table reads only its recent rows, the value bound as $1
  const filter = options.since ? rowFilterSql(options.since.column) : undefined;
  const step = stepRunner(trx, work, options, options.since ? [options.since.from] : []);
  const checks = work.targets.filter((t): t is CheckTarget => t.kind === 'check');
  const keys = work.targets.filter((t): t is ForeignKeyTarget => t.kind === 'foreign_key');
  const uniques = work.targets.filter((t): t is UniqueTarget => t.kind === 'unique');
  const { rows, counts } = await countChecksAndKeys(step, work, checks, keys, filter);
  for (const [t, o] of await countUniques(step, uniques, filter)) counts.set(t, o);
  // Samples only where a constraint has violations: a clean table costs its passes and nothing more.
  if (options.samples > 0) await addSamples(step, work, counts, options.samples, filter);
  return new Map(work.targets.map((t) => [t, countOf(t, counts.get(t) as Outcome, rows)]));
}

function countOf(t: ViolationTarget, o: Outcome, rows: number | null): ViolationCount {
  return {
    name: t.name,
    table: t.table,
    kind: t.kind,
    severity: t.severity,
    violations: o.violations,
    ...(o.groups !== undefined ? { groups: o.groups } : {}),
    ...(rows !== null ? { rows } : {}),
    sample: o.sample,
    ...(o.error !== undefined ? { error: o.error } : {}),
  };
}

const failed = (error: string): Outcome => ({ violations: 0, sample: [], error });
const counted = (violations: number, groups?: number): Outcome => ({ violations, sample: [], ...(groups !== undefined ? { groups } : {}) });

/**
 * The row count, every CHECK and every foreign key of the table in one scan
 * (tablePassSql). When that scan fails, each constraint alone, so the failing one is named.
 */
async function countChecksAndKeys(
  step: Step,
  work: TableWork,
  checks: readonly CheckTarget[],
  keys: readonly ForeignKeyTarget[],
  filter: string | undefined,
) {
  const counts = new Map<ViolationTarget, Outcome>();
  const runnable = checks.filter((c) => {
    const problem = expressionProblem(c.expr);
    if (problem) counts.set(c, failed(problem));
    return !problem;
  });
  const joinable = keys.filter((fk) => {
    if (fk.refColumns.length === fk.columns.length) return true;
    counts.set(fk, failed(`references ${fk.refColumns.length} column(s) for ${fk.columns.length}`));
    return false;
  });
  const passKeys = joinable.map((fk) => ({ fk, parentUnique: parentKeyIsUnique(work.catalog, fk) }));
  const pass = await step(passLabel(runnable.length, joinable.length), tablePassSql(work.ref, runnable, passKeys, filter));
  if (!('error' in pass)) {
    const row = pass.rows[0];
    runnable.forEach((c, i) => counts.set(c, counted(Number(row[`c${i}`]))));
    joinable.forEach((fk, i) => counts.set(fk, counted(Number(row[`f${i}`]))));
    return { rows: Number(row.total), counts };
  }
  for (const c of runnable) {
    const one = await step(`CHECK ${c.name}`, tablePassSql(work.ref, [c], [], filter));
    counts.set(c, 'error' in one ? failed(one.error) : counted(Number(one.rows[0].c0)));
  }
  for (const fk of joinable) {
    const one = await step(`foreign key ${fk.name}`, foreignKeyCountSql(fk, filter));
    counts.set(fk, 'error' in one ? failed(one.error) : counted(Number(one.rows[0].n)));
  }
  const total = await step('row count', tablePassSql(work.ref, [], [], filter));
  return { rows: 'error' in total ? null : Number(total.rows[0].total), counts };
}

function passLabel(checks: number, keys: number): string {
  if (checks === 0 && keys === 0) return 'row count';
  const parts = [...(checks ? [`${checks} CHECK(s)`] : []), ...(keys ? [`${keys} foreign key(s)`] : [])];
  return `${parts.join(' and ')} in one pass`;
}

/**
 * Whether the parent's key columns are its primary key or those of a valid,
 * non-partial unique index on plain columns: then each child row finds at
 * most one parent and the pass joins the table itself (by its index).
 */
function parentKeyIsUnique(catalog: Catalog, fk: ForeignKeyTarget): boolean {
  const parent = findTable(catalog, fk.refTable);
  if (!parent) return false;
  const same = (columns: readonly string[]) => columns.length === fk.refColumns.length && columns.every((c) => fk.refColumns.includes(c));
  if (parent.primaryKey.length > 0 && same(parent.primaryKey)) return true;
  return parent.indexes.some(
    (ix) => ix.unique && ix.valid && ix.where === null && ix.keys.every((k) => 'column' in k) && same(ix.keys.map((k) => ('column' in k ? k.column : ''))),
  );
}

/**
 * Every unique index of the table in one scan (uniquesPassSql); only an index
 * with duplicates then gets its grouped query, which says how many keys are
 * duplicated. When the scan fails, each index alone, so the failing one is named.
 */
async function countUniques(step: Step, uniques: readonly UniqueTarget[], filter: string | undefined): Promise<Map<ViolationTarget, Outcome>> {
  const counts = new Map<ViolationTarget, Outcome>();
  const runnable = uniques.filter((ix) => {
    const problem = [...ix.keys.flatMap((k) => ('expr' in k ? [k.expr] : [])), ...(ix.where ? [ix.where] : [])]
      .map(expressionProblem)
      .find((p) => p !== null);
    if (problem) counts.set(ix, failed(problem));
    return !problem;
  });
  if (runnable.length === 0) return counts;
  const pass = await step(runnable.length === 1 ? `unique index ${runnable[0].name}` : `${runnable.length} unique indexes in one pass`, uniquesPassSql(runnable, filter));
  for (const [i, ix] of runnable.entries()) {
    if (!('error' in pass) && Number(pass.rows[0][`u${i}`]) === 0) {
      counts.set(ix, counted(0, 0));
      continue;
    }
    const one = await step(`unique index ${ix.name}`, uniqueCountSql(ix, filter));
    counts.set(ix, 'error' in one ? failed(one.error) : counted(Number(one.rows[0].excess), Number(one.rows[0].groups)));
  }
  return counts;
}

/** validate wraps user SQL in `( … )`: text that could close it or end the statement is refused, not run. */
function expressionProblem(expr: string): string | null {
  const problem = scanExpression(expr).problem;
  return problem ? `not a single SQL expression (${problem}); not run` : null;
}

export type Step = (label: string, query: string) => Promise<{ rows: Row[] } | { error: string }>;

/**
 * Runs one query of a table's transaction inside a savepoint, so a failing
 * expression leaves the transaction usable, with progress lines for large tables.
 */
function stepRunner(trx: Transaction<unknown>, work: TableWork, options: ViolationOptions, parameters: readonly unknown[]): Step {
  const large = (work.table?.rowEstimate ?? -1) >= LARGE_TABLE_ROWS || work.bytes >= LARGE_TABLE_BYTES;
  const name = qualifiedName(work.ref);
  const say = large && options.onProgress ? options.onProgress : null;
  if (say) say(`${name} (${sizeOf(work)}): ${work.targets.length} constraint(s)`);
  return async (label, query) => {
    const started = Date.now();
    say?.(`${name}: ${label} …`);
    const heartbeat = say ? setInterval(() => say(`${name}: ${label} still running (${seconds(Date.now() - started)})`), HEARTBEAT_MS) : null;
    await sql.raw('SAVEPOINT schema_diff_validate').execute(trx);
    try {
      const { rows } = await trx.executeQuery<Row>(CompiledQuery.raw(query, [...parameters]));
      await sql.raw('RELEASE SAVEPOINT schema_diff_validate').execute(trx);
      say?.(`${name}: ${label} done in ${seconds(Date.now() - started)}`);
      return { rows };
    } catch (e) {
      // A cancelled scan says nothing about the rows: the whole check fails rather than report this constraint broken.
      if (isCancelled(e)) throw e;
      await sql.raw('ROLLBACK TO SAVEPOINT schema_diff_validate').execute(trx);
      return { error: messageOf(e).split('\n')[0] };
    } finally {
      if (heartbeat) clearInterval(heartbeat);
    }
  };
}

const QUERY_CANCELED = '57014';

function isCancelled(e: unknown): boolean {
  return (e as { code?: string }).code === QUERY_CANCELED;
}

/** A cancelled check as what it is: no verdict on the rows, not a violation. */
function cancelledOr(e: unknown, work: TableWork): unknown {
  if (!isCancelled(e)) return e;
  const names = work.targets.map((t) => t.name).join(', ');
  return new SchemaDiffError(
    'execution',
    `the check of existing rows of ${qualifiedName(work.ref)} against ${names} was cancelled (by a statement_timeout or a cancel request) before it finished: no row was judged; nothing was changed`,
    [],
    { cause: e },
  );
}

function sizeOf(work: TableWork): string {
  const rows = work.table?.rowEstimate ?? -1;
  const mb = `${Math.round(work.bytes / 1024 / 1024)} MB`;
  return rows >= 0 ? `~${rows.toLocaleString('en-US')} rows, ${mb}` : mb;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
