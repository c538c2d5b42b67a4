import type { ScriptLayout, ScriptRun } from '../../plan/script-layout.js';
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
  const layout = postgresLayout(steps, direction, lockTimeoutMs);
  if (layout.steps.length === 0) return emptyScript(header);
  const out: string[] = headerComments(header);
  out.push('');
  layout.steps.forEach(({ step, runs }, i) => {
    out.push(...stepComment(step, i + 1, layout.steps.length, direction));
    for (const run of runs) {
      const statements = run.statements.map((s) => `${s};`);
      out.push(...(run.transaction ? ['BEGIN;', ...statements, 'COMMIT;'] : statements));
    }
    out.push('');
  });
  return out.join('\n');
}

/** The runs of each step as apply makes them; postgresScript and the Alembic revision print them. */
export function postgresLayout(steps: readonly Step[], direction: 'forward' | 'inverse', lockTimeoutMs: number): ScriptLayout {
  return { steps: scriptSteps(steps, direction).map((step) => ({ step, runs: stepRuns(step, direction, lockTimeoutMs) })) };
}

function stepRuns(step: Step, direction: 'forward' | 'inverse', lockTimeoutMs: number): ScriptRun[] {
  const setLockTimeout = `SET LOCAL lock_timeout = '${lockTimeoutMs}ms'`;
  if (!step.transactional) {
    // a table lock among concurrent builds: its own short transaction under lock_timeout, as apply runs it
    return (direction === 'forward' ? step.sql : step.inverse).map((s) =>
      takesTableLock(s) ? { transaction: true, statements: [setLockTimeout, s], lockTimeoutMs } : { transaction: false, statements: [s] },
    );
  }
  const { locking, scans } = splitScans(step, direction === 'forward' ? 'sql' : 'inverse');
  const runs: ScriptRun[] = [];
  if (locking.length > 0) {
    runs.push(step.lockTimeout ? { transaction: true, statements: [setLockTimeout, ...locking], lockTimeoutMs } : { transaction: true, statements: [...locking] });
  }
  if (scans.length > 0) runs.push({ transaction: true, statements: scans });
  return runs;
}
