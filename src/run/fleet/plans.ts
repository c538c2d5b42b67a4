import { createHash } from 'node:crypto';
import type { Step } from '../../plan/types.js';
import type { TargetOutcome } from './rollout.js';

/**
 * What makes two targets' plans the same: their statements, in order. The
 * catalog fingerprint differs between any two databases; the statements do
 * not when the same changes are due.
 */
export function statementsKey(steps: readonly Step[]): string {
  const hash = createHash('sha256').update(JSON.stringify(steps.map((s) => s.sql)));
  return `sha256:${hash.digest('hex')}`;
}

export interface PlanGroup {
  /** A, B, … by number of targets, largest first. */
  readonly id: string;
  readonly key: string;
  readonly steps: number;
  readonly targets: readonly string[];
  readonly detail?: string;
}

/** Targets with pending steps grouped by identical plan, so that a reviewer reads each distinct plan once. */
export function groupPlans(outcomes: readonly TargetOutcome[]): PlanGroup[] {
  const groups = new Map<string, { steps: number; targets: string[]; detail?: string }>();
  for (const o of outcomes) {
    if (o.status !== 'pending' || !o.planKey) continue;
    const g = groups.get(o.planKey) ?? { steps: o.count, targets: [], detail: o.detail };
    g.targets.push(o.label);
    groups.set(o.planKey, g);
  }
  return [...groups.entries()]
    .sort(([, a], [, b]) => b.targets.length - a.targets.length)
    .map(([key, g], i) => ({ id: planId(i), key, ...g }));
}

/** A … Z, then AA, AB …: a fleet may hold more than 26 distinct plans. */
function planId(i: number): string {
  const letter = String.fromCharCode(65 + (i % 26));
  return i < 26 ? letter : planId(Math.floor(i / 26) - 1) + letter;
}

/** "6 targets: 3 share plan A (51 steps), 1 has plan B (4 steps), 1 up to date, 1 unreachable". */
export function planSummary(outcomes: readonly TargetOutcome[], groups: readonly PlanGroup[]): string {
  const parts = groups.map((g) => `${g.targets.length} ${g.targets.length === 1 ? 'has' : 'share'} plan ${g.id} (${g.steps} step${g.steps === 1 ? '' : 's'})`);
  const count = (status: TargetOutcome['status']) => outcomes.filter((o) => o.status === status).length;
  if (count('ok')) parts.push(`${count('ok')} up to date`);
  if (count('unreachable')) parts.push(`${count('unreachable')} unreachable`);
  if (count('failed')) parts.push(`${count('failed')} failed`);
  return `${outcomes.length} target${outcomes.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}
