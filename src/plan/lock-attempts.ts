/**
 * How apply (and the Alembic revision) ask for a write-blocking lock on PostgreSQL. While an ALTER waits
 * for its lock, every writer that arrives queues behind it, so the time it may
 * wait is time the application may stall. Most of the time the lock is free,
 * or held by a short application transaction about to end, so the first
 * attempts wait only a few milliseconds: lock_timeout doubles from 2 ms up to
 * --lock-timeout (2, 4, 8, 16, then 25 ms by default). An attempt that is the
 * last one allowed (by --lock-retries, or because the retry budget would not
 * leave room for another) always waits the whole --lock-timeout.
 *
 * Measured on MeStore at 1M orders with writers at 200 tx/s (probe runs,
 * 2026-12-06): with 25 ms from the first attempt, the writers' longest waits
 * (31–35 ms) were those queued behind a foreign key swap waiting for its lock;
 * with the short first attempts none of the waits over 30 ms fell on a
 * write-blocking step.
 */
export const FIRST_ATTEMPT_MS = 2;

/** The longest pause pauseAfterAttempt can return after `attempt` (its jitter at the top). */
export function longestPauseAfter(attempt: number, lockTimeoutMs: number): number {
  return pauseAfterAttempt(attempt, lockTimeoutMs, 1);
}

export interface Attempt {
  /** From 1. */
  readonly attempt: number;
  readonly lockTimeoutMs: number;
  readonly lockRetries: number;
  /** Time spent on this step's attempts and pauses so far, and the budget for all of them. */
  readonly spentMs: number;
  readonly retryBudgetMs: number;
}

/** lock_timeout of an attempt: doubling from FIRST_ATTEMPT_MS up to the configured timeout, which the last attempt possible always gets. */
export function lockTimeoutOfAttempt(a: Attempt): number {
  const short = Math.min(a.lockTimeoutMs, FIRST_ATTEMPT_MS * 2 ** (a.attempt - 1));
  const lastByCount = a.attempt >= a.lockRetries;
  // after a failed short attempt and its pause, would there still be room for a whole one?
  const lastByBudget = a.spentMs + short + longestPauseAfter(a.attempt, a.lockTimeoutMs) + a.lockTimeoutMs > a.retryBudgetMs;
  return lastByCount || lastByBudget ? a.lockTimeoutMs : short;
}

/** How many attempts wait less than the configured timeout (they do not grow the pause between attempts). */
function shortAttempts(lockTimeoutMs: number): number {
  let n = 0;
  while (FIRST_ATTEMPT_MS * 2 ** n < lockTimeoutMs) n++;
  return n;
}

/**
 * The pause after failed attempt `attempt`, for the application's queued
 * transactions to go through: 20 ms, 40 ms, 80 ms … capped at 2 s, each ±50%,
 * counted from the first attempt that may wait the whole lock_timeout (the
 * short ones before it pause 20 ms ±50% each). `random` in [0, 1].
 */
export function pauseAfterAttempt(attempt: number, lockTimeoutMs: number, random: number = Math.random()): number {
  const grown = Math.max(1, attempt - shortAttempts(lockTimeoutMs));
  const base = Math.min(2000, 20 * 2 ** (grown - 1));
  return Math.round(base * (0.5 + random));
}

/**
 * What follows a failed attempt that waited `triedMs`, with `spentMs` spent on
 * the step so far and a pause of `pauseMs` to come: another attempt, the
 * whole lock_timeout once more (a short attempt's round trips took what the
 * budget had left for it; the last attempt must wait the whole timeout, even
 * past the budget by that one attempt), or giving up.
 */
export function afterFailedAttempt(
  a: Omit<Attempt, 'spentMs'> & { readonly triedMs: number; readonly spentMs: number; readonly pauseMs: number },
): 'retry' | 'whole' | 'give up' {
  const outOfBudget = a.spentMs + a.pauseMs > a.retryBudgetMs;
  if (a.attempt >= a.lockRetries) return 'give up';
  if (!outOfBudget) return 'retry';
  return a.triedMs < a.lockTimeoutMs ? 'whole' : 'give up';
}
