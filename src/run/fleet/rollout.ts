import { messageOf } from '../../errors.js';
import type { RecordedRun } from '../rollback-select.js';
import type { FleetTarget } from './targets.js';

/**
 * Where a target stands after a fleet command: ok (converged, ready), pending
 * (changes or drift left), violations (rows break the manifest), failed,
 * unreachable, or untouched (the rollout stopped before it).
 */
export type TargetStatus = 'ok' | 'pending' | 'violations' | 'failed' | 'unreachable' | 'untouched';

/** What the work on one target reports; the runner adds the label and the times. */
export interface WorkResult {
  readonly status: Exclude<TargetStatus, 'untouched'>;
  /** Steps (plan, apply), drifting objects (verify), violating rows (validate), runs (history). */
  readonly count: number;
  readonly error?: string;
  /** The statements' fingerprint (plan): targets with the same one share a plan. */
  readonly planKey?: string;
  /** Anything the command prints once per distinct plan (the script). */
  readonly detail?: string;
  /** apply, rollback: the longest wait for a write-blocking lock (ExecuteEvents.lockAcquired); absent when none was taken. */
  readonly lockWaitMs?: number;
  /** apply: the journal run it applied steps in (also when it failed after some), for rollback to undo exactly that. */
  readonly applied?: RecordedRun;
  /** Why a target was left as it is, when that is no error (rollback: the last rollout applied nothing here). */
  readonly note?: string;
}

export interface TargetOutcome extends Omit<WorkResult, 'status'> {
  readonly label: string;
  readonly status: TargetStatus;
  readonly ms: number;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly canary?: boolean;
}

export type Work = (target: FleetTarget, role: { canary: boolean }) => Promise<WorkResult>;

export interface FleetEvents {
  finished?(outcome: TargetOutcome, done: number, total: number): void;
  /** The run is over (every target done, or the rollout stopped): a progress display takes itself down. */
  ended?(): void;
}

export interface RolloutOptions {
  /** Targets run first, alone in their wave; any of them not ending ok stops the rollout. */
  readonly canary: number;
  /** Targets in flight at once after the canaries. */
  readonly parallel: number;
  /** Failures tolerated after the canaries: the next one stops the rollout. */
  readonly maxFailures: number;
  /** Which targets may serve as canaries (a re-run prefers those not converged last time); all when absent. */
  readonly canaryCandidate?: (target: FleetTarget) => boolean;
  readonly events?: FleetEvents;
}

export const isFailure = (s: TargetStatus) => s === 'failed' || s === 'unreachable';

/** Every target, `parallel` at a time, none stopping the others (plan, verify, validate, history). */
export async function runEach(targets: readonly FleetTarget[], work: Work, parallel: number, events?: FleetEvents): Promise<TargetOutcome[]> {
  const counter = { done: 0, total: targets.length };
  const outcomes = await inWaves(targets, (t) => runOne(t, work, false, counter, events), parallel, () => false);
  events?.ended?.();
  return outcomes.map((o, i) => o?.outcome ?? untouched(targets[i]));
}

/**
 * apply's rollout: the canaries first, then the rest `parallel` at a time.
 * A canary that does not end ok, or failures beyond `maxFailures`, stop it:
 * targets not yet started stay untouched; those in flight finish.
 */
export async function rollOut(targets: readonly FleetTarget[], work: Work, options: RolloutOptions): Promise<TargetOutcome[]> {
  const counter = { done: 0, total: targets.length };
  const candidates = targets.filter(options.canaryCandidate ?? (() => true));
  const canaries = new Set((candidates.length > 0 ? candidates : targets).slice(0, options.canary));
  const byTarget = new Map<FleetTarget, TargetOutcome>();
  const first = await inWaves([...canaries], (t) => runOne(t, work, true, counter, options.events), options.parallel, () => false);
  first.forEach((o) => o && byTarget.set(o.target, o.outcome));
  if ([...byTarget.values()].every((o) => o.status === 'ok')) {
    let failures = 0;
    const rest = targets.filter((t) => !canaries.has(t));
    const run = async (t: FleetTarget) => {
      const r = await runOne(t, work, false, counter, options.events);
      if (isFailure(r.outcome.status)) failures += 1;
      return r;
    };
    const after = await inWaves(rest, run, options.parallel, () => failures > options.maxFailures);
    after.forEach((o) => o && byTarget.set(o.target, o.outcome));
  }
  options.events?.ended?.();
  return targets.map((t) => byTarget.get(t) ?? untouched(t));
}

async function runOne(
  target: FleetTarget,
  work: Work,
  canary: boolean,
  counter: { done: number; total: number },
  events?: FleetEvents,
): Promise<{ target: FleetTarget; outcome: TargetOutcome }> {
  const startedAt = new Date();
  const t0 = performance.now();
  let result: WorkResult;
  try {
    result = await work(target, { canary });
  } catch (e) {
    // the work reports its own failures; this is the last guard so one target never ends the others' rollout
    result = { status: 'failed', count: 0, error: messageOf(e) };
  }
  const outcome: TargetOutcome = {
    label: target.label,
    ...result,
    ms: Math.round(performance.now() - t0),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    ...(canary ? { canary } : {}),
  };
  counter.done += 1;
  events?.finished?.(outcome, counter.done, counter.total);
  return { target, outcome };
}

/** Runs `task` over items, at most `parallel` at once, starting no new one once `stop()` says so. */
async function inWaves<T, R>(items: readonly T[], task: (item: T) => Promise<R>, parallel: number, stop: () => boolean): Promise<(R | undefined)[]> {
  const results: (R | undefined)[] = new Array(items.length).fill(undefined);
  let next = 0;
  const lane = async () => {
    while (next < items.length && !stop()) {
      const i = next++;
      results[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, items.length)) }, lane));
  return results;
}

function untouched(target: FleetTarget): TargetOutcome {
  return { label: target.label, status: 'untouched', count: 0, ms: 0 };
}

/** 1 when any target failed, 2 when any is left pending, with violations or untouched, else 0. */
export function fleetExitStatus(outcomes: readonly TargetOutcome[]): 0 | 1 | 2 {
  if (outcomes.some((o) => isFailure(o.status))) return 1;
  // a target left as it is on purpose (its note says why: rollback, where the rollout applied nothing) is where
  // the command should leave it; one the rollout stopped before is not
  return outcomes.every((o) => o.status === 'ok' || (o.status === 'untouched' && o.note !== undefined)) ? 0 : 2;
}
