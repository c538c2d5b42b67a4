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
 * (none may start now). An index build runs beside no other scan: a
 * CONCURRENTLY build waits at its end for every older transaction, so a
 * VALIDATE beside it only holds it up (and the steps that wait for that
 * table's build with it), and a second build would share the cores the
 * first one's parallel workers use. VALIDATEs may run two at once, and the
 * short locked steps (NOT VALID adds, renames) beside anything.
 */
export function nextRunnable(steps: readonly Pick<Step, 'touches' | 'hazards'>[], states: readonly StepState[]): number {
  const running = steps.filter((_, i) => states[i] === 'running');
  const building = running.some(isBuild);
  const scanning = running.some(isScan);
  for (let i = 0; i < steps.length; i++) {
    if (states[i] !== 'pending') continue;
    if ((building && isScan(steps[i])) || (scanning && isBuild(steps[i]))) continue;
    let free = true;
    for (let j = 0; j < i && free; j++) free = states[j] === 'done' || !conflicts(steps[j], steps[i]);
    if (free) return i;
  }
  return -1;
}

const isBuild = (s: Pick<Step, 'hazards'>) => s.hazards.includes('INDEX_BUILD');
const isScan = (s: Pick<Step, 'hazards'>) => isBuild(s) || s.hazards.includes('TABLE_SCAN');
