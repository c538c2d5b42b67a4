import { printable } from '../schema/printable.js';
import type { Step } from './types.js';

/**
 * The comment above a step in a printed script: what, and (forward) why, what
 * it locks, its hazards. Every value is made printable: a name or reason with a
 * line break would end the comment and start a live statement in the script.
 */
export function stepComment(step: Step, i: number, n: number, direction: 'forward' | 'inverse'): string[] {
  const what = direction === 'forward' ? step.action : `undo ${step.action}`;
  const lines = [`-- [${i}/${n}] ${what} ${step.name} on ${step.table}`];
  if (direction === 'forward') {
    lines.push(`--   why:  ${step.reason}`, `--   lock: ${step.lock}`);
    if (step.hazards.length) lines.push(`--   hazards: ${step.hazards.join(', ')}`);
  }
  return lines.map(printable);
}

/** The header lines of a printed script, each a comment that cannot end early. */
export function headerComments(header: readonly string[]): string[] {
  return header.map((h) => `-- ${printable(h)}`);
}

/** The steps a script runs, in the order it runs them: all forward, or the inverses last step first. */
export function scriptSteps(steps: readonly Step[], direction: 'forward' | 'inverse'): Step[] {
  const ordered = direction === 'forward' ? steps : [...steps].reverse();
  return ordered.filter((s) => (direction === 'forward' ? s.sql : s.inverse).length > 0);
}

/** The whole script when there is nothing to run: the header and a line that says so. */
export function emptyScript(header: readonly string[]): string {
  return [...headerComments(header), '-- nothing to do: the database matches the manifest'].join('\n') + '\n';
}
