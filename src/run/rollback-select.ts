import type { HistoryRun, HistoryStep } from '../dialect/dialect.js';
import { SchemaDiffError } from '../errors.js';
import { journalError } from '../dialect/history-runs.js';
import { didYouMean } from '../schema/names.js';

/** What a rollback undoes. */
export type RollbackScope =
  /** The most recent apply that still has steps to undo. */
  | { readonly kind: 'last' }
  /** Every apply after run `runId` (0: every apply). */
  | { readonly kind: 'to'; readonly runId: number }
  /** Just these objects, each back to its state before the apply that last changed it. */
  | { readonly kind: 'objects'; readonly names: readonly string[] }
  /**
   * Exactly these apply runs, as a fleet rollout recorded them (docs/fleets.md):
   * refused when the journal no longer holds them as recorded, or when a newer
   * apply is in effect on top of them.
   */
  | { readonly kind: 'runs'; readonly runs: readonly RecordedRun[] };

/** An apply run as a fleet rollout recorded it: its journal id and the catalog fingerprint it was planned against. */
export interface RecordedRun {
  readonly id: number;
  readonly fingerprint: string;
}

export interface SelectOptions {
  /** The dialect can undo some objects of a step that changed several alone (Dialect.undoPart). */
  readonly partial?: boolean;
  /** Steps (`runId:seq`) to undo whole all the same: the dialect cannot undo their objects apart. */
  readonly whole?: ReadonlySet<string>;
}

/** Some objects of an applied step to undo, the step's others left in effect. */
export interface PartialUndo {
  readonly step: HistoryStep;
  readonly objects: readonly string[];
}

export interface Selection {
  /**
   * History steps to undo whole, in the order their inverses run: newest run
   * first, last step first. An applied step some of whose objects were undone
   * apart comes after those undos (from rollback runs, so newer): they are
   * undone first, which puts back the very text the applied step left.
   */
  readonly steps: readonly HistoryStep[];
  /** Applied steps to undo only in part, in the same order. */
  readonly parts: readonly PartialUndo[];
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
export function selectForRollback(history: readonly HistoryRun[], scope: RollbackScope, options: SelectOptions = {}): Selection {
  const applies = history.filter((r) => r.kind === 'apply');
  const journal = new Journal(history);
  const picked = pick(history, applies, scope, journal, options);
  // an applied step undone whole takes with it the partial undos still in effect on it
  const whole = picked.steps.flatMap((s) => [s, ...journal.partsOf(s)]);
  const steps = [...new Set(whole)].sort(runningOrder);
  const parts = [...(picked.parts ?? [])].sort((a, b) => runningOrder(a.step, b.step));
  return { steps, parts, riders: ridersOf(applies, steps), notes: picked.notes };
}

/** Newest run first, last step first. */
export function runningOrder(a: HistoryStep, b: HistoryStep): number {
  return b.runId - a.runId || b.seq - a.seq;
}

/** The partial undos of the journal, by the applied step they undid part of. */
class Journal {
  private readonly parts = new Map<string, HistoryStep[]>();
  constructor(history: readonly HistoryRun[]) {
    const applied = new Map(history.filter((r) => r.kind === 'apply').flatMap((r) => r.steps.map((s) => [keyOf(s), s] as const)));
    for (const run of history) {
      for (const s of run.steps) {
        if (!s.partOf) continue;
        // the journal is data: a part must be an undo step of an earlier applied step of its own table, on objects of that step
        const of = applied.get(keyOf(s.partOf));
        if (run.kind !== 'rollback' || !of || of.runId >= s.runId || of.table !== s.table || !s.objects.every((o) => of.objects.includes(o))) {
          throw journalError(s.runId, s.seq, `part_of names run ${s.partOf.runId} step ${s.partOf.seq}, which is not an earlier applied step of ${s.table} with its objects`);
        }
        if (!isPending(s)) continue;
        const key = keyOf(s.partOf);
        this.parts.set(key, [...(this.parts.get(key) ?? []), s]);
      }
    }
  }

  /** The partial undos of this applied step still in effect (not themselves undone since). */
  partsOf(step: HistoryStep): readonly HistoryStep[] {
    return this.parts.get(keyOf(step)) ?? [];
  }

  /** The partial undo in effect that already took `name` of this step back, if any. */
  partHolding(step: HistoryStep, name: string): HistoryStep | undefined {
    return this.partsOf(step).find((p) => p.objects.includes(name));
  }

  /** The step's objects still as it left them: all but those a partial undo took back. */
  inEffect(step: HistoryStep): string[] {
    return step.objects.filter((o) => this.partHolding(step, o) === undefined);
  }
}

function keyOf(ref: { readonly runId: number; readonly seq: number }): string {
  return `${ref.runId}:${ref.seq}`;
}

/**
 * The objects of a step that are one object for an undo: a replaced or
 * renamed object under its new and its old name (from the step's recorded
 * effects). A step without effects (an old journal): each name on its own.
 */
export function objectGroups(step: HistoryStep): string[][] {
  if (!step.effects || step.effects.length === 0) return step.objects.map((o) => [o]);
  const groups = step.effects.map((e) => [e.name, ...(e.from !== undefined && e.from !== e.name ? [e.from] : [])]);
  const covered = new Set(groups.flat());
  return [...groups, ...step.objects.filter((o) => !covered.has(o)).map((o) => [o])];
}

interface Picked {
  readonly steps: readonly HistoryStep[];
  readonly parts?: readonly PartialUndo[];
  readonly notes: readonly string[];
}

function pick(history: readonly HistoryRun[], applies: readonly HistoryRun[], scope: RollbackScope, journal: Journal, options: SelectOptions): Picked {
  switch (scope.kind) {
    case 'last':
      return pickLast(applies);
    case 'to':
      return pickAfter(history, applies, scope.runId);
    case 'objects':
      return pickObjects(applies, scope.names, journal, options);
    case 'runs':
      return pickRuns(history, applies, scope.runs);
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
 * The recorded runs' steps still in effect. The journal must still hold each
 * run as recorded (same id, an apply, same fingerprint: not a database
 * restored or recreated since), and no apply newer than the oldest of them that
 * is not one of them may be in effect: undoing
 * the rollout's run under it would change what that apply built on. A newer
 * apply already rolled back, or that applied nothing, is no obstacle.
 */
function pickRuns(history: readonly HistoryRun[], applies: readonly HistoryRun[], recorded: readonly RecordedRun[]) {
  const ids = recorded.map((r) => r.id);
  if (ids.length === 0) return { steps: [], notes: ['nothing to undo: the rollout recorded no apply run here'] };
  for (const r of recorded) {
    const run = history.find((h) => h.id === r.id);
    if (!run || run.kind !== 'apply' || run.fingerprint !== r.fingerprint) {
      const what = !run ? 'is not in this database\'s journal' : run.kind !== 'apply' ? `is a ${run.kind} run here` : 'has another fingerprint here';
      throw new SchemaDiffError('refused', `the rollout's apply run ${r.id} ${what} (restored or recreated since?); nothing was changed`);
    }
  }
  // any apply after the oldest recorded run that the rollout did not make: a resume keeps earlier runs, so
  // another apply may sit between two recorded ones (and a state file is only as honest as whoever wrote it)
  const newer = applies.filter((r) => r.id > Math.min(...ids) && !ids.includes(r.id) && r.steps.some(isPending));
  if (newer.length > 0) {
    const n = newer[newer.length - 1];
    throw new SchemaDiffError(
      'refused',
      `apply run ${n.id} ran here after the rollout's run ${ids.join(', ')} and is in effect; nothing was changed (roll this target back with --database-url, see history)`,
    );
  }
  const steps = applies.filter((r) => ids.includes(r.id)).flatMap((r) => r.steps.filter(isPending));
  return { steps, notes: steps.length ? [] : [`nothing to undo: apply run ${ids.join(', ')} is already rolled back`] };
}

/**
 * For each name, the steps of the latest apply that changed it and are still
 * in effect. A replaced foreign key lists both its new and its old name in
 * `objects`, so either name finds it. Of a step that changed several objects
 * at once (a SQLite table step), only the objects asked for are undone when
 * the dialect can (`partial`); otherwise the step is undone whole and the note
 * says which other objects go with it.
 */
function pickObjects(applies: readonly HistoryRun[], names: readonly string[], journal: Journal, options: SelectOptions) {
  const chosen = new Map<string, { step: HistoryStep; asked: Set<string> }>();
  const notes: string[] = [];
  const everyStep = applies.flatMap((r) => r.steps);
  for (const name of names) {
    const mentions = everyStep.filter((s) => s.objects.includes(name));
    const pending = mentions.filter((s) => isPending(s) && journal.partHolding(s, name) === undefined);
    if (pending.length === 0) {
      if (mentions.length === 0) throw unknownObject(name, everyStep);
      notes.push(`nothing to undo for ${name}: ${describeUndone(mentions, name, journal)}`);
      continue;
    }
    const latest = Math.max(...pending.map((s) => s.runId));
    for (const s of pending.filter((p) => p.runId === latest)) {
      const entry = chosen.get(keyOf(s)) ?? { step: s, asked: new Set<string>() };
      for (const o of objectGroups(s).find((g) => g.includes(name)) ?? [name]) entry.asked.add(o);
      chosen.set(keyOf(s), entry);
    }
  }
  const steps: HistoryStep[] = [];
  const parts: PartialUndo[] = [];
  for (const { step, asked } of chosen.values()) {
    const left = journal.inEffect(step).filter((o) => !asked.has(o));
    if (left.length === 0 || !options.partial || options.whole?.has(keyOf(step))) {
      steps.push(step);
      notes.push(...undoneTogether(step, asked, journal));
    } else {
      parts.push({ step, objects: step.objects.filter((o) => asked.has(o)) });
    }
  }
  return { steps, parts, notes };
}

/**
 * A step that changed several objects at once (a SQLite table rebuild) is
 * undone whole: say which other objects go with it. A replacement's old name
 * is the same object, not another one.
 */
function undoneTogether(step: HistoryStep, names: ReadonlySet<string>, journal: Journal): string[] {
  if (step.objects.includes(step.name)) return [];
  const others = journal.inEffect(step).filter((o) => !names.has(o));
  if (others.length === 0) return [];
  const asked = step.objects.filter((o) => names.has(o)).join(', ');
  return [`${asked} was applied in one step with ${others.length} other object(s) on ${step.table}, undone with it: ${others.join(', ')}`];
}

function unknownObject(name: string, steps: readonly HistoryStep[]): SchemaDiffError {
  const known = [...new Set(steps.flatMap((s) => s.objects))];
  return new SchemaDiffError('usage', `--constraint ${name}: no apply in the history changed an object of that name${didYouMean(name, known)}`);
}

function describeUndone(mentions: readonly HistoryStep[], name: string, journal: Journal): string {
  const by = [...new Set(mentions.map((s) => s.undoneBy ?? journal.partHolding(s, name)?.runId ?? null).filter((id): id is number => id !== null))];
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
