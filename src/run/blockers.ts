import type { Dialect, ViolationCount } from '../dialect/dialect.js';
import type { Change } from '../diff/changes.js';
import { targetsOfChanges } from './targets.js';

/**
 * apply's pre-check, read-only: the constraints the changes add or replace
 * that existing rows break (or whose check fails to evaluate on some row).
 * `beside`: how many index builds apply runs meanwhile (run/apply.ts), said in the notice.
 * `plan` runs it too, so a reviewer learns before apply does.
 */
export async function rowsBlockingApply(
  dialect: Dialect,
  changes: readonly Change[],
  notice?: (message: string) => void,
  options: { beside?: number } = {},
): Promise<ViolationCount[]> {
  const targets = targetsOfChanges(changes);
  if (targets.length === 0) return [];
  const when = options.beside
    ? `while the plan's first ${options.beside} new index(es) build; nothing else changes before it is clean`
    : 'before changing anything';
  notice?.(`checking existing rows against ${targets.length} constraint(s) ${when}`);
  // One table at a time: on a small server, parallel scans take the CPU the application's writers need.
  const counts = await dialect.countViolations(targets, { samples: 0, jobs: 1, background: true, onProgress: notice });
  return counts.filter((c) => c.violations > 0 || c.error);
}
