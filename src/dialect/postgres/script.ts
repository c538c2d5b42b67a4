import { emptyScript, headerComments, scriptSteps, stepComment } from '../../plan/step-comment.js';
import { splitScans, type Step } from '../../plan/types.js';
import { takesTableLock } from './render.js';

/**
 * A script that `psql -v ON_ERROR_STOP=1 -f` runs to the same end state as
 * apply: each step in its own transaction, write-blocking ones under
 * lock_timeout, scans in a transaction of their own, CONCURRENTLY outside any.
 */
export function postgresScript(
  steps: readonly Step[],
  direction: 'forward' | 'inverse',
  header: readonly string[],
  lockTimeoutMs: number,
): string {
  const runnable = scriptSteps(steps, direction);
  if (runnable.length === 0) return emptyScript(header);
  const out: string[] = headerComments(header);
  out.push('');
  runnable.forEach((step, i) => {
    const statements = direction === 'forward' ? step.sql : step.inverse;
    out.push(...stepComment(step, i + 1, runnable.length, direction));
    if (!step.transactional) {
      // a table lock among concurrent builds: its own short transaction under lock_timeout, as apply runs it
      for (const s of statements) {
        out.push(...(takesTableLock(s) ? ['BEGIN;', `SET LOCAL lock_timeout = '${lockTimeoutMs}ms';`, `${s};`, 'COMMIT;'] : [`${s};`]));
      }
    } else {
      const { locking, scans } = splitScans(step, direction === 'forward' ? 'sql' : 'inverse');
      if (locking.length > 0) {
        out.push('BEGIN;');
        if (step.lockTimeout) out.push(`SET LOCAL lock_timeout = '${lockTimeoutMs}ms';`);
        out.push(...locking.map((s) => `${s};`), 'COMMIT;');
      }
      if (scans.length > 0) out.push('BEGIN;', ...scans.map((s) => `${s};`), 'COMMIT;');
    }
    out.push('');
  });
  return out.join('\n');
}
