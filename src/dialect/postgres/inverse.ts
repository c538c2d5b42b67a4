import type { Change } from '../../diff/changes.js';
import type { HistoryStep } from '../dialect.js';
import { journalError } from '../history-runs.js';
import { renderPostgres } from './render.js';

const EMPTY_CATALOG = { dialect: 'postgres' as const, tables: [] };
const CHANGE_KINDS = new Set<Change['kind']>([
  'add_check',
  'replace_check',
  'add_foreign_key',
  'replace_foreign_key',
  'rename_foreign_key',
  'create_index',
  'replace_index',
  'rename_index',
  'add_unique_constraint',
  'replace_unique_constraint',
  'drop_check',
  'drop_foreign_key',
  'drop_index',
]);

/**
 * The inverse of a journaled step, rendered again from the change the journal
 * kept for it, by the same renderer that made it: names are quoted by the
 * renderer, not taken as SQL text. Throws a journal error when the change is
 * missing or does not render to a step of the recorded action and name.
 */
export function inverseOfPostgres(step: HistoryStep): readonly string[] {
  const change = step.origin as Partial<Change> | null | undefined;
  const fail = (problem: string) => journalError(step.runId, step.seq, problem);
  if (!change || typeof change !== 'object' || !CHANGE_KINDS.has(change.kind as Change['kind'])) {
    throw fail('no recorded change to render its inverse from (a journal from before schema-diff kept one, or one changed by hand)');
  }
  let rendered;
  try {
    rendered = renderPostgres([change as Change], EMPTY_CATALOG).find((s) => s.action === step.action && s.name === step.name);
  } catch {
    throw fail(`its recorded ${change.kind} change cannot be rendered`);
  }
  if (!rendered || rendered.table !== step.table) throw fail(`its recorded ${change.kind} change does not render to ${step.action} ${step.name} on ${step.table}`);
  return rendered.inverse;
}
