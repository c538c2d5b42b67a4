import type { ExecuteEvents } from '../dialect/dialect.js';
import { note } from './context.js';

/** Progress lines on stderr, so stdout stays a clean result. */
export function progressPrinter(quiet = false): ExecuteEvents & { notice(message: string): void } {
  if (quiet) return { notice: () => {} };
  return {
    notice: (m) => note(m),
    stepStarted: (s, i, n) => note(`[${i + 1}/${n}] ${s.action} ${s.name} on ${s.table} …`),
    stepFinished: (s, i, n, ms, attempts) =>
      note(`[${i + 1}/${n}] done in ${ms} ms${attempts > 1 ? ` after ${attempts} attempts` : ''}`),
    retrying: (s, attempt, reason, wait) => note(`      ${reason} on ${s.table} (attempt ${attempt}); retrying in ${wait} ms`),
    progress: (s, message) => note(`      ${s.name}: ${message}`),
  };
}
