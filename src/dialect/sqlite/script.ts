import { emptyScript, headerComments, scriptSteps, stepComment } from '../../plan/step-comment.js';
import type { Step } from '../../plan/types.js';

/**
 * A script that `sqlite3 file.db < migration.sql` runs to the same end state
 * as apply, with the same safety: `.bail on` stops at the first error (a failed
 * safety check included) and the open transaction is rolled back when sqlite3
 * exits; foreign_keys is turned off before BEGIN, where SQLite honours it; all
 * steps share one transaction, as in apply.
 */
export function sqliteScript(steps: readonly Step[], direction: 'forward' | 'inverse', header: readonly string[], lockTimeoutMs = 0): string {
  const runnable = scriptSteps(steps, direction);
  if (runnable.length === 0) return emptyScript(header);
  const out: string[] = headerComments(header);
  const busyMs = Math.max(5000, lockTimeoutMs);
  out.push(
    '-- run with: sqlite3 path/to/file.db < this-file.sql   (back the file up first: .backup or VACUUM INTO)',
    '',
    '.bail on',
    '-- outside the transaction: inside one SQLite ignores it, and DROP TABLE would fire ON DELETE CASCADE',
    'PRAGMA foreign_keys = OFF;',
    `PRAGMA busy_timeout = ${busyMs};`,
    'BEGIN IMMEDIATE;',
    '',
  );
  runnable.forEach((step, i) => {
    out.push(...stepComment(step, i + 1, runnable.length, direction));
    out.push(...(direction === 'forward' ? step.sql : step.inverse).map((s) => `${s};`), '');
  });
  out.push('COMMIT;', '-- on again for anything run after this script in the same session', 'PRAGMA foreign_keys = ON;', '');
  return out.join('\n');
}
