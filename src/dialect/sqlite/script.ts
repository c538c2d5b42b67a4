import type { ScriptLayout } from '../../plan/script-layout.js';
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
  const layout = sqliteLayout(steps, direction, lockTimeoutMs);
  if (layout.steps.length === 0 || !layout.shared) return emptyScript(header);
  const { setup, begin, teardown } = layout.shared;
  const out: string[] = headerComments(header);
  out.push(
    '-- run with: sqlite3 path/to/file.db < this-file.sql   (back the file up first: .backup or VACUUM INTO)',
    '',
    '.bail on',
    '-- outside the transaction: inside one SQLite ignores it, and DROP TABLE would fire ON DELETE CASCADE',
    ...setup.map((s) => `${s};`),
    `${begin};`,
    '',
  );
  layout.steps.forEach(({ step, runs }, i) => {
    out.push(...stepComment(step, i + 1, layout.steps.length, direction));
    out.push(...runs.flatMap((r) => r.statements).map((s) => `${s};`), '');
  });
  out.push('COMMIT;', '-- on again for anything run after this script in the same session', ...teardown.map((s) => `${s};`), '');
  return out.join('\n');
}

/** All steps in one transaction, foreign_keys off around it, as apply runs them (execute.ts). */
export function sqliteLayout(steps: readonly Step[], direction: 'forward' | 'inverse', lockTimeoutMs = 0): ScriptLayout {
  return {
    shared: {
      setup: ['PRAGMA foreign_keys = OFF', `PRAGMA busy_timeout = ${Math.max(5000, lockTimeoutMs)}`],
      begin: 'BEGIN IMMEDIATE',
      teardown: ['PRAGMA foreign_keys = ON'],
    },
    steps: scriptSteps(steps, direction).map((step) => ({
      step,
      runs: [{ transaction: false, statements: direction === 'forward' ? step.sql : step.inverse }],
    })),
  };
}
