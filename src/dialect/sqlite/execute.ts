import type Database from 'better-sqlite3';
import { SchemaDiffError } from '../../errors.js';
import type { Step } from '../../plan/types.js';
import type { ExecuteEvents, ExecuteOptions, RunRecord } from '../dialect.js';
import { backupDatabase, DEFAULT_KEEP_BACKUPS } from './backup.js';
import { sqliteMessage } from './sqlite-error.js';
import { recordStep, runExists, writeRun, type PendingRun } from './history.js';
import { assertionOf, isCopyStatement, isRebuildStatement } from './rebuild.js';
import { isRowCheckStatement, isSchemaEditStatement } from './schema-edit.js';
import { fileVersion, scanProven, type RowProof } from './row-proof.js';

/**
 * Runs all the steps in ONE transaction: the whole apply happens or none of it
 * does, whatever kills it. PRAGMA foreign_keys is turned off before BEGIN
 * (inside a transaction SQLite silently ignores it, which is how drizzle-kit's
 * rebuilds cascaded deletes into child tables) and restored after COMMIT or
 * ROLLBACK. The write lock is taken up front (BEGIN IMMEDIATE) under
 * busy_timeout = --lock-timeout, retried with backoff within the budget, so the
 * application's writers are never made to wait long and a second applier
 * cannot interleave. Before the first rebuild the file is copied aside. The
 * run's journal row is written in the same transaction as the steps.
 */
export async function executeSqlite(
  db: Database.Database,
  path: string,
  steps: readonly Step[],
  record: RunRecord,
  options: ExecuteOptions,
  pendingRun?: PendingRun,
  keepDefensive = false,
  proof: RowProof | null = null,
): Promise<void> {
  if (steps.length === 0) return;
  const events = options.events ?? {};
  if (db.inTransaction) throw new SchemaDiffError('execution', 'cannot apply: the connection is already inside a transaction');
  const edits = steps.some((s) => s.sql.some(isSchemaEditStatement));
  if (edits && keepDefensive) {
    const step = steps.find((s) => s.sql.some(isSchemaEditStatement)) as Step;
    throw new SchemaDiffError(
      'refused',
      `step ${step.id} (${step.action} ${step.name} on ${step.table}) edits sqlite_schema, which this connection refuses (defensive mode, ?defensive=on); nothing was changed`,
    );
  }
  const foreignKeysWere = flag(db, 'foreign_keys');
  db.pragma('foreign_keys = OFF');
  // better-sqlite3 opens in defensive mode, which ignores writable_schema: lifted for this run only, restored below
  if (edits) db.unsafeMode(true);
  try {
    if (flag(db, 'foreign_keys')) {
      throw new SchemaDiffError('refused', 'PRAGMA foreign_keys cannot be turned off on this connection; a table rebuild would be unsafe; nothing was changed');
    }
    const attempts = await beginImmediate(db, steps[0], options);
    // under the write lock, before this run writes anything: no other connection can commit until ours does
    const version = proof ? fileVersion(db) : null;
    try {
      if (options.backup !== false && steps.some((s) => s.sql.some((q) => isRebuildStatement(q) || isSchemaEditStatement(q)))) {
        const copy = backupDatabase(path, options.keepBackups);
        events.notice?.(`backup of the database written to ${copy} (--no-backup skips it; --keep-backups ${options.keepBackups ?? DEFAULT_KEEP_BACKUPS} are kept)`);
      }
      if (pendingRun && !runExists(db, pendingRun.id)) writeRun(db, pendingRun);
      const took: number[] = [];
      for (const [i, step] of steps.entries()) {
        events.stepStarted?.(step, i, steps.length);
        const started = Date.now();
        for (const statement of step.sql) {
          if (version && isRowCheckStatement(statement) && scanProven(step, statement, steps.slice(0, i), proof, version)) {
            events.progress?.(step, `the rows of ${step.table} were checked against its new CHECKs before apply, and no row has been written since: not scanned again`);
            continue;
          }
          run(db, step, statement, events);
        }
        recordStep(db, record, step);
        took.push(Date.now() - started);
      }
      commit(db, steps[steps.length - 1]);
      // Only now is any step done: until COMMIT, a failure anywhere undoes them all.
      steps.forEach((step, i) => events.stepFinished?.(step, i, steps.length, took[i], i === 0 ? attempts : 1));
    } catch (e) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw e;
    }
  } finally {
    if (edits) {
      // off again whatever happened, and the schema re-read as the file has it (an edit rolled back is gone)
      db.pragma('writable_schema = RESET');
      db.unsafeMode(false);
    }
    dropScratch(db);
    db.pragma(`busy_timeout = ${DEFAULT_BUSY_MS}`);
    if (foreignKeysWere) db.pragma('foreign_keys = ON');
  }
}

export const DEFAULT_BUSY_MS = 5000;

function flag(db: Database.Database, pragma: string): boolean {
  return Number(db.pragma(pragma, { simple: true })) === 1;
}

/** BEGIN IMMEDIATE under busy_timeout = lock timeout, retried with jittered backoff within the budget. */
async function beginImmediate(db: Database.Database, first: Step, options: ExecuteOptions): Promise<number> {
  const started = Date.now();
  db.pragma(`busy_timeout = ${Math.max(0, Math.round(options.lockTimeoutMs))}`);
  for (let attempt = 1; ; attempt++) {
    try {
      db.exec('BEGIN IMMEDIATE');
      options.events?.lockAcquired?.(first, Date.now() - started);
      // Inside, wait as long as the budget allows: COMMIT may have to wait for readers to finish (rollback journal mode).
      db.pragma(`busy_timeout = ${Math.max(DEFAULT_BUSY_MS, options.retryBudgetMs)}`);
      return attempt;
    } catch (e) {
      if (!isBusy(e)) throw e;
      const wait = backoff(attempt);
      const spent = Date.now() - started;
      if (attempt >= options.lockRetries || spent + wait > options.retryBudgetMs) {
        throw new SchemaDiffError(
          'lock',
          `could not get the database's write lock in ${attempt} attempts over ${(spent / 1000).toFixed(1)}s: another connection kept writing; nothing was applied`,
        );
      }
      options.events?.retrying?.(first, attempt, 'database busy', wait);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

function isBusy(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED';
}

/** Jittered exponential backoff: 20ms, 40ms, 80ms … capped at 2s, each ±50%. */
function backoff(attempt: number): number {
  return Math.round(Math.min(2000, 20 * 2 ** (attempt - 1)) * (0.5 + Math.random()));
}

function run(db: Database.Database, step: Step, statement: string, events: ExecuteEvents): void {
  const copying = isCopyStatement(statement);
  const started = Date.now();
  if (copying) events.progress?.(step, `copying the rows of ${step.table}`);
  if (isRowCheckStatement(statement)) events.progress?.(step, `checking every row of ${step.table} against its new CHECKs`);
  try {
    const prepared = db.prepare(statement);
    if (prepared.reader) prepared.all();
    else {
      const result = prepared.run();
      if (copying) events.progress?.(step, `copied ${result.changes} rows in ${Date.now() - started} ms; re-creating indexes and triggers`);
    }
  } catch (e) {
    throw failure(step, statement, e);
  }
}

function commit(db: Database.Database, last: Step): void {
  try {
    db.exec('COMMIT');
  } catch (e) {
    if (isBusy(e)) {
      throw new SchemaDiffError('lock', `could not commit: readers kept the database busy beyond the retry budget; nothing was applied (step ${last.id} was the last)`);
    }
    throw e;
  }
}

/** The TEMP tables of the safety checks: per connection, but tidied so a later run starts clean. */
function dropScratch(db: Database.Database): void {
  for (const t of ['schema_diff_assert', 'schema_diff_fk_check', 'schema_diff_shape']) {
    try {
      db.prepare(`DROP TABLE IF EXISTS temp.${t}`).run();
    } catch {
      // the connection may be closing; TEMP tables vanish with it anyway
    }
  }
}

function failure(step: Step, statement: string, e: unknown): SchemaDiffError {
  const what = `step ${step.id} (${step.action} ${step.name} on ${step.table})`;
  const message = sqliteMessage(e);
  const assertion = assertionOf(statement);
  if (assertion !== null && /schema_diff_safety_check/.test(message)) {
    return new SchemaDiffError('refused', `${what} stopped by a safety check: not true that ${assertion}; everything was rolled back, nothing was changed`);
  }
  if (/foreign key mismatch/.test(message)) {
    return new SchemaDiffError('refused', `${what} would leave a foreign key without the unique key it references (${message}); everything was rolled back, nothing was changed`, [], { cause: e });
  }
  const check = /^CHECK constraint failed: (.*)$/.exec(message);
  if (check) {
    return new SchemaDiffError('refused', `${what}: rows of ${step.table} violate ${check[1]} (written since the check before apply?); everything was rolled back, nothing was changed`, [], { cause: e });
  }
  const shown = statement.length > 200 ? `${statement.slice(0, 200)}…` : statement;
  return new SchemaDiffError('execution', `${what} failed: ${message}; everything was rolled back, nothing was changed; statement: ${shown}`, [], { cause: e });
}
