import { sql, type Kysely } from 'kysely';
import { inTransaction } from './transaction.js';
import { SchemaDiffError, messageOf } from '../../errors.js';
import { splitScans, type Step } from '../../plan/types.js';
import { nextRunnable, type StepState } from '../../plan/schedule.js';
import { qualifiedName, type TableRef } from '../../schema/types.js';
import type { ExecuteOptions, RunRecord } from '../dialect.js';
import { recordStep } from './history.js';
import { quoteIdent } from './quote.js';
import { scratchName, takesTableLock } from './render.js';
import { afterFailedAttempt, lockTimeoutOfAttempt, pauseAfterAttempt } from '../../plan/lock-attempts.js';

const LOCK_NOT_AVAILABLE = '55P03';
const DEADLOCK_DETECTED = '40P01';
const DUPLICATE_TABLE = '42P07';

/**
 * Runs steps one at a time on the session connection. A write-blocking step
 * runs in its own short transaction under lock_timeout, well below
 * deadlock_timeout, so that when the application and we collide it is always
 * us who give up: we roll back, wait a jittered, growing pause, and try again.
 * Scans (VALIDATE, index builds) run without lock_timeout. Given a second
 * connection (`lane`), two steps run at once where they touch nothing in
 * common (executeInLanes).
 */
export async function executePostgres(
  db: Kysely<unknown>,
  readers: Kysely<unknown>,
  steps: readonly Step[],
  record: RunRecord,
  options: ExecuteOptions,
  lane?: Kysely<unknown>,
): Promise<void> {
  if (lane) return executeInLanes([db, lane], readers, await withInheritance(db, steps), record, options);
  for (const [i, step] of steps.entries()) await runStep(db, readers, steps, i, record, options);
}

async function runStep(db: Kysely<unknown>, readers: Kysely<unknown>, steps: readonly Step[], i: number, record: RunRecord, options: ExecuteOptions): Promise<void> {
  const step = steps[i];
  options.events?.stepStarted?.(step, i, steps.length);
  const started = Date.now();
  let attempts: number;
  try {
    attempts = step.transactional
      ? await runTransactional(db, readers, step, record, options)
      : await withBuildSettings(db, options, () => runOutsideTransaction(db, readers, step, record, options));
  } catch (e) {
    throw wrap(e, step);
  }
  options.events?.stepFinished?.(step, i, steps.length, Date.now() - started, attempts);
}

/**
 * Steps whose touches name a table of an inheritance tree (a partitioned table
 * and its partitions, or a parent and its INHERITS children) also touch that
 * whole tree: ALTER TABLE and VALIDATE on a parent lock every child, so a step
 * on the parent and one on a child (an index built on a partition) must not run
 * at once, or the parent's ADD CONSTRAINT retries against our own build until
 * it gives up. Table keys are `schema.table` as in Step.touches; a name whose
 * dots make two tables read alike only adds a conflict, never removes one.
 */
async function withInheritance(db: Kysely<unknown>, steps: readonly Step[]): Promise<readonly Step[]> {
  const { rows } = await sql<{ child: string; parent: string }>`
    select cn.nspname || '.' || c.relname as child, pn.nspname || '.' || p.relname as parent
      from pg_inherits i
      join pg_class c on c.oid = i.inhrelid join pg_namespace cn on cn.oid = c.relnamespace
      join pg_class p on p.oid = i.inhparent join pg_namespace pn on pn.oid = p.relnamespace
     where c.relkind in ('r', 'p', 'f') and p.relkind in ('r', 'p')`.execute(db);
  if (rows.length === 0) return steps;
  const up = new Map<string, string>();
  const root = (t: string): string => {
    let r = t;
    while (up.has(r)) r = up.get(r)!;
    return r;
  };
  for (const { child, parent } of rows) {
    const a = root(child);
    const b = root(parent);
    if (a !== b) up.set(a, b);
  }
  const inTree = new Set(rows.flatMap((r) => [r.child, r.parent]));
  return steps.map((s) => {
    const trees = (s.touches ?? []).filter((t) => inTree.has(t)).map((t) => `tree ${root(t)}`);
    return trees.length === 0 ? s : { ...s, touches: [...new Set([...(s.touches ?? []), ...trees])] };
  });
}

/**
 * Each connection takes the next step that may start (plan/schedule.ts: every
 * earlier step it shares a table or an index name with is done, and builds and
 * write-blocking steps run alone), so two tables' VALIDATEs run at once. Each step is
 * journaled on the connection that ran it, as it ends. After a failure no
 * step starts; the one running on the other connection ends as it would
 * alone, and the first failure is what apply stops with.
 */
async function executeInLanes(lanes: readonly Kysely<unknown>[], readers: Kysely<unknown>, steps: readonly Step[], record: RunRecord, options: ExecuteOptions): Promise<void> {
  const states: StepState[] = steps.map(() => 'pending');
  let failure: { error: unknown } | undefined;
  let wake: () => void = () => {};
  let changed = new Promise<void>((r) => (wake = r));
  const signal = () => {
    wake();
    changed = new Promise<void>((r) => (wake = r));
  };
  const work = async (db: Kysely<unknown>) => {
    while (!failure && states.includes('pending')) {
      const i = nextRunnable(steps, states);
      if (i < 0) {
        await changed;
        continue;
      }
      states[i] = 'running';
      try {
        await runStep(db, readers, steps, i, record, options);
        states[i] = 'done';
      } catch (e) {
        failure ??= { error: e };
      } finally {
        signal();
      }
    }
  };
  await Promise.all(lanes.map(work));
  if (failure) throw failure.error;
}

/**
 * When a step that locks a parent then its child (an FK swap) deadlocks with
 * an application transaction (which holds the child and waits for the parent
 * in its FK check), PostgreSQL aborts whichever session's deadlock_timeout
 * fires first, and the application started waiting first. Only a lock_timeout
 * well below deadlock_timeout makes apply give up before: measured with
 * lock_timeout 2s against deadlock_timeout 1s, 7 MeStore writer transactions
 * failed with `deadlock detected`. Checked by apply and rollback before they
 * start a run (Dialect.checkExecuteOptions), so a refusal leaves no trace.
 */
export async function refuseLockTimeoutNearDeadlockTimeout(db: Kysely<unknown>, lockTimeoutMs: number): Promise<void> {
  const { rows } = await sql<{ ms: number }>`select setting::int as ms from pg_settings where name = 'deadlock_timeout'`.execute(db);
  const deadlockMs = rows[0]?.ms ?? 1000;
  const limit = Math.floor(deadlockMs / 2);
  if (lockTimeoutMs <= limit) return;
  throw new SchemaDiffError(
    'usage',
    `lock timeout ${lockTimeoutMs}ms is not well below the server's deadlock_timeout (${deadlockMs}ms): when apply and an application transaction deadlock, the application's would be the one aborted; use a lock timeout of at most ${limit}ms (--lock-timeout); nothing was changed`,
  );
}

async function runTransactional(
  db: Kysely<unknown>,
  readers: Kysely<unknown>,
  step: Step,
  record: RunRecord,
  options: ExecuteOptions,
): Promise<number> {
  const { locking, scans } = splitScans(step);
  let attempts = 0;
  if (locking.length > 0) {
    attempts = await withLockRetries(readers, step, options, async (lockTimeoutMs) => {
      await inTransaction(db, async () => {
        if (step.lockTimeout) await sql.raw(`SET LOCAL lock_timeout = '${lockTimeoutMs}ms'`).execute(db);
        for (const statement of locking) await run(db, step, statement);
        await recordStep(db, record, step);
      });
    }, step.lockTimeout);
  }
  if (scans.length > 0) {
    // VALIDATE in its own transaction: together with the ALTER above it would hold ACCESS EXCLUSIVE for the whole scan.
    await inTransaction(db, async () => {
      await sql.raw(`SET LOCAL lock_timeout = 0`).execute(db);
      await sql.raw(`SET LOCAL statement_timeout = 0`).execute(db);
      for (const statement of scans) await run(db, step, statement);
      if (locking.length === 0) await recordStep(db, record, step);
    });
    attempts = Math.max(attempts, 1);
  }
  return attempts;
}

async function runOutsideTransaction(
  db: Kysely<unknown>,
  readers: Kysely<unknown>,
  step: Step,
  record: RunRecord,
  options: ExecuteOptions,
) {
  const builds = indexNamesBuiltBy(step);
  const existing = builds.length > 0 ? await indexesOfStep(db, step, builds) : [];
  const stop = builds.length > 0 && readers !== db ? watchIndexBuild(readers, step, options) : undefined;
  try {
    for (const statement of step.sql) {
      try {
        if (takesTableLock(statement)) await runLocked(db, readers, step, statement, options);
        else await run(db, step, statement);
      } catch (e) {
        // "already exists" means our CREATE made nothing: whatever has that name is someone else's.
        if ((e as { code?: string }).code !== DUPLICATE_TABLE) await dropOwnInvalidIndexes(db, step, builds, existing);
        throw e;
      }
    }
  } finally {
    stop?.();
  }
  await recordStep(db, record, step);
  return 1;
}

/**
 * A statement of a step outside a transaction that takes a table lock (a
 * UNIQUE constraint taking its new index): its own short transaction under
 * lock_timeout, retried like a transactional step, so writers never queue behind it.
 */
async function runLocked(db: Kysely<unknown>, readers: Kysely<unknown>, step: Step, statement: string, options: ExecuteOptions): Promise<void> {
  await withLockRetries(readers, step, options, (lockTimeoutMs) =>
    inTransaction(db, async () => {
      await sql.raw(`SET LOCAL lock_timeout = '${lockTimeoutMs}ms'`).execute(db);
      await run(db, step, statement);
    }),
  );
}

/** The names an index step may build under (its index, and the swap's scratch name), from its structure. */
function indexNamesBuiltBy(step: Step): string[] {
  if (step.action === 'create_index') return [step.name];
  if (step.action === 'replace_index' || step.action === 'replace_unique_constraint') return [step.name, scratchName(step.name)];
  if (step.action === 'add_unique_constraint') return [scratchName(step.name)];
  // a drop builds nothing, but its undo (a rollback runs the inverse under the same action) builds the index again
  if (step.action === 'drop_index' || step.action === 'drop_unique_constraint') return [step.name];
  return [];
}

interface StepIndex {
  oid: number;
  schema: string;
  name: string;
  valid: boolean;
}

/**
 * Indexes of the given names on the step's table, matched by schema and name
 * each compared as a value: no parsing or quoting of a name that may hold dots,
 * quotes or spaces.
 */
async function indexesOfStep(db: Kysely<unknown>, step: Step, names: readonly string[]): Promise<StepIndex[]> {
  const table = stepTableRef(step);
  const { rows } = await sql<StepIndex>`
    select ic.oid::int as oid, n.nspname as schema, ic.relname as name, i.indisvalid as valid
      from pg_index i
      join pg_class ic on ic.oid = i.indexrelid
      join pg_class t on t.oid = i.indrelid
      join pg_namespace n on n.oid = t.relnamespace
     where n.nspname = ${table.schema} and t.relname = ${table.name} and ic.relname = any(${[...names]}::text[])`.execute(db);
  return rows;
}

/**
 * The step's table as schema and name: the TableRef of the change it was
 * rendered from (`schema.table` text is ambiguous when the schema holds a
 * dot); for an undo, whose step keeps only the text, split at its first dot.
 */
function stepTableRef(step: Step): TableRef {
  const t = (step.origin as { table?: Partial<TableRef> } | undefined)?.table;
  if (typeof t?.schema === 'string' && typeof t.name === 'string' && qualifiedName(t as TableRef) === step.table) return t as TableRef;
  const dot = step.table.indexOf('.');
  return { schema: step.table.slice(0, dot), name: step.table.slice(dot + 1) };
}

/**
 * After a failed concurrent build: drops the INVALID index it left, and only
 * one that is on the step's table, has a name the step builds, and was not
 * there before the step started, so that no index of anyone else is touched.
 * A valid one is kept for the next apply to take over, except where it
 * suspends a DEFERRABLE constraint's deferral (checked row by row until the
 * constraint takes it) and what the step replaces is still in place (or it
 * replaces nothing): then it goes too, and the table is as it was.
 */
async function dropOwnInvalidIndexes(db: Kysely<unknown>, step: Step, names: readonly string[], before: readonly StepIndex[]): Promise<void> {
  if (names.length === 0) return;
  try {
    const now = await indexesOfStep(db, step, names);
    const original = before.filter((b) => b.name === step.name);
    const intact = original.every((b) => now.some((n) => n.oid === b.oid));
    const validToo = step.hazards.includes('SUSPENDS_DEFERRAL') && intact;
    for (const ix of now.filter((i) => (validToo || !i.valid) && !before.some((b) => b.oid === i.oid))) {
      await sql.raw(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(ix.schema)}.${quoteIdent(ix.name)}`).execute(db);
    }
  } catch {
    // best effort: a leftover INVALID index is rebuilt by the next apply
  }
}

/**
 * The session settings an index build runs under, set back to what they were
 * after (not RESET: a caller's pool may have set them on this very
 * connection); the role's and database's own settings stay as they are.
 * - statement_timeout 0: a role's or database's would cancel a build halfway
 *   (CREATE INDEX CONCURRENTLY runs outside a transaction: no SET LOCAL);
 * - lock_timeout 0: it would cancel the build's waits for older transactions
 *   to end (apply's own check of existing rows among them, when it runs
 *   beside the build). Such a wait blocks no writer (SHARE UPDATE
 *   EXCLUSIVE), and a statement of the step that takes a table lock sets its
 *   own (runLocked);
 * - max_parallel_maintenance_workers 0 beside apply's check (besideCheck):
 *   the check, one build process and the application then share the cores
 *   (on the 2-core bench, writers' longest wait 33-54 ms against 48-70 ms
 *   with workers, and apply no slower); otherwise the server's setting, as a
 *   hand-written CREATE INDEX CONCURRENTLY gets: apply 15-20% faster.
 */
async function withBuildSettings<T>(db: Kysely<unknown>, options: ExecuteOptions, body: () => Promise<T>): Promise<T> {
  const { rows } = await sql<{ statement: string; lock: string; workers: string }>`
    select current_setting('statement_timeout') as statement, current_setting('lock_timeout') as lock,
           current_setting('max_parallel_maintenance_workers') as workers`.execute(db);
  const was = rows[0];
  await sql.raw('SET statement_timeout = 0').execute(db);
  await sql.raw('SET lock_timeout = 0').execute(db);
  if (options.besideCheck) await sql.raw('SET max_parallel_maintenance_workers = 0').execute(db);
  try {
    return await body();
  } finally {
    await sql`select set_config('statement_timeout', ${was.statement}, false), set_config('lock_timeout', ${was.lock}, false),
                     set_config('max_parallel_maintenance_workers', ${was.workers}, false)`
      .execute(db)
      .catch(() => {});
  }
}

async function run(db: Kysely<unknown>, step: Step, statement: string): Promise<void> {
  try {
    await sql.raw(statement).execute(db);
  } catch (e) {
    throw new StatementError(step, statement, e);
  }
}

class StatementError extends Error {
  readonly code?: string;
  constructor(
    readonly step: Step,
    readonly statement: string,
    readonly original: unknown,
  ) {
    super(messageOf(original));
    this.code = (original as { code?: string }).code;
  }
}

async function withLockRetries(
  readers: Kysely<unknown>,
  step: Step,
  options: ExecuteOptions,
  body: (lockTimeoutMs: number) => Promise<void>,
  /** false: body sets no lock_timeout of its own (a 55P03 then comes from the role's or database's setting). */
  setsLockTimeout = true,
): Promise<number> {
  const started = Date.now();
  let whole = false;
  for (let attempt = 1; ; attempt++) {
    // short first attempts: writers queue behind a waiting ALTER for no longer than it waits (lock-attempts.ts)
    const lockTimeoutMs = whole ? options.lockTimeoutMs : lockTimeoutOfAttempt({ ...options, attempt, spentMs: Date.now() - started });
    try {
      await body(lockTimeoutMs);
      // the successful attempt's own time counts too: its statements are catalog-only (NOT VALID, renames), so it is the lock's
      options.events?.lockAcquired?.(step, Date.now() - started);
      return attempt;
    } catch (e) {
      const code = (e as { code?: string }).code;
      const retriable = code === LOCK_NOT_AVAILABLE || code === DEADLOCK_DETECTED;
      if (!retriable) throw e;
      const wait = pauseAfterAttempt(attempt, options.lockTimeoutMs);
      const spent = Date.now() - started;
      const next = afterFailedAttempt({ ...options, attempt, triedMs: lockTimeoutMs, spentMs: spent, pauseMs: wait });
      if (next === 'whole') whole = true;
      else if (next === 'give up') {
        const blockers = await describeBlockers(readers, step).catch(() => 'unknown');
        throw new SchemaDiffError(
          'lock',
          `step ${step.id} (${step.action} ${step.name} on ${step.table}) could not get its lock in ${attempt} attempts over ${(spent / 1000).toFixed(1)}s; nothing of it was applied; blocked by: ${blockers}`,
        );
      }
      const reason = code === DEADLOCK_DETECTED ? 'deadlock' : setsLockTimeout ? `lock not granted in ${lockTimeoutMs} ms` : 'lock timeout';
      options.events?.retrying?.(step, attempt, reason, wait);
      await sleep(wait);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * The sessions holding locks on the tables a step touches (its table and the
 * tables its foreign keys reference), for the message when we give up.
 */
async function describeBlockers(readers: Kysely<unknown>, step: Step): Promise<string> {
  const { rows } = await sql<{ pid: number; app: string; state: string; secs: number; query: string }>`
    with step_table as (${stepTable(step)})
    select distinct a.pid, coalesce(nullif(a.application_name, ''), '?') as app, coalesce(a.state, '?') as state,
           coalesce(extract(epoch from now() - coalesce(a.xact_start, a.query_start))::int, 0) as secs,
           left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 60) as query
      from pg_locks l
      join pg_stat_activity a on a.pid = l.pid
     where l.granted and l.relation in (select oid from step_table
                                         union select con.confrelid from pg_constraint con
                                          join step_table t on con.conrelid = t.oid where con.contype = 'f')
       and l.database = (select oid from pg_database where datname = current_database())
       and a.pid <> pg_backend_pid() and a.application_name <> 'schema-diff'
     order by secs desc limit 3`.execute(readers);
  if (rows.length === 0) return 'no session holds a lock now (it was released)';
  return rows.map((r) => `pid ${r.pid} (${r.app}, ${r.state} for ${r.secs}s: ${r.query})`).join('; ');
}

/** The oid of the step's table, matched by schema and name as in indexesOfStep (to_regclass would parse it as SQL). */
function stepTable(step: Step) {
  const table = stepTableRef(step);
  return sql`select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = ${table.schema} and c.relname = ${table.name} and c.relkind in ('r', 'p')`;
}

/** Reports a concurrent index build's phase from pg_stat_progress_create_index, polled on the read pool. */
function watchIndexBuild(readers: Kysely<unknown>, step: Step, options: ExecuteOptions): () => void {
  const report = options.events?.progress;
  if (!report) return () => {};
  const timer = setInterval(() => {
    sql<{ phase: string; done: number; total: number }>`
      select p.phase, coalesce(p.blocks_done, 0)::float8 as done, coalesce(p.blocks_total, 0)::float8 as total
        from pg_stat_progress_create_index p
        join pg_stat_activity a on a.pid = p.pid
       where a.application_name = 'schema-diff' and p.datname = current_database() and p.relid in (${stepTable(step)})`
      .execute(readers)
      .then(({ rows }) => {
        for (const r of rows) {
          const pct = r.total > 0 ? ` ${Math.round((100 * r.done) / r.total)}%` : '';
          report(step, `${r.phase}${pct}`);
        }
      })
      .catch(() => {});
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

function wrap(e: unknown, step: Step): SchemaDiffError {
  if (e instanceof SchemaDiffError) return e;
  const statement = e instanceof StatementError ? e.statement : step.sql.join('; ');
  const original = e instanceof StatementError ? e.original : e;
  return new SchemaDiffError(
    'execution',
    `step ${step.id} (${step.action} ${step.name} on ${step.table}) failed: ${messageOf(original).split('\n')[0]}; statement: ${statement}`,
    [],
    { cause: original },
  );
}
