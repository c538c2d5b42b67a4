import type { HistoryRun, HistoryStep } from '../dialect/dialect.js';
import { SchemaDiffError } from '../errors.js';
import { didYouMean } from '../schema/names.js';

/** What a rollback undoes. */
export type RollbackScope =
  /** The most recent apply that still has steps to undo. */
  | { readonly kind: 'last' }
  /** Every apply after run `runId` (0: every apply). */
  | { readonly kind: 'to'; readonly runId: number }
  /** Just these objects, each back to its state before the apply that last changed it. */
  | { readonly kind: 'objects'; readonly names: readonly string[] };

export interface Selection {
  /** History steps to undo, in the order their inverses run: newest apply first, last step first. */
  readonly steps: readonly HistoryStep[];
  /**
   * Steps with nothing to run (VALIDATE) that this rollback completes, each with
   * the selected step whose undo marks it undone in the same transaction.
   */
  readonly riders: ReadonlyMap<HistoryStep, HistoryStep>;
  /** Why there is nothing, or less than asked, to undo: for the user. */
  readonly notes: readonly string[];
}

/** A step still in effect that has an inverse to run. */
export function isPending(step: HistoryStep): boolean {
  return step.undoneBy === null && step.inverse.length > 0;
}

/**
 * Chooses, from the journal alone, which applied steps a rollback undoes.
 * Pure, so that the rules (nothing twice, newest first, one object at a time)
 * are tested without a database.
 */
export function selectForRollback(history: readonly HistoryRun[], scope: RollbackScope): Selection {
  const applies = history.filter((r) => r.kind === 'apply');
  const picked = pick(history, applies, scope);
  const steps = [...picked.steps].sort((a, b) => b.runId - a.runId || b.seq - a.seq);
  return { steps, riders: ridersOf(applies, steps), notes: picked.notes };
}

function pick(history: readonly HistoryRun[], applies: readonly HistoryRun[], scope: RollbackScope) {
  switch (scope.kind) {
    case 'last':
      return pickLast(applies);
    case 'to':
      return pickAfter(history, applies, scope.runId);
    case 'objects':
      return pickObjects(applies, scope.names);
    default: {
      const never: never = scope;
      throw new Error(`unhandled scope ${JSON.stringify(never)}`);
    }
  }
}

function pickLast(applies: readonly HistoryRun[]) {
  if (applies.length === 0) return { steps: [], notes: ['nothing to undo: no apply is recorded in this database'] };
  const run = [...applies].reverse().find((r) => r.steps.some(isPending));
  if (!run) return { steps: [], notes: [`nothing to undo: every apply (${applies.length}) is already rolled back`] };
  return { steps: run.steps.filter(isPending), notes: [] };
}

function pickAfter(history: readonly HistoryRun[], applies: readonly HistoryRun[], runId: number) {
  if (runId !== 0 && !history.some((r) => r.id === runId)) {
    const ids = history.map((r) => r.id);
    const known = ids.length ? `runs ${ids[0]}..${ids[ids.length - 1]}` : 'none';
    throw new SchemaDiffError('usage', `--to ${runId}: no run ${runId} in the history (recorded: ${known}; see schema-diff history)`);
  }
  const steps = applies.filter((r) => r.id > runId).flatMap((r) => r.steps.filter(isPending));
  return { steps, notes: steps.length ? [] : [`nothing to undo: no apply after run ${runId} has steps left to undo`] };
}

/**
 * For each name, the steps of the latest apply that changed it and are still
 * in effect. A replaced foreign key lists both its new and its old name in
 * `objects`, so either name finds it.
 */
function pickObjects(applies: readonly HistoryRun[], names: readonly string[]) {
  const chosen = new Map<string, HistoryStep>();
  const notes: string[] = [];
  const everyStep = applies.flatMap((r) => r.steps);
  for (const name of names) {
    const mentions = everyStep.filter((s) => s.objects.includes(name));
    const pending = mentions.filter(isPending);
    if (pending.length === 0) {
      if (mentions.length === 0) throw unknownObject(name, everyStep);
      notes.push(`nothing to undo for ${name}: ${describeUndone(mentions)}`);
      continue;
    }
    const latest = Math.max(...pending.map((s) => s.runId));
    for (const s of pending.filter((p) => p.runId === latest)) chosen.set(`${s.runId}:${s.seq}`, s);
  }
  const steps = [...chosen.values()];
  return { steps, notes: [...notes, ...steps.flatMap((s) => undoneTogether(s, names))] };
}

/**
 * A step that changed several objects at once (a SQLite table rebuild) is
 * undone whole: say which other objects go with it. A replacement's old name
 * is the same object, not another one.
 */
function undoneTogether(step: HistoryStep, names: readonly string[]): string[] {
  if (step.objects.includes(step.name)) return [];
  const others = step.objects.filter((o) => !names.includes(o));
  if (others.length === 0) return [];
  const asked = step.objects.filter((o) => names.includes(o)).join(', ');
  return [`${asked} was applied in one step with ${others.length} other object(s) on ${step.table}, undone with it: ${others.join(', ')}`];
}

function unknownObject(name: string, steps: readonly HistoryStep[]): SchemaDiffError {
  const known = [...new Set(steps.flatMap((s) => s.objects))];
  return new SchemaDiffError('usage', `--constraint ${name}: no apply in the history changed an object of that name${didYouMean(name, known)}`);
}

function describeUndone(mentions: readonly HistoryStep[]): string {
  const by = [...new Set(mentions.map((s) => s.undoneBy).filter((id): id is number => id !== null))];
  if (by.length === 0) return 'its apply only validated it, and validation has no undo';
  return `already rolled back (run ${by.join(', ')})`;
}

/**
 * A VALIDATE step has no inverse: it is done with once every object it
 * validated is undone. It rides with the last undo (in running order) that
 * completes that, so the journal never shows an apply as half undone when it is not.
 */
function ridersOf(applies: readonly HistoryRun[], selected: readonly HistoryStep[]): Map<HistoryStep, HistoryStep> {
  const riders = new Map<HistoryStep, HistoryStep>();
  for (const run of applies) {
    const mine = selected.filter((s) => s.runId === run.id);
    if (mine.length === 0) continue;
    const undone = new Set([...run.steps.filter((s) => s.undoneBy !== null), ...mine].flatMap((s) => s.objects));
    for (const v of run.steps) {
      if (v.undoneBy !== null || v.inverse.length > 0 || v.objects.length === 0) continue;
      if (!v.objects.every((o) => undone.has(o))) continue;
      const covering = mine.filter((s) => s.objects.some((o) => v.objects.includes(o)));
      const pool = covering.length ? covering : mine;
      riders.set(v, pool[pool.length - 1]);
    }
  }
  return riders;
}
