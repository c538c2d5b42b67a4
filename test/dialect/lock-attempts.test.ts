import { FIRST_ATTEMPT_MS, lockTimeoutOfAttempt, pauseAfterAttempt } from '../../src/dialect/postgres/lock-attempts.js';

describe('lock attempts: short first waits, then the configured lock_timeout', () => {
  test('the first attempts double from a few ms up to --lock-timeout, then stay there', () => {
    const ladder = Array.from({ length: 8 }, (_, i) => lockTimeoutOfAttempt(i + 1, 25, 50));
    expect(ladder).toEqual([FIRST_ATTEMPT_MS, 4, 8, 16, 25, 25, 25, 25]);
  });

  test('the last attempt allowed waits the whole lock_timeout, even with one attempt only', () => {
    expect(lockTimeoutOfAttempt(1, 25, 1)).toBe(25);
    expect([1, 2, 3].map((a) => lockTimeoutOfAttempt(a, 25, 3))).toEqual([2, 4, 25]);
  });

  test('a lock_timeout at or below the first attempt is used from the start', () => {
    expect(lockTimeoutOfAttempt(1, 1, 50)).toBe(1);
    expect(lockTimeoutOfAttempt(1, 2, 50)).toBe(2);
    expect(lockTimeoutOfAttempt(2, 3, 50)).toBe(3);
  });

  test('pauses do not grow during the short attempts, then double from 20 ms up to 2 s (random 0.5 gives the middle)', () => {
    const pauses = Array.from({ length: 14 }, (_, i) => pauseAfterAttempt(i + 1, 25, 0.5));
    expect(pauses).toEqual([20, 20, 20, 20, 20, 40, 80, 160, 320, 640, 1280, 2000, 2000, 2000]);
    expect(pauseAfterAttempt(1, 25, 0)).toBe(10);
    expect(pauseAfterAttempt(1, 25, 0.999)).toBe(30);
    // with a 1 ms lock timeout there are no short attempts: the pause grows from the first
    expect([1, 2, 3].map((a) => pauseAfterAttempt(a, 1, 0.5))).toEqual([20, 40, 80]);
  });
});
