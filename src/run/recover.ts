import type { Dialect, HistoryStep } from '../dialect/dialect.js';
import type { Catalog, Index } from '../schema/types.js';
import { findTable } from '../schema/types.js';
import { definitionNow, isDropAction, OBJECT_KIND, objectsOf, tableRefOf } from './rollback-drift.js';

/**
 * Closes the runs a killed apply or rollback left 'running'. Called by apply
 * and rollback once they hold the lock, so no other schema-diff process is
 * running and each such run's process is gone. Each is marked 'interrupted';
 * for an apply, every planned step whose object now exists as planned is
 * journaled as applied first, so that rollback can undo it: a CREATE INDEX
 * CONCURRENTLY commits on its own, and a kill between the build and its
 * journal row would leave a valid index nobody knows was made by schema-diff.
 * A rollback's planned undos are not adopted: running rollback again finishes them.
 */
export async function closeInterruptedRuns(dialect: Dialect, notice?: (message: string) => void): Promise<void> {
  for (const run of await dialect.unfinishedRuns()) {
    const adopted = run.kind === 'apply' ? await foundAsPlanned(dialect, run.planned) : [];
    await dialect.markInterrupted(run.id, adopted.map((s) => s.seq));
    const what = adopted.length
      ? `; what it made is now in its journal: ${adopted.map((s) => `${s.action} ${s.name} on ${s.table}`).join(', ')}`
      : '';
    notice?.(`${run.kind} run ${run.id} was interrupted (its process is gone); marked interrupted${what}`);
  }
}

async function foundAsPlanned(dialect: Dialect, planned: readonly HistoryStep[]): Promise<HistoryStep[]> {
  if (planned.length === 0) return [];
  const tables = [...new Set(planned.map((s) => s.table))].map(tableRefOf);
  const catalog = await dialect.introspect(tables);
  return planned.filter((s) => existsAsPlanned(dialect, catalog, s));
}

/**
 * Whether what a planned step makes is in the database as the step would
 * leave it, read through the dialect's introspection: the object of that name
 * on that table, its definition rendered as Step.after the same way apply did,
 * an index VALID (an INVALID leftover is rebuilt by the next plan, not kept),
 * and a replaced or renamed object's old name gone.
 */
export function existsAsPlanned(dialect: Dialect, catalog: Catalog, step: HistoryStep): boolean {
  const kind = OBJECT_KIND[step.action];
  const table = findTable(catalog, tableRefOf(step.table));
  if (!kind || !table) return false; // VALIDATE has nothing to undo; a table rebuild commits with its journal row
  const objects = objectsOf(table, kind);
  const current = objects.find((o) => o.name === step.name);
  if (isDropAction(step.action)) return !current;
  if (!current) return false;
  if (kind === 'index' && !(current as Index).valid) return false;
  if (step.objects.some((o) => o !== step.name && objects.some((x) => x.name === o))) return false;
  if (step.action === 'rename_index' || step.action === 'rename_foreign_key') return true;
  const now = definitionNow(dialect, catalog, step, current, kind);
  return now !== null && typeof step.after === 'string' && now === step.after;
}
