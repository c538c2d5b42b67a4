import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import { SchemaDiffError, messageOf } from '../../errors.js';
import type { Catalog, Table, TableRef } from '../../schema/types.js';
import { findTable, qualifiedName } from '../../schema/types.js';
import type { ViolationCount, ViolationOptions, ViolationTarget } from '../dialect.js';
import { referencedColumns, scanExpression } from './expr-columns.js';
import {
  SAMPLE_KIND,
  checkPassSql,
  checkSamplesSql,
  foreignKeyCountSql,
  foreignKeySamplesSql,
  ORPHANS,
  rowFilterSql,
  uniqueCountSql,
  uniqueSamplesSql,
  type CheckTarget,
  type SampleShape,
} from './violation-sql.js';

/** Tables at least this big get progress lines (start, heartbeat, duration) for each query. */
const LARGE_TABLE_ROWS = 100_000;
const LARGE_TABLE_BYTES = 16 * 1024 * 1024;
const HEARTBEAT_MS = 5_000;

type Row = Record<string, unknown>;
type Outcome = { violations: number; groups?: number; sample: Row[]; error?: string };

interface TableWork {
  readonly ref: TableRef;
  readonly table: Table | undefined;
  readonly targets: readonly ViolationTarget[];
  readonly bytes: number;
}

/**
 * Counts the rows that break each target, reading only. Tables are checked in
 * parallel over the read pool (`jobs` workers, biggest tables first); each
 * table inside one READ ONLY, REPEATABLE READ transaction, so its counts and
 * samples see the same rows and nothing can be written whatever an expression
 * calls. Per table: one scan counts every CHECK, one anti-join per foreign key,
 * one grouped query per unique index. An expression that fails is reported on
 * its constraint with the database's message; the others are still counted.
 */
export async function countViolationsPostgres(
  db: Kysely<unknown>,
  catalog: Catalog,
  targets: readonly ViolationTarget[],
  options: ViolationOptions,
): Promise<ViolationCount[]> {
  const work = await planWork(db, catalog, targets);
  const perTable: ViolationOptions = { ...options, samples: Math.max(0, Math.floor(options.samples)) };
  const results = new Map<ViolationTarget, ViolationCount>();
  const queue = [...work];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const w = next;
      const counted = await db
        .transaction()
        .setIsolationLevel('repeatable read')
        .setAccessMode('read only')
        .execute(async (trx) => {
          // Beside a live application (apply's check), leave it the cores: no parallel workers for our scans.
          if (options.background) await sql`SET LOCAL max_parallel_workers_per_gather = 0`.execute(trx);
          // A role's or database's statement_timeout is meant for the application's queries: a full scan
          // of a big table outlasts it, and a check cut short proves nothing (docs/validate.md).
          await sql`SET LOCAL statement_timeout = 0`.execute(trx);
          return countTable(trx, w, perTable);
        })
        .catch((e: unknown) => {
          throw cancelledOr(e, w);
        });
      for (const [t, outcome] of counted) results.set(t, outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, work.length)) }, worker));
  return targets.map((t) => results.get(t) as ViolationCount);
}

async function planWork(db: Kysely<unknown>, catalog: Catalog, targets: readonly ViolationTarget[]): Promise<TableWork[]> {
  const byTable = new Map<string, ViolationTarget[]>();
  for (const t of targets) byTable.set(qualifiedName(t.table), [...(byTable.get(qualifiedName(t.table)) ?? []), t]);
  const refs = [...byTable.values()].map((ts) => ts[0].table);
  const bytes = await tableBytes(db, refs);
  const work = refs.map((ref, i) => ({ ref, table: findTable(catalog, ref), targets: byTable.get(qualifiedName(ref)) ?? [], bytes: bytes[i] }));
  // the longest first: with two workers, a big table started last would finish alone
  return work.sort((a, b) => b.bytes - a.bytes);
}

async function tableBytes(db: Kysely<unknown>, refs: readonly TableRef[]): Promise<number[]> {
  if (refs.length === 0) return [];
  const { rows } = await db
    .transaction()
    .setAccessMode('read only')
    .execute((trx) =>
      sql<{ bytes: number | null }>`
        select pg_relation_size(to_regclass(format('%I.%I', w.schema, w.name)))::float8 as bytes
          from unnest(${refs.map((r) => r.schema)}::text[], ${refs.map((r) => r.name)}::text[]) with ordinality as w(schema, name, ord)
         order by w.ord`.execute(trx),
    );
  return rows.map((r) => Number(r.bytes ?? 0));
}

async function countTable(trx: Transaction<unknown>, work: TableWork, options: ViolationOptions): Promise<Map<ViolationTarget, ViolationCount>> {
  // validate --since: every query of the table reads only its recent rows, the value bound as $1
  const filter = options.since ? rowFilterSql(options.since.column) : undefined;
  const step = stepRunner(trx, work, options, options.since ? [options.since.from] : []);
  const outcomes = new Map<ViolationTarget, Outcome>();
  const checks = work.targets.filter((t): t is CheckTarget => t.kind === 'check');
  const { rows, counts } = await countChecks(step, work.ref, checks, filter);
  const violated = checks.filter((c) => (counts.get(c)?.violations ?? 0) > 0 && !counts.get(c)?.error);
  const samples = options.samples > 0 && violated.length > 0 ? await sampleChecks(step, work, violated, options.samples, filter) : new Map();
  for (const c of checks) outcomes.set(c, { ...(counts.get(c) as Outcome), sample: samples.get(c) ?? [] });
  for (const t of work.targets) {
    if (t.kind === 'foreign_key') outcomes.set(t, await countForeignKey(step, work, t, options.samples, filter));
    if (t.kind === 'unique') outcomes.set(t, await countUnique(step, work, t, options.samples, filter));
  }
  const result = new Map<ViolationTarget, ViolationCount>();
  for (const t of work.targets) {
    const o = outcomes.get(t) as Outcome;
    result.set(t, {
      name: t.name,
      table: t.table,
      kind: t.kind,
      severity: t.severity,
      violations: o.violations,
      ...(o.groups !== undefined ? { groups: o.groups } : {}),
      ...(rows !== null ? { rows } : {}),
      sample: o.sample,
      ...(o.error !== undefined ? { error: o.error } : {}),
    });
  }
  return result;
}

/** The table's CHECKs in one scan; when that scan fails, each alone, so the failing one is named. */
async function countChecks(step: Step, table: TableRef, checks: readonly CheckTarget[], filter: string | undefined) {
  const counts = new Map<CheckTarget, Outcome>();
  const runnable = checks.filter((c) => {
    const problem = expressionProblem(c.expr);
    if (problem) counts.set(c, { violations: 0, sample: [], error: problem });
    return !problem;
  });
  const label = runnable.length ? `${runnable.length} CHECK(s) in one pass` : 'row count';
  const pass = await step(label, checkPassSql(table, runnable, filter));
  if (!('error' in pass)) {
    runnable.forEach((c, i) => counts.set(c, { violations: Number(pass.rows[0][`c${i}`]), sample: [] }));
    return { rows: Number(pass.rows[0].total), counts };
  }
  for (const c of runnable) {
    const one = await step(`CHECK ${c.name}`, checkPassSql(table, [c], filter));
    counts.set(c, 'error' in one ? { violations: 0, sample: [], error: one.error } : { violations: Number(one.rows[0].c0), sample: [] });
  }
  const total = await step('row count', checkPassSql(table, [], filter));
  return { rows: 'error' in total ? null : Number(total.rows[0].total), counts };
}

async function sampleChecks(step: Step, work: TableWork, checks: readonly CheckTarget[], limit: number, filter: string | undefined) {
  const pk = work.table?.primaryKey ?? [];
  const names = work.table?.columns.map((c) => c.name) ?? [];
  const own = new Map(checks.map((c) => [c, sampleColumns(pk, referencedColumns(c.expr, names), names)]));
  const shape = shapeOf(pk, [...new Set([...own.values()].flat())], limit);
  const result = await step(`samples of ${checks.length} CHECK(s)`, checkSamplesSql(work.ref, checks, shape, filter));
  const samples = new Map<CheckTarget, Row[]>();
  if ('error' in result) return samples;
  checks.forEach((c, i) => {
    const mine = result.rows.filter((r) => Number(r[SAMPLE_KIND]) === i);
    samples.set(c, mine.map((r) => pick(r, own.get(c) as string[])));
  });
  return samples;
}

async function countForeignKey(
  step: Step,
  work: TableWork,
  fk: Extract<ViolationTarget, { kind: 'foreign_key' }>,
  limit: number,
  filter: string | undefined,
): Promise<Outcome> {
  if (fk.refColumns.length !== fk.columns.length) {
    return { violations: 0, sample: [], error: `references ${fk.refColumns.length} column(s) for ${fk.columns.length}` };
  }
  if (limit === 0) {
    const counted = await step(`foreign key ${fk.name}`, foreignKeyCountSql(fk, filter));
    return 'error' in counted ? { violations: 0, sample: [], error: counted.error } : { violations: Number(counted.rows[0].n), sample: [] };
  }
  const pk = work.table?.primaryKey ?? [];
  const names = work.table?.columns.map((c) => c.name) ?? [];
  const shape = shapeOf(pk, sampleColumns(pk, fk.columns, names), limit);
  const found = await step(`foreign key ${fk.name}`, foreignKeySamplesSql(fk, shape, filter));
  if ('error' in found) return { violations: 0, sample: [], error: found.error };
  const violations = found.rows.length ? Number(found.rows[0][ORPHANS]) : 0;
  return { violations, sample: found.rows.map(({ [ORPHANS]: _count, ...row }) => row) };
}

async function countUnique(
  step: Step,
  work: TableWork,
  ix: Extract<ViolationTarget, { kind: 'unique' }>,
  limit: number,
  filter: string | undefined,
): Promise<Outcome> {
  const problem = [...ix.keys.flatMap((k) => ('expr' in k ? [k.expr] : [])), ...(ix.where ? [ix.where] : [])]
    .map(expressionProblem)
    .find((p) => p !== null);
  if (problem) return { violations: 0, sample: [], error: problem };
  const counted = await step(`unique index ${ix.name}`, uniqueCountSql(ix, filter));
  if ('error' in counted) return { violations: 0, sample: [], error: counted.error };
  const violations = Number(counted.rows[0].excess);
  const groups = Number(counted.rows[0].groups);
  if (violations === 0 || limit === 0) return { violations, groups, sample: [] };
  const pk = work.table?.primaryKey ?? [];
  const names = work.table?.columns.map((c) => c.name) ?? [];
  const read = ix.keys.flatMap((k) => ('column' in k ? [k.column] : referencedColumns(k.expr, names)));
  const shape = shapeOf(pk, sampleColumns(pk, read, names), limit);
  const rows = await step(`samples of ${ix.name}`, uniqueSamplesSql(ix, shape, filter));
  return { violations, groups, sample: 'error' in rows ? [] : rows.rows };
}

/** Primary key, then the columns the constraint reads; every column when there is neither. */
function sampleColumns(pk: readonly string[], read: readonly string[], all: readonly string[]): string[] {
  const columns = [...new Set([...pk, ...read])];
  return columns.length > 0 ? columns : [...all];
}

function shapeOf(pk: readonly string[], columns: readonly string[], limit: number): SampleShape {
  return { columns, orderBy: pk.length > 0 ? pk : columns, limit };
}

function pick(row: Row, columns: readonly string[]): Row {
  return Object.fromEntries(columns.map((c) => [c, row[c]]));
}

/** validate wraps user SQL in `( … )`: text that could close it or end the statement is refused, not run. */
function expressionProblem(expr: string): string | null {
  const problem = scanExpression(expr).problem;
  return problem ? `not a single SQL expression (${problem}); not run` : null;
}

type Step = (label: string, query: string) => Promise<{ rows: Row[] } | { error: string }>;

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
