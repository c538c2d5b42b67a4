import type { Step } from './types.js';

/** The comment above a step in a printed script: what, and (forward) why, what it locks, its hazards. */
export function stepComment(step: Step, i: number, n: number, direction: 'forward' | 'inverse'): string[] {
  const what = direction === 'forward' ? step.action : `undo ${step.action}`;
  const lines = [`-- [${i}/${n}] ${what} ${step.name} on ${step.table}`];
  if (direction === 'forward') {
    lines.push(`--   why:  ${step.reason}`, `--   lock: ${step.lock}`);
    if (step.hazards.length) lines.push(`--   hazards: ${step.hazards.join(', ')}`);
  }
  return lines;
}
