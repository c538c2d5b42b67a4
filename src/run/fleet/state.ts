import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { SchemaDiffError } from '../../errors.js';
import type { RecordedRun } from '../rollback-select.js';
import type { TargetOutcome, TargetStatus } from './rollout.js';

export interface TargetState {
  readonly status: TargetStatus;
  readonly error?: string;
  readonly at: string;
  /** apply: the journal runs the rollout of `manifest` applied steps in on this target, oldest first. */
  readonly runs?: readonly RecordedRun[];
}

/**
 * What the last fleet apply left on each target, by label (docs/fleets.md).
 * It holds labels, statuses, scrubbed errors and run ids, never a URL.
 */
export interface FleetState {
  readonly version: 1;
  readonly command: string;
  readonly updatedAt: string;
  /** apply: the digest of the manifest rolled out; a re-run with the same one resumes that rollout. Absent before runs were recorded. */
  readonly manifest?: string;
  readonly targets: Readonly<Record<string, TargetState>>;
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
    if (state.version !== 1 || typeof state.targets !== 'object' || state.targets === null) throw new Error('not a version 1 state');
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
 *
 * apply passes the manifest's digest: the runs recorded belong to the rollout
 * of that manifest. A re-run with the same manifest is its resume and keeps
 * them (a target converged by the first attempt applies nothing the second
 * time, yet the rollout changed it); another manifest starts a new rollout,
 * which forgets every older run at once, before any target is touched, so
 * that a target it leaves untouched has none.
 */
export function stateRecorder(path: string, command: string, previous: FleetState | null, manifest?: string) {
  const fresh = manifest !== undefined && previous?.manifest !== manifest;
  const targets: Record<string, TargetState> = {};
  for (const [label, t] of Object.entries(previous?.targets ?? {})) targets[label] = fresh ? withoutRuns(t) : t;
  let chain: Promise<void> = Promise.resolve();
  const write = () => {
    const state: FleetState = { version: 1, command, updatedAt: new Date().toISOString(), ...(manifest ? { manifest } : {}), targets: { ...targets } };
    chain = chain.then(async () => {
      const side = `${path}.${process.pid}.tmp`;
      await writeFile(side, JSON.stringify(state, null, 2) + '\n');
      await rename(side, path);
    });
    return chain;
  };
  if (fresh && previous) void write();
  return {
    record(outcome: TargetOutcome): Promise<void> {
      if (outcome.status === 'untouched') return chain;
      const runs = [...(targets[outcome.label]?.runs ?? [])];
      if (outcome.applied && !runs.some((r) => r.id === outcome.applied?.id)) runs.push(outcome.applied);
      targets[outcome.label] = {
        status: outcome.status,
        ...(outcome.error ? { error: outcome.error } : {}),
        at: new Date().toISOString(),
        ...(manifest !== undefined && runs.length > 0 ? { runs } : {}),
      };
      return write();
    },
    settled: () => chain,
  };
}

function withoutRuns(t: TargetState): TargetState {
  const { runs: _runs, ...rest } = t;
  return rest;
}

/** The labels whose last recorded status was a failure (`--only-failed`). */
export function failedLastTime(state: FleetState | null): Set<string> {
  const out = new Set<string>();
  for (const [label, t] of Object.entries(state?.targets ?? {})) if (t.status === 'failed' || t.status === 'unreachable') out.add(label);
  return out;
}

/**
 * The runs the last rollout applied on one target, read from apply's state
 * file (a file, so checked as data); empty when it applied nothing there.
 */
export function rolloutRunsOf(state: FleetState, label: string, path: string): RecordedRun[] {
  const runs: unknown = Object.hasOwn(state.targets, label) ? state.targets[label].runs : undefined;
  if (runs === undefined) return [];
  const valid = (r: unknown): r is RecordedRun =>
    typeof r === 'object' && r !== null && Number.isSafeInteger((r as RecordedRun).id) && (r as RecordedRun).id > 0 && typeof (r as RecordedRun).fingerprint === 'string';
  if (!Array.isArray(runs) || !runs.every(valid)) {
    throw new SchemaDiffError('usage', `fleet state ${path}: targets[${JSON.stringify(label)}].runs is not a list of { id, fingerprint }; remove it to start afresh`);
  }
  return runs.map((r) => ({ id: r.id, fingerprint: r.fingerprint }));
}

/** What tells one rollout from the next: the manifest's content (a re-run of the same manifest is a resume). */
export function manifestKey(manifest: unknown): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(manifest)).digest('hex')}`;
}
