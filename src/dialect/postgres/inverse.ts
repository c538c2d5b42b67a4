import type { Change } from '../../diff/changes.js';
import { FK_ACTIONS, qualifiedName, type TableRef } from '../../schema/types.js';
import type { HistoryStep } from '../dialect.js';
import { fragmentProblem } from '../fragments.js';
import { journalError } from '../history-runs.js';
import { scanExpression } from './expr-columns.js';
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
  'comment_constraint',
  'comment_index',
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
  const problem = originProblem(change, step.table);
  if (problem !== null) throw fail(`its recorded change ${problem}`);
  let rendered;
  try {
    rendered = renderPostgres([change as Change], EMPTY_CATALOG).find((s) => s.action === step.action && s.name === step.name);
  } catch {
    throw fail(`its recorded ${change.kind} change cannot be rendered`);
  }
  if (!rendered || rendered.table !== step.table) throw fail(`its recorded ${change.kind} change does not render to ${step.action} ${step.name} on ${step.table}`);
  return rendered.inverse;
}

/** Keys of a journaled change whose text the renderer writes into SQL as it is, not as a quoted name. */
const SQL_TEXT_KEYS = new Set(['expr', 'source', 'where']);
const FK_ACTION_KEYS = new Set(['onDelete', 'onUpdate']);

/**
 * Why a journaled change may not be rendered, or null. The journal is not
 * trusted (docs/security.md): a row whose origin and stored inverse were forged
 * to agree would otherwise have rollback run what they say. So every expression
 * in it must pass the manifest's own one-expression check, every foreign key
 * action be one of the five, and every table it names be the step's table.
 */
function originProblem(change: Partial<Change>, stepTable: string): string | null {
  const sides = change as { desired?: { table?: unknown }; current?: { table?: unknown } };
  const tables = [change.table, ...(sides.desired ? [sides.desired.table] : []), ...(sides.current ? [sides.current.table] : [])];
  for (const t of tables) {
    if (!isTableRef(t) || qualifiedName(t) !== stepTable) return `names table ${isTableRef(t) ? qualifiedName(t) : '(none)'}, not the step's ${stepTable}`;
  }
  let found: string | null = null;
  const visit = (value: unknown, key: string): void => {
    if (found !== null) return;
    if (typeof value === 'string') {
      if (SQL_TEXT_KEYS.has(key)) {
        const why = fragmentProblem(value, (text) => scanExpression(text).problem);
        if (why !== null) found = `has ${key} that is not a single SQL expression (${why})`;
      } else if (FK_ACTION_KEYS.has(key) && !(FK_ACTIONS as readonly string[]).includes(value)) {
        found = `has ${key} that is not a foreign key action`;
      } else if (key === 'match' && !['simple', 'full', 'partial'].includes(value)) {
        found = 'has a match that is not simple, full or partial';
      }
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, key === 'keys' ? 'key' : key);
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, k);
    }
  };
  visit(change, '');
  return found;
}

function isTableRef(t: unknown): t is TableRef {
  return t !== null && typeof t === 'object' && typeof (t as TableRef).schema === 'string' && typeof (t as TableRef).name === 'string';
}
