import type { Step } from './types.js';

/**
 * Which steps may run beside which: two steps conflict when they touch a
 * table or an index name in common, or when either does not say what it
 * touches (a drop, an undo: those run alone, in plan order). A step may start
 * once every earlier step it conflicts with is done, so the plan's order
 * holds wherever it matters (parent before child, add before validate, a key
 * built before the foreign key that needs it) and steps on other tables run
 * at once. Pure: the executor asks, after each start and each end, which
 * step is next.
 */
export function conflicts(a: Pick<Step, 'touches'>, b: Pick<Step, 'touches'>): boolean {
  if (!a.touches || !b.touches) return true;
  return a.touches.some((t) => b.touches?.includes(t));
}

export type StepState = 'pending' | 'running' | 'done';

/**
 * The first pending step whose earlier conflicting steps are all done, or -1
 * (none may start now). Besides the conflicts:
 * - a step that blocks writers while it waits for or holds its lock
 *   (`lockTimeout`: a NOT VALID add, a swap) runs alone: beside a scan it
 *   would hold its lock longer on a busy server, and writers queue behind it
 *   (measured: writers' longest wait went from 30-40 ms to 60-77 ms);
 * - an index build runs beside no other scan: a CONCURRENTLY build waits at
 *   its end for every older transaction, so a VALIDATE beside it only holds
 *   it up, and a second build would share the cores the first one's
 *   parallel workers use.
 * What runs at once is then two VALIDATEs of different tables.
 */
export function nextRunnable(steps: readonly Pick<Step, 'touches' | 'hazards' | 'lockTimeout'>[], states: readonly StepState[]): number {
  const running = steps.filter((_, i) => states[i] === 'running');
  for (let i = 0; i < steps.length; i++) {
    if (states[i] !== 'pending' || !besideAll(steps[i], running)) continue;
    let free = true;
    for (let j = 0; j < i && free; j++) free = states[j] === 'done' || !conflicts(steps[j], steps[i]);
    if (free) return i;
  }
  return -1;
}

type Kind = Pick<Step, 'hazards' | 'lockTimeout'>;
const isBuild = (s: Kind) => s.hazards.includes('INDEX_BUILD');
const isScan = (s: Kind) => isBuild(s) || s.hazards.includes('TABLE_SCAN');

/** Whether `step` may run beside every step of `running` (whatever they touch). */
function besideAll(step: Kind, running: readonly Kind[]): boolean {
  if (running.length === 0) return true;
  if (step.lockTimeout || running.some((r) => r.lockTimeout)) return false;
  if (isBuild(step)) return !running.some(isScan);
  return !(isScan(step) && running.some(isBuild));
}
