import { sql, type Kysely } from 'kysely';
import { SchemaDiffError } from '../../errors.js';
import type { Dialect, ExecuteOptions, IntrospectOptions, RenderOptions, RunRecord, ViolationOptions, ViolationTarget } from '../dialect.js';
import type { Change } from '../../diff/changes.js';
import type { Step } from '../../plan/types.js';
import type { Catalog, DesiredTable, TableRef } from '../../schema/types.js';
import type { PgHandles } from './connect.js';
import { checkManifestPostgres } from './check-manifest.js';
import { executePostgres, refuseLockTimeoutNearDeadlockTimeout } from './execute.js';
import { finishRun, markInterrupted, readHistory, recordRun, startRun, unfinishedRuns } from './history.js';
import { introspectPostgres } from './introspect.js';
import { listPostgresTables } from './list-tables.js';
import { postgresSourceOf } from './source-of.js';
import { withUnfinishedSwaps } from './unfinished-swaps.js';
import { inverseOfPostgres } from './inverse.js';
import { checkPostgresJournalTrust } from './journal-trust.js';
import { normalizePostgres } from './normalize.js';
import { readNormalizeCache, recordNormalized, type NormalizeCache } from './normalize-cache.js';
import { renderPostgres } from './render.js';
import { scriptRendererFor } from '../scripts.js';
import { bytesToScanPostgres, countViolationsPostgres } from './violations.js';

/** Advisory lock key shared by every schema-diff apply and rollback on a database. */
const APPLY_LOCK_KEY = 0x5d1ff;
/**
 * Held by apply's second connection (execute, concurrentSteps) for as long as it lives. Killed, apply's
 * idle session frees APPLY_LOCK_KEY at once while that connection's backend goes on with its statement
 * (a VALIDATE runs to its end before it notices the client is gone): the next apply or rollback waits for this one too.
 */
const LANE_LOCK_KEY = APPLY_LOCK_KEY + 1;

export interface PostgresDialect extends Dialect {
  readonly handles: PgHandles;
}

/** The PostgreSQL dialect; the same code serves a server (pg) and embedded PGlite. */
export function createPostgresDialect(handles: PgHandles): PostgresDialect {
  const { session, pool } = handles;
  // the normalize cache read beside each catalog (introspect's normalizeNext), for normalize to take with that catalog
  const cacheReads = new WeakMap<Catalog, Promise<NormalizeCache>>();
  const dialect: PostgresDialect = {
    name: 'postgres',
    target: handles.target,
    defaultSchema: 'public',
    hasSchemas: true,
    comments: true,
    handles,

    checkManifest: (desired: readonly DesiredTable[]) => checkManifestPostgres(session, desired),
    sourceOf: postgresSourceOf,
    listTables: (schemas: readonly string[] | null) => listPostgresTables(session, schemas),
    // with a read pool of our own, the catalog is read on two connections (connect.ts parallelReads); where
    // normalize follows, its cache (normalize-cache.ts), which needs only the tables' names, is read in the same
    // round, beside the foreign keys (at 1,000 tables that took its two queries, 30-40 ms, off a steady-state plan)
    async introspect(tables: readonly TableRef[], options: IntrospectOptions = {}) {
      let cacheRead: Promise<NormalizeCache> | undefined;
      const beside = options.normalizeNext ? (on: Kysely<unknown>) => (cacheRead = readNormalizeCache(on, tables)) : undefined;
      const catalog = await withUnfinishedSwaps(session, await introspectPostgres(session, tables, handles.parallelReads ? pool : undefined, beside));
      if (cacheRead) cacheReads.set(catalog, cacheRead);
      return catalog;
    },
    // and normalized on two where there is much to parse (normalize-batch.ts); otherwise all on the session
    normalize: (desired: readonly DesiredTable[], catalog: Catalog) =>
      normalizePostgres(session, handles.parallelReads ? [pool, pool] : [session], desired, catalog, cacheReads.get(catalog)),
    recordNormalized: (desired: readonly DesiredTable[], catalog: Catalog) => recordNormalized(session, desired, catalog),
    render: (changes: readonly Change[], catalog: Catalog, options?: RenderOptions) => renderPostgres(changes, catalog, options),
    script: scriptRendererFor('postgres'),

    async countViolations(targets: readonly ViolationTarget[], options: ViolationOptions) {
      // on the read pool where there is one: apply may run this while execute holds the session (bytesToScan)
      const reader = handles.parallelReads ? pool : session;
      // the tables checked, and the parents their foreign keys are joined against (by key, where that key is unique)
      const introspect = (tables: readonly TableRef[]) => introspectPostgres(reader, tables);
      // parallel jobs need a read pool of our own (connect.ts parallelReads): PGlite is one backend, and a pool the
      // caller lends may have no client to spare while its only one is pinned as the session
      if (!handles.parallelReads) return countViolationsPostgres(session, introspect, targets, { ...options, jobs: 1 });
      return countViolationsPostgres(pool, introspect, targets, options);
    },

    // countViolations reads on the read pool alone only where that pool is our own
    ...(handles.parallelReads ? { bytesToScan: (targets: readonly ViolationTarget[]) => bytesToScanPostgres(pool, targets) } : {}),

    async lock(waitMs: number) {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${APPLY_LOCK_KEY}) as ok`.execute(session);
        if (rows[0].ok) break;
        if (Date.now() >= deadline) throw new SchemaDiffError('refused', `another schema-diff apply or rollback is running on this database (${await lockHolder(APPLY_LOCK_KEY)}); nothing was changed`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // a killed apply's second connection may still run its last statement
      for (;;) {
        const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${LANE_LOCK_KEY}) as ok`.execute(session);
        if (rows[0].ok) {
          await sql`select pg_advisory_unlock(${LANE_LOCK_KEY})`.execute(session);
          break;
        }
        if (Date.now() >= deadline) {
          await sql`select pg_advisory_unlock(${APPLY_LOCK_KEY})`.execute(session).catch(() => {});
          throw new SchemaDiffError('refused', `a statement of an earlier schema-diff apply is still running on this database (${await lockHolder(LANE_LOCK_KEY)}); nothing was changed`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      return async () => {
        await sql`select pg_advisory_unlock(${APPLY_LOCK_KEY})`.execute(session);
      };
    },

    // PGlite is one connection: no application session there to deadlock with.
    checkExecuteOptions: async (options: ExecuteOptions) => {
      if (!handles.embedded) await refuseLockTimeoutNearDeadlockTimeout(session, options.lockTimeoutMs);
    },
    async execute(steps: readonly Step[], record: RunRecord, options: ExecuteOptions) {
      const readers = handles.embedded ? session : pool;
      if ((options.concurrentSteps ?? 1) < 2 || !handles.openLane) return executePostgres(session, readers, steps, record, options);
      // a connection of its own with the session's settings: the read pool stays free for progress and lock reports
      const lane = handles.openLane();
      // no second connection to be had (max_connections, a pooler's limit), or its lock (lock() waited for a killed
      // apply's): one step at a time, as anywhere else
      const laneLocked = sql<{ ok: boolean }>`select pg_try_advisory_lock(${LANE_LOCK_KEY}) as ok`.execute(lane);
      if (!(await laneLocked.then(({ rows }) => rows[0].ok, () => false))) {
        await lane.destroy().catch(() => {});
        return executePostgres(session, readers, steps, record, options);
      }
      try {
        await executePostgres(session, readers, steps, record, options, lane);
      } finally {
        await lane.destroy();
      }
    },
    startRun: (kind, manifest, fingerprint, planned) => startRun(session, kind, manifest, fingerprint, planned),
    finishRun: (runId, status) => finishRun(session, runId, status),
    unfinishedRuns: () => unfinishedRuns(session),
    markInterrupted: (runId, adopted) => markInterrupted(session, runId, adopted),
    history: () => readHistory(session),
    recordRun: (kind, manifest, steps) => recordRun(session, kind, manifest, steps),
    inverseOf: inverseOfPostgres,
    async checkJournalTrust() {
      await checkPostgresJournalTrust(session);
    },
    exec: (script: string) => handles.runScript(script),
    close: () => handles.close(),
  };

  async function lockHolder(key: number): Promise<string> {
    const { rows } = await sql<{ pid: number; since: string }>`
      select a.pid, to_char(a.backend_start, 'HH24:MI:SS') as since
        from pg_locks l join pg_stat_activity a on a.pid = l.pid
       where l.locktype = 'advisory' and l.objid = ${key} and l.granted
         and l.database = (select oid from pg_database where datname = current_database()) limit 1`.execute(pool);
    return rows[0] ? `pid ${rows[0].pid}, connected since ${rows[0].since}` : 'holder unknown';
  }

  return dialect;
}
