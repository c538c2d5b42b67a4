/**
 * How apply asks for a write-blocking lock. While an ALTER waits for its lock,
 * every writer that arrives queues behind it, so the time it may wait is time
 * the application may stall. Most of the time the lock is free, or only a
 * short application transaction holds it, so the first attempts wait only a few
 * milliseconds (2, 4, 8, 16 ms) and give way quickly; only then does each
 * attempt wait up to --lock-timeout. The last attempt allowed
 * (--lock-retries) always waits the whole --lock-timeout.
 *
 * Measured on MeStore at 1M orders with writers at 200 tx/s: with 25 ms from
 * the first attempt, writers queued behind a waiting ALTER took 31–35 ms; a
 * 2 ms first attempt bounds that queue at about 2 ms plus the ALTER itself.
 */
export const FIRST_ATTEMPT_MS = 2;

/** lock_timeout of attempt `attempt` (from 1): doubling from FIRST_ATTEMPT_MS up to the configured timeout. */
export function lockTimeoutOfAttempt(attempt: number, lockTimeoutMs: number, lockRetries: number): number {
  if (attempt >= lockRetries) return lockTimeoutMs;
  return Math.min(lockTimeoutMs, FIRST_ATTEMPT_MS * 2 ** (attempt - 1));
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
 * counted from the first attempt that waited the whole lock_timeout (the
 * short ones before it pause 20 ms ±50% each). `random` in [0, 1).
 */
export function pauseAfterAttempt(attempt: number, lockTimeoutMs: number, random: number = Math.random()): number {
  const grown = Math.max(1, attempt - shortAttempts(lockTimeoutMs));
  const base = Math.min(2000, 20 * 2 ** (grown - 1));
  return Math.round(base * (0.5 + random));
}
