import type { Dialect, ExecuteEvents, ExecuteOptions, HistoryRun, HistoryStep } from '../dialect/dialect.js';
import { SchemaDiffError } from '../errors.js';
import { journalError } from '../dialect/history-runs.js';
import { fingerprintCatalog } from '../plan/fingerprint.js';
import type { Step } from '../plan/types.js';
import { freeze, type Catalog, type TableRef } from '../schema/types.js';
import { closeInterruptedRuns } from './recover.js';
import { findDrift, findPartDrift, tableRefOf } from './rollback-drift.js';
import { checkLimits } from './limits.js';
import { runningOrder, selectForRollback, type PartialUndo, type RecordedRun, type RollbackScope, type Selection } from './rollback-select.js';

export type { RecordedRun, RollbackScope } from './rollback-select.js';

/** lock_timeout, retries and budget mean what they mean for apply: the undo steps run through the same executor. */
export interface RollbackOptions extends Omit<ExecuteOptions, 'events'> {
  readonly scope: RollbackScope;
  /** Work out and print the script, change nothing. */
  readonly dryRun: boolean;
  /** How long to wait for a running apply or rollback to finish. */
  readonly lockWaitMs: number;
  /** Asked once the steps are known; false refuses. */
  readonly confirm: (plan: RollbackPlan) => Promise<boolean>;
  readonly events?: ExecuteEvents & { notice?(message: string): void };
}

/** A history step this rollback undoes, as the journal names it. */
export interface UndoneRef {
  readonly runId: number;
  readonly seq: number;
}

export interface RollbackPlan {
  readonly target: string;
  /** The steps to run, in order: each one's sql is an applied step's inverse, and its inverse that step's sql. */
  readonly steps: readonly Step[];
  /** For each step to run, the history steps it marks undone (itself, plus VALIDATE steps it completes). */
  readonly undoes: ReadonlyMap<number, readonly UndoneRef[]>;
  /** The apply runs touched, newest first. */
  readonly applies: readonly number[];
  /** Every object the rollback returns to its state before its apply. */
  readonly objects: readonly string[];
  /** Said to the user: nothing to undo, already rolled back, dropped by hand. */
  readonly notes: readonly string[];
  /** Manifest of the newest apply undone (recorded with the rollback run). */
  readonly manifest: string;
  /** The catalog the rollback was planned against (empty when there is nothing to undo). */
  readonly fingerprint: string;
}

export interface RollbackResult {
  readonly plan: RollbackPlan;
  /** The rollback run in the history; null when nothing ran (nothing to undo, dry run). */
  readonly runId: number | null;
  /** The SQL script of a dry run. */
  readonly script?: string;
}

/**
 * rollback: under the same advisory lock as apply, read the journal, pick the
 * steps to undo, refuse if anything they touch was changed by hand since, then
 * run their inverses newest first with apply's discipline, journaled as a
 * 'rollback' run whose every step marks what it undid in its own transaction.
 */
export async function rollback(dialect: Dialect, options: RollbackOptions): Promise<RollbackResult> {
  checkLimits(options);
  // A dry run only reads, like plan: it needs no lock and must not wait for one.
  const release = options.dryRun ? async () => {} : await dialect.lock(options.lockWaitMs);
  try {
    // Only with the lock held (a dry run holds none and writes nothing): then a run left 'running' was killed.
    // Trust first: adopting reads the journal's planned steps, and what rollback adopts it may run.
    if (!options.dryRun) {
      await dialect.checkJournalTrust();
      await closeInterruptedRuns(dialect, options.events?.notice);
    }
    const plan = await planRollback(dialect, options.scope);
    // With nothing to run the notes are the result, for the caller to print; otherwise they are progress.
    if (plan.steps.length === 0) return { plan, runId: null };
    for (const n of plan.notes) options.events?.notice?.(n);
    if (options.dryRun) return { plan, runId: null, script: rollbackScript(dialect, plan, options.lockTimeoutMs) };
    await dialect.checkExecuteOptions?.(options);
    if (!(await options.confirm(plan))) throw new SchemaDiffError('refused', 'rollback not confirmed; nothing was changed');
    return { plan, runId: await runRollback(dialect, plan, options) };
  } finally {
    await release().catch(() => {});
  }
}

/** Reads the journal and the catalog, and works out what a rollback would run. Changes nothing. */
export async function planRollback(dialect: Dialect, scope: RollbackScope): Promise<RollbackPlan> {
  await dialect.checkJournalTrust();
  const history = await dialect.history();
  const partial = dialect.undoPart !== undefined;
  let selection = selectForRollback(history, scope, { partial });
  if (selection.steps.length === 0 && selection.parts.length === 0) {
    const nothing = { target: dialect.target, fingerprint: '', manifest: '', applies: [], objects: [], steps: [], undoes: new Map() };
    return freeze({ ...nothing, notes: selection.notes });
  }
  const catalog = await dialect.introspect(tablesOf([...selection.steps, ...selection.parts.map((p) => p.step)]));
  const drafts = draftParts(dialect, catalog, selection);
  const whole = new Set(selection.parts.filter((p) => drafts.get(p) === null).map((p) => `${p.step.runId}:${p.step.seq}`));
  if (whole.size > 0) selection = selectForRollback(history, scope, { partial, whole });
  const drift = findDrift(dialect, catalog, selection.steps);
  const problems = [...drift.problems, ...selection.parts.flatMap((p) => findPartDrift(catalog, p.step, p.objects))];
  if (problems.length > 0) throw driftError(problems);
  const items = [
    ...selection.steps.map((h) => ({ h, make: (id: number) => undoStep(h, inverseToRun(dialect, h, history), id) })),
    ...selection.parts.map((p) => ({ h: p.step, make: (id: number) => partStep(p, partDraft(dialect, catalog, p, drafts), id) })),
  ].sort((a, b) => runningOrder(a.h, b.h));
  const steps = items.map((item, i) => item.make(i + 1));
  const undoes = new Map<number, UndoneRef[]>(steps.map((s) => [s.id, s.partOf ? [] : [ref(items[s.id - 1].h)]]));
  for (const [rider, carrier] of selection.riders) undoes.get(steps[items.findIndex((i) => i.h === carrier)].id)?.push(ref(rider));
  const applyIds = new Set(history.filter((r) => r.kind === 'apply').map((r) => r.id));
  const applies = [...new Set(items.map((i) => i.h.runId).filter((id) => applyIds.has(id)))];
  const newest = history.find((r) => r.id === applies[0]);
  return freeze({
    target: dialect.target,
    fingerprint: fingerprintCatalog(catalog),
    manifest: newest?.manifest ?? '',
    applies,
    objects: [...new Set([...selection.steps.filter((s) => applyIds.has(s.runId)).flatMap((s) => s.objects), ...selection.parts.flatMap((p) => p.objects)])],
    steps,
    undoes,
    notes: [...selection.notes, ...drift.notes],
  });
}

/**
 * The undo of each partial selection, rendered by the dialect from the table
 * as it is now; null where it cannot undo those objects apart, or where
 * another undo of the same rollback changes that table's definition or runs
 * before it: each such undo expects the exact text (and indexes) the one before
 * it leaves, and a part is rendered from the table as it is now. An index step
 * of an older apply, which runs after it, is no obstacle.
 * A part whose objects were changed by hand is left for the drift check to report.
 */
function draftParts(dialect: Dialect, catalog: Catalog, selection: Selection): Map<PartialUndo, Omit<Step, 'id'> | null> {
  const drafts = new Map<PartialUndo, Omit<Step, 'id'> | null>();
  for (const part of selection.parts) {
    const others = [...selection.steps, ...selection.parts.filter((p) => p !== part).map((p) => p.step)].filter((s) => s.table === part.step.table);
    const shared = others.some((s) => s.action === 'edit_table' || s.action === 'rebuild_table' || runningOrder(s, part.step) < 0);
    if (shared) {
      drafts.set(part, null);
      continue;
    }
    // the applied step's origin is what the part is rendered from: checked like any inverse first
    verifiedInverse(dialect, part.step);
    if (findPartDrift(catalog, part.step, part.objects).length > 0) continue;
    drafts.set(part, dialect.undoPart?.(part.step, part.objects, catalog) ?? null);
  }
  return drafts;
}

function partDraft(dialect: Dialect, catalog: Catalog, part: PartialUndo, drafts: ReadonlyMap<PartialUndo, Omit<Step, 'id'> | null>): Omit<Step, 'id'> {
  const draft = drafts.has(part) ? drafts.get(part) : dialect.undoPart?.(part.step, part.objects, catalog);
  if (!draft) throw new Error(`no undo rendered for ${part.objects.join(', ')} of journal run ${part.step.runId} step ${part.step.seq}`);
  return draft;
}

/** The undo of some objects of an applied step: journaled with partOf, the applied step itself stays in effect. */
function partStep(part: PartialUndo, draft: Omit<Step, 'id'>, id: number): Step {
  const { effects: _effects, ...rest } = draft;
  const h = part.step;
  return {
    ...rest,
    id,
    objects: part.objects,
    reason: `undo ${part.objects.join(', ')} of step ${h.seq} of apply ${h.runId} (${h.action} ${h.name}), its other objects left as they are: ${draft.reason}`,
    partOf: ref(h),
  };
}

/** The dry-run script: the dialect's own script of the undo steps, with a header saying what is undone. */
export function rollbackScript(dialect: Dialect, plan: RollbackPlan, lockTimeoutMs?: number): string {
  const header = [
    'schema-diff rollback --dry-run (nothing was changed)',
    `database:    ${plan.target}`,
    `undoes:      apply run ${plan.applies.join(', ')}`,
    `objects:     ${plan.objects.join(', ')}`,
    `fingerprint: ${plan.fingerprint}`,
    `steps:       ${plan.steps.length}`,
    ...plan.notes.map((n) => `note: ${n}`),
  ];
  return dialect.script(plan.steps, 'forward', header, { lockTimeoutMs });
}

/**
 * Undoes one apply run this process made, under the lock it already holds:
 * apply's refusal after the index builds it ran beside its check of existing
 * rows. Journaled like any rollback; null when nothing of the run is in effect.
 */
export async function undoOwnRun(dialect: Dialect, run: RecordedRun, options: RunRollbackOptions): Promise<number | null> {
  const plan = await planRollback(dialect, { kind: 'runs', runs: [run] });
  return plan.steps.length === 0 ? null : runRollback(dialect, plan, options);
}

type RunRollbackOptions = Omit<RollbackOptions, 'scope' | 'dryRun' | 'lockWaitMs' | 'confirm'>;

async function runRollback(dialect: Dialect, plan: RollbackPlan, options: RunRollbackOptions): Promise<number> {
  const runId = await dialect.startRun('rollback', plan.manifest, plan.fingerprint);
  let done = 0;
  const events: ExecuteEvents = {
    ...options.events,
    stepFinished: (step, i, n, ms, attempts) => {
      done = i + 1;
      options.events?.stepFinished?.(step, i, n, ms, attempts);
    },
  };
  try {
    await dialect.execute(plan.steps, { runId, undoes: plan.undoes }, { ...options, events });
    await dialect.finishRun(runId, 'done');
    return runId;
  } catch (e) {
    await dialect.finishRun(runId, 'failed').catch(() => {});
    if (!(e instanceof SchemaDiffError) || done === 0) throw e;
    // Each undo is journaled with its own transaction, so what ran is recorded and a new rollback resumes after it.
    throw new SchemaDiffError(
      e.code,
      `${e.message}; ${done} of ${plan.steps.length} undo step(s) before it completed and are recorded in run ${runId}: run rollback again to finish`,
      e.details,
      { cause: e },
    );
  }
}

/**
 * The inverse to run: the one the dialect renders again from the step's
 * recorded origin, and only when the journal's stored inverse says the same.
 * A difference means the journal was edited: refuse, run nothing.
 */
function verifiedInverse(dialect: Dialect, h: HistoryStep): readonly string[] {
  const rendered = dialect.inverseOf(h);
  if (rendered.length !== h.inverse.length || rendered.some((s, i) => s !== h.inverse[i])) {
    throw journalError(h.runId, h.seq, `its stored inverse differs from the one rendered from its recorded change (${h.action} ${h.name})`);
  }
  return rendered;
}

/**
 * The verified inverse, as it must run now: a step's way back may expect the
 * state it left, which undos journaled since of earlier steps changed (an
 * index of its table rolled back on its own); the dialect accounts for them.
 */
function inverseToRun(dialect: Dialect, h: HistoryStep, history: readonly HistoryRun[]): readonly string[] {
  const verified = verifiedInverse(dialect, h);
  return dialect.inverseNow?.(h, history) ?? verified;
}

/** An applied step turned around: its inverse runs with the same transaction and lock discipline, and is journaled like any step. */
function undoStep(h: HistoryStep, inverse: readonly string[], id: number): Step {
  return {
    id,
    action: h.action,
    table: h.table,
    name: h.name,
    objects: h.objects,
    reason: h.partOf
      ? `put back ${h.objects.join(', ')} (undone apart by step ${h.seq} of rollback ${h.runId}), before the rest of step ${h.partOf.seq} of apply ${h.partOf.runId} is undone`
      : `undo step ${h.seq} of apply ${h.runId} (${h.action} ${h.name})`,
    sql: inverse,
    inverse: h.sql,
    ...(h.scans ? { scans: { sql: h.scans.inverse, inverse: h.scans.sql } } : {}),
    transactional: h.transactional,
    lockTimeout: h.lockTimeout,
    lock: lockInWords(h),
    hazards: [],
  };
}

function lockInWords(h: HistoryStep): string {
  if (!h.transactional) return 'outside any transaction, as the applied step: reads and writes continue';
  if (h.lockTimeout) return 'blocks writers for milliseconds, in its own short transaction under lock_timeout, retried';
  return 'a scan under a lock writers do not wait for';
}

function ref(h: HistoryStep): UndoneRef {
  return { runId: h.runId, seq: h.seq };
}

function tablesOf(steps: readonly HistoryStep[]): TableRef[] {
  return [...new Set(steps.map((s) => s.table))].map(tableRefOf);
}

function driftError(problems: readonly string[]): SchemaDiffError {
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more, below)` : '';
  return new SchemaDiffError(
    'refused',
    `${problems[0]}${more}; nothing was changed: put it back as the apply left it, or undo the other objects with --constraint (docs/rollback.md)`,
    problems,
  );
}
