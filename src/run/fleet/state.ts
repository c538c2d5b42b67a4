import { readFile, rename, writeFile } from 'node:fs/promises';
import { SchemaDiffError } from '../../errors.js';
import type { TargetOutcome, TargetStatus } from './rollout.js';

/**
 * What the last fleet apply left on each target, by label (docs/fleets.md).
 * It holds labels, statuses and scrubbed errors, never a URL.
 */
export interface FleetState {
  readonly version: 1;
  readonly command: string;
  readonly updatedAt: string;
  readonly targets: Readonly<Record<string, { readonly status: TargetStatus; readonly error?: string; readonly at: string }>>;
}

export async function readFleetState(path: string): Promise<FleetState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const state = JSON.parse(text) as FleetState;
    if (state.version !== 1 || typeof state.targets !== 'object') throw new Error('not a version 1 state');
    return state;
  } catch (e) {
    throw new SchemaDiffError('usage', `fleet state ${path} is unreadable (${(e as Error).message}); remove it to start afresh`);
  }
}

/**
 * Records outcomes as they arrive, merged over the previous state (a target
 * not run this time keeps its last status). Each write goes to a side file
 * renamed over the state, so a killed rollout leaves the old or the new
 * state, never half of one; writes are chained so none overtakes another.
 */
export function stateRecorder(path: string, command: string, previous: FleetState | null) {
  const targets: Record<string, FleetState['targets'][string]> = { ...(previous?.targets ?? {}) };
  let chain: Promise<void> = Promise.resolve();
  return {
    record(outcome: TargetOutcome): Promise<void> {
      if (outcome.status === 'untouched') return chain;
      targets[outcome.label] = { status: outcome.status, ...(outcome.error ? { error: outcome.error } : {}), at: new Date().toISOString() };
      const state: FleetState = { version: 1, command, updatedAt: new Date().toISOString(), targets: { ...targets } };
      chain = chain.then(async () => {
        const side = `${path}.${process.pid}.tmp`;
        await writeFile(side, JSON.stringify(state, null, 2) + '\n');
        await rename(side, path);
      });
      return chain;
    },
    settled: () => chain,
  };
}

/** The labels whose last recorded status was a failure (`--only-failed`). */
export function failedLastTime(state: FleetState | null): Set<string> {
  const out = new Set<string>();
  for (const [label, t] of Object.entries(state?.targets ?? {})) if (t.status === 'failed' || t.status === 'unreachable') out.add(label);
  return out;
}
