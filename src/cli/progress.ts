import type { ExecuteEvents } from '../dialect/dialect.js';
import { printable } from '../schema/printable.js';
import { note } from './context.js';

/** Progress lines on stderr, so stdout stays a clean result; names and messages made printable (a name may hold a newline). */
export function progressPrinter(quiet = false): ExecuteEvents & { notice(message: string): void } {
  if (quiet) return { notice: () => {} };
  const say = (line: string) => note(printable(line));
  return {
    notice: (m) => say(m),
    stepStarted: (s, i, n) => say(`[${i + 1}/${n}] ${s.action} ${s.name} on ${s.table} …`),
    stepFinished: (s, i, n, ms, attempts) =>
      say(`[${i + 1}/${n}] done in ${ms} ms${attempts > 1 ? ` after ${attempts} attempts` : ''}`),
    retrying: (s, attempt, reason, wait) => say(`      ${reason} on ${s.table} (attempt ${attempt}); retrying in ${wait} ms`),
    progress: (s, message) => say(`      ${s.name}: ${message}`),
  };
}
