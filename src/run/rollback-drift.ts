import type { Dialect, HistoryStep } from '../dialect/dialect.js';
import type { Change } from '../diff/changes.js';
import { sameDefinition } from '../diff/ownership.js';
import type { StepAction } from '../plan/types.js';
import type { Catalog, Check, ForeignKey, Index, Table, TableRef } from '../schema/types.js';
import { findTable } from '../schema/types.js';

export type ObjectKind = 'check' | 'foreign_key' | 'index';

/** The kind of object a step creates or changes, for the actions that name one object. */
export const OBJECT_KIND: Partial<Record<StepAction, ObjectKind>> = {
  add_check: 'check',
  replace_check: 'check',
  add_foreign_key: 'foreign_key',
  replace_foreign_key: 'foreign_key',
  rename_foreign_key: 'foreign_key',
  create_index: 'index',
  replace_index: 'index',
  rename_index: 'index',
  add_unique_constraint: 'index',
  replace_unique_constraint: 'index',
  drop_index: 'index',
  drop_check: 'check',
  drop_foreign_key: 'foreign_key',
  drop_unique_constraint: 'index',
};

/** The steps that drop their object: undoing one creates it again. */
export function isDropAction(action: StepAction): boolean {
  return action === 'drop_index' || action === 'drop_check' || action === 'drop_foreign_key' || action === 'drop_unique_constraint';
}

export interface Drift {
  /** Changes made by hand that the undo would clobber or trip over: the rollback stops before changing anything. */
  readonly problems: readonly string[];
  /** Harmless differences, said once: the object is already where the undo takes it. */
  readonly notes: readonly string[];
}

/** "public.orders" back into a TableRef (the journal stores qualified names). */
export function tableRefOf(qualified: string): TableRef {
  const dot = qualified.indexOf('.');
  return dot < 0 ? { schema: '', name: qualified } : { schema: qualified.slice(0, dot), name: qualified.slice(dot + 1) };
}

/**
 * Compares what each step to undo left behind with the catalog now. Only an
 * object's first undo (in running order) is checked against the catalog: a
 * later undo of the same object meets the state the earlier one restores.
 */
export function findDrift(dialect: Dialect, catalog: Catalog, steps: readonly HistoryStep[]): Drift {
  const problems: string[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const step of steps) {
    const keys = step.objects.map((o) => `${step.table}:${o}`);
    const first = !keys.some((k) => seen.has(k));
    keys.forEach((k) => seen.add(k));
    if (first) checkStep(dialect, catalog, step, problems, notes);
  }
  return { problems, notes };
}

function checkStep(dialect: Dialect, catalog: Catalog, step: HistoryStep, problems: string[], notes: string[]): void {
  const table = findTable(catalog, tableRefOf(step.table));
  const apply = `apply ${step.runId}`;
  if (!table) {
    problems.push(`table ${step.table} no longer exists (${apply} changed ${step.name} on it)`);
    return;
  }
  if (step.action === 'comment_constraint' || step.action === 'comment_index') {
    checkComment(table, step, problems);
    return;
  }
  const kind = OBJECT_KIND[step.action];
  if (!kind) return; // whole-table steps (a SQLite rebuild): the table is all there is to check
  const where = `${step.name} on ${step.table}`;
  const current = objectsOf(table, kind).find((o) => o.name === step.name);
  if (isDropAction(step.action)) {
    if (current) problems.push(`${where} exists again since ${apply} dropped it; undoing would create it a second time`);
    return;
  }
  if (!current) {
    if (step.action === 'rename_foreign_key' || step.action === 'rename_index') {
      problems.push(`${where} no longer exists (renamed or dropped by hand since ${apply}); it cannot be renamed back`);
    } else if (step.objects.some((o) => o !== step.name) || step.action.startsWith('replace_')) {
      notes.push(`${where} no longer exists (dropped by hand since ${apply}); undoing it restores what it replaced`);
    } else {
      notes.push(`${where} is already gone (dropped by hand since ${apply}); undoing it changes nothing more`);
    }
  } else {
    const now = definitionNow(dialect, catalog, step, current, kind);
    if (now !== null && step.after && now !== step.after) {
      problems.push(`${where} was changed by hand since ${apply}: it is now ${now}; ${apply} left ${step.after}`);
    }
  }
  // A replacement's undo re-creates the object it replaced: that name must be free.
  for (const old of step.objects.filter((o) => o !== step.name)) {
    if (objectsOf(table, kind).some((o) => o.name === old)) {
      problems.push(`${old} on ${step.table} exists again since ${apply} replaced it with ${step.name}; undoing would create it a second time`);
    }
  }
}

/**
 * A comment step's undo writes the previous comment: refused when the comment
 * was changed by hand since (the journal's change says what the step wrote;
 * it is only compared, never run). An object gone since needs no undo.
 */
function checkComment(table: Table, step: HistoryStep, problems: string[]): void {
  const object = [...table.checks, ...table.foreignKeys, ...table.indexes].find((o) => o.name === step.name);
  const written = (step.origin as { description?: unknown } | null)?.description;
  if (!object || (typeof written !== 'string' && written !== null)) return;
  const now = object.description ?? null;
  if (now !== written) {
    const said = (c: string | null) => (c === null ? 'no comment' : JSON.stringify(c));
    problems.push(`the comment on ${step.name} on ${step.table} was changed by hand since apply ${step.runId}: it is now ${said(now)}; apply ${step.runId} left ${said(written)}`);
  }
}

/**
 * The same check for the objects of a step to undo in part (Dialect.undoPart):
 * each must still be as the step left it (its recorded effect), because the
 * undo edits the table around the others, which stay. A missing object is a
 * problem too, not a note: the undo renders its removal from the table as it is.
 */
export function findPartDrift(catalog: Catalog, step: HistoryStep, objects: readonly string[]): string[] {
  const table = findTable(catalog, tableRefOf(step.table));
  const apply = `apply ${step.runId}`;
  if (!table) return [`table ${step.table} no longer exists (${apply} changed ${objects.join(', ')} on it)`];
  const problems: string[] = [];
  for (const e of (step.effects ?? []).filter((x) => objects.includes(x.name))) {
    const where = `${e.name} on ${step.table}`;
    const current = objectsOf(table, e.kind).find((o) => o.name === e.name);
    if (e.effect === 'dropped') {
      if (current) problems.push(`${where} exists again since ${apply} dropped it; undoing would create it a second time`);
    } else if (!current) {
      problems.push(`${where} no longer exists (dropped by hand since ${apply}); it cannot be undone apart from the other objects of its step`);
    } else if (e.definition !== undefined && !sameDefinition(e.kind, e.definition, current)) {
      problems.push(`${where} was changed by hand since ${apply}; undoing it would not return it to its state before the apply`);
    }
    if (e.from !== undefined && e.from !== e.name && objectsOf(table, e.kind).some((o) => o.name === e.from)) {
      problems.push(`${e.from} on ${step.table} exists again since ${apply} replaced it with ${e.name}; undoing would create it a second time`);
    }
  }
  return problems;
}

export function objectsOf(table: Table, kind: ObjectKind): readonly (Check | ForeignKey | Index)[] {
  if (kind === 'check') return table.checks;
  if (kind === 'foreign_key') return table.foreignKeys;
  return table.indexes;
}

/** The fields of a journal step that say which object it concerns and how it rendered it. */
export type StepOfObject = Pick<HistoryStep, 'table' | 'action' | 'name' | 'objects'>;

/**
 * The object's definition now, in the words the dialect used for Step.after
 * when it was applied: render the same kind of step for the object as it is,
 * and read its `after`. null when the dialect renders it as another kind of
 * step (nothing comparable) or the action carries no definition (renames).
 */
export function definitionNow(dialect: Dialect, catalog: Catalog, step: StepOfObject, current: Check | ForeignKey | Index, kind: ObjectKind) {
  const change = syntheticChange(step, current, kind);
  if (!change) return null;
  try {
    // Rendered only for its definition: the object exists, so planning's name-collision check must not see it.
    const rendered = dialect.render([change], catalog, { definitionsOnly: true }).find((s) => s.action === step.action && s.name === step.name);
    return rendered?.after ?? null;
  } catch {
    return null;
  }
}

function syntheticChange(step: StepOfObject, current: Check | ForeignKey | Index, kind: ObjectKind): Change | null {
  const path = `${step.table}.${current.name}`;
  const table = tableRefOf(step.table);
  if (kind === 'check') {
    const c = current as Check;
    const desired = { ...c, source: c.expr, severity: 'critical' as const, path };
    if (step.action === 'add_check') return { kind: 'add_check', table, desired };
    if (step.action === 'replace_check') return { kind: 'replace_check', table, desired, current: c };
    return null;
  }
  if (kind === 'foreign_key') {
    const fk = current as ForeignKey;
    const desired = { ...fk, severity: 'critical' as const, path };
    if (step.action === 'add_foreign_key') return { kind: 'add_foreign_key', table, desired };
    const replaced = step.objects.find((o) => o !== step.name) ?? fk.name;
    if (step.action === 'replace_foreign_key') return { kind: 'replace_foreign_key', table, desired, current: { ...fk, name: replaced } };
    return null;
  }
  const ix = current as Index;
  const desired = { ...ix, source: { keys: ix.keys, where: ix.where }, severity: 'critical' as const, path };
  if (step.action === 'create_index') return { kind: 'create_index', table, desired };
  if (step.action === 'replace_index') return { kind: 'replace_index', table, desired, current: { ...ix, valid: true } };
  if (step.action === 'add_unique_constraint') return { kind: 'add_unique_constraint', table, desired, current: ix };
  if (step.action === 'replace_unique_constraint') return { kind: 'replace_unique_constraint', table, desired, current: { ...ix, valid: true } };
  return null;
}
