import type { HistoryRun, HistoryStep } from './dialect.js';

/** A journal run row, once each dialect has turned its columns into plain values. */
export type RunFields = Omit<HistoryRun, 'steps'>;

/** Groups journal steps under their runs: the one shape every dialect's history() returns. */
export function assembleHistory(runs: readonly RunFields[], steps: readonly HistoryStep[]): HistoryRun[] {
  return runs.map((r) => ({ ...r, steps: steps.filter((s) => s.runId === r.id) }));
}
