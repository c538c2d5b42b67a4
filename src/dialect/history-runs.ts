import type { HistoryRun, HistoryStep } from './dialect.js';

/** A journal run row, once each dialect has turned its columns into plain values. */
export type RunFields = Omit<HistoryRun, 'steps'>;

/** Groups journal steps under their runs: the one shape every dialect's history() returns. */
export function assembleHistory(runs: readonly RunFields[], steps: readonly HistoryStep[]): HistoryRun[] {
  return runs.map((r) => ({ ...r, steps: steps.filter((s) => s.runId === r.id) }));
}

/** A journal step row with its columns already plain values (arrays, booleans, ISO times). */
export interface StepFields {
  readonly run_id: number;
  readonly seq: number;
  readonly action: HistoryStep['action'];
  readonly table_name: string;
  readonly name: string;
  readonly objects: readonly string[];
  readonly sql: readonly string[];
  readonly inverse: readonly string[];
  readonly transactional: boolean;
  readonly lock_timeout: boolean;
  readonly applied_at: string;
  readonly after_definition: string | null;
  readonly undone_by: number | null;
  /** Step.scans as stored; absent or null when the step has none (or the journal predates the column). */
  readonly scans?: HistoryStep['scans'] | null;
}

export function historyStepOf(s: StepFields): HistoryStep {
  return {
    runId: s.run_id,
    seq: s.seq,
    action: s.action,
    table: s.table_name,
    name: s.name,
    objects: s.objects,
    sql: s.sql,
    inverse: s.inverse,
    transactional: s.transactional,
    lockTimeout: s.lock_timeout,
    appliedAt: s.applied_at,
    after: s.after_definition,
    undoneBy: s.undone_by,
    ...(s.scans ? { scans: s.scans } : {}),
  };
}
