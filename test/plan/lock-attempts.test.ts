import { afterFailedAttempt, FIRST_ATTEMPT_MS, lockTimeoutOfAttempt, pauseAfterAttempt, type Attempt } from '../../src/plan/lock-attempts.js';

const apply: Omit<Attempt, 'attempt'> = { lockTimeoutMs: 25, lockRetries: 50, spentMs: 0, retryBudgetMs: 60_000 };
const ladder = (n: number, options: Partial<Omit<Attempt, 'attempt'>> = {}) =>
  Array.from({ length: n }, (_, i) => lockTimeoutOfAttempt({ ...apply, ...options, attempt: i + 1 }));

describe('lock attempts: short first waits, then the configured lock_timeout', () => {
  test('the first attempts double from a few ms up to --lock-timeout, then stay there', () => {
    expect(ladder(8)).toEqual([FIRST_ATTEMPT_MS, 4, 8, 16, 25, 25, 25, 25]);
    expect(ladder(10, { lockTimeoutMs: 500 })).toEqual([2, 4, 8, 16, 32, 64, 128, 256, 500, 500]);
    expect(ladder(5, { lockTimeoutMs: 10 })).toEqual([2, 4, 8, 10, 10]);
  });

  test('the last attempt --lock-retries allows waits the whole lock_timeout, even with one attempt only', () => {
    expect(ladder(1, { lockRetries: 1 })).toEqual([25]);
    expect(ladder(1, { lockRetries: 0 })).toEqual([25]);
    expect(ladder(3, { lockRetries: 3 })).toEqual([2, 4, 25]);
  });

  test('so does an attempt after which the retry budget leaves no room for a whole one', () => {
    expect(lockTimeoutOfAttempt({ ...apply, attempt: 1, retryBudgetMs: 0 })).toBe(25);
    // budget 100 ms: 2 ms, a pause of at most 30 ms, and a whole 25 ms fit; later, with 70 ms spent, they no longer do
    expect(lockTimeoutOfAttempt({ ...apply, attempt: 1, retryBudgetMs: 100 })).toBe(2);
    expect(lockTimeoutOfAttempt({ ...apply, attempt: 2, spentMs: 30, retryBudgetMs: 100 })).toBe(4);
    expect(lockTimeoutOfAttempt({ ...apply, attempt: 3, spentMs: 70, retryBudgetMs: 100 })).toBe(25);
  });

  test('a lock_timeout at or below the first attempt is used from the start', () => {
    expect(ladder(2, { lockTimeoutMs: 1 })).toEqual([1, 1]);
    expect(ladder(2, { lockTimeoutMs: 2 })).toEqual([2, 2]);
    expect(ladder(2, { lockTimeoutMs: 3 })).toEqual([2, 3]);
  });

  test('pauses do not grow during the short attempts, then double from 20 ms up to 2 s (random 0.5 gives the middle)', () => {
    const pauses = Array.from({ length: 14 }, (_, i) => pauseAfterAttempt(i + 1, 25, 0.5));
    expect(pauses).toEqual([20, 20, 20, 20, 20, 40, 80, 160, 320, 640, 1280, 2000, 2000, 2000]);
    expect(pauseAfterAttempt(1, 25, 0)).toBe(10);
    expect(pauseAfterAttempt(1, 25, 1)).toBe(30);
    // with a 1 ms lock timeout there are no short attempts: the pause grows from the first
    expect([1, 2, 3].map((a) => pauseAfterAttempt(a, 1, 0.5))).toEqual([20, 40, 80]);
  });

  test('after a failed attempt: again while the budget lasts; once more with the whole timeout if a short one used it up; then give up', () => {
    const failed = { ...apply, retryBudgetMs: 100, pauseMs: 20 };
    expect(afterFailedAttempt({ ...failed, attempt: 1, triedMs: 2, spentMs: 10 })).toBe('retry');
    // slow round trips: the short attempt left no room for a pause and another attempt
    expect(afterFailedAttempt({ ...failed, attempt: 2, triedMs: 4, spentMs: 90 })).toBe('whole');
    expect(afterFailedAttempt({ ...failed, attempt: 3, triedMs: 25, spentMs: 130 })).toBe('give up');
    // the last attempt --lock-retries allows already waited the whole timeout (lockTimeoutOfAttempt): give up
    expect(afterFailedAttempt({ ...failed, lockRetries: 2, attempt: 2, triedMs: 25, spentMs: 10 })).toBe('give up');
  });
});
