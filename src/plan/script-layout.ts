import type { Step } from './types.js';

/**
 * How a script runs a plan, as plain data: which statements go together in a
 * transaction and what runs before and after. The SQL script (psql, sqlite3)
 * and the Alembic revision are both printed from it, so they run the same
 * statements in the same transactions as each other and as apply.
 */
export interface ScriptLayout {
  /**
   * Present when all the steps share one transaction (SQLite): `setup` runs
   * before `begin`, outside any transaction (PRAGMAs SQLite ignores inside
   * one), and `teardown` after COMMIT. Absent: each run below is on its own.
   */
  readonly shared?: { readonly setup: readonly string[]; readonly begin: string; readonly teardown: readonly string[] };
  readonly steps: readonly ScriptStepLayout[];
}

export interface ScriptStepLayout {
  readonly step: Step;
  /** The statements of the step in the order they run, grouped by transaction. */
  readonly runs: readonly ScriptRun[];
}

/**
 * Statements that run together. `transaction`: in a transaction of their own
 * (BEGIN … COMMIT around them; a `SET LOCAL lock_timeout` is the first
 * statement when the step waits for a lock); otherwise each runs by itself
 * (CREATE INDEX CONCURRENTLY) or, under `shared`, in the shared transaction.
 */
export interface ScriptRun {
  readonly transaction: boolean;
  readonly statements: readonly string[];
  /**
   * Present when the first statement is the run's `SET LOCAL lock_timeout`, of
   * this many ms: a runner that retries (the Alembic revision) sets its own per
   * attempt, short ones first, as apply does (plan/lock-attempts.ts).
   */
  readonly lockTimeoutMs?: number;
}
