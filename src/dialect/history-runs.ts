import { SchemaDiffError } from '../errors.js';
import type { StepAction, StepRef } from '../plan/types.js';
import type { HistoryRun, HistoryStep } from './dialect.js';

/** A journal run row, once each dialect has turned its columns into plain values. */
export type RunFields = Omit<HistoryRun, 'steps'>;

/** Groups journal steps under their runs: the one shape every dialect's history() returns. */
export function assembleHistory(runs: readonly RunFields[], steps: readonly HistoryStep[]): HistoryRun[] {
  return runs.map((r) => ({ ...r, steps: steps.filter((s) => s.runId === r.id) }));
}

/**
 * A journal step row as the driver returns it. Nothing in it is trusted: anyone
 * who can write the journal table can put anything in any column, so each value
 * is checked before it becomes a HistoryStep.
 */
export type StepRow = Readonly<Record<string, unknown>>;

/** How a dialect stores a list column (SQLite: JSON text; PostgreSQL: text[]): turns it back into a value to check. */
export type ListDecoder = (stored: unknown) => unknown;

// Every action a journal step may name; a Record so that a new StepAction is a compile error here until listed.
const ACTIONS: Record<StepAction, true> = {
  add_check: true,
  replace_check: true,
  add_foreign_key: true,
  replace_foreign_key: true,
  rename_foreign_key: true,
  validate_constraint: true,
  create_index: true,
  replace_index: true,
  rename_index: true,
  add_unique_constraint: true,
  replace_unique_constraint: true,
  drop_index: true,
  drop_check: true,
  drop_foreign_key: true,
  drop_unique_constraint: true,
  rebuild_table: true,
  edit_table: true,
  comment_constraint: true,
  comment_index: true,
  forget: true,
};

const RUN_KINDS: readonly HistoryRun['kind'][] = ['apply', 'rollback', 'forget'];
const EFFECTS: readonly string[] = ['created', 'renamed', 'changed', 'dropped', 'forgotten', 'commented'];
const OBJECT_KINDS: readonly string[] = ['check', 'foreign_key', 'index'];
const RUN_STATUSES: readonly HistoryRun['status'][] = ['running', 'done', 'failed', 'interrupted'];

/** A problem with one journal row, for the user: `journal run 3 step 2: sql is not a list of statements`. */
export function journalError(runId: unknown, seq: unknown, problem: string): SchemaDiffError {
  const where = seq === undefined ? `journal run ${String(runId)}` : `journal run ${String(runId)} step ${String(seq)}`;
  return new SchemaDiffError('catalog', `${where}: ${problem}; the journal was changed outside schema-diff, nothing was changed`);
}

export function historyStepOf(row: StepRow, decodeList: ListDecoder, bool: (v: unknown) => unknown = (v) => v): HistoryStep {
  const fail = (problem: string) => journalError(row.run_id, row.seq, problem);
  const text = (column: string): string => {
    const v = row[column];
    if (typeof v !== 'string') throw fail(`${column} is ${describe(v)}, expected text`);
    return v;
  };
  const list = (column: string): string[] => {
    let v: unknown;
    try {
      v = decodeList(row[column]);
    } catch {
      throw fail(`${column} is not a list (${describe(row[column])})`);
    }
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw fail(`${column} is not a list of text (${describe(row[column])})`);
    return v as string[];
  };
  const flag = (column: string): boolean => {
    const v = bool(row[column]);
    if (typeof v !== 'boolean') throw fail(`${column} is ${describe(row[column])}, expected true or false`);
    return v;
  };
  const id = (column: string, nullable: boolean): number | null => {
    const v = row[column];
    if (v === null && nullable) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw fail(`${column} is ${describe(v)}, expected a run id`);
    return v;
  };
  const action = text('action');
  if (!Object.hasOwn(ACTIONS, action)) throw fail(`unknown action ${JSON.stringify(action)}`);
  const origin = row.origin;
  let parsedOrigin: unknown = null;
  if (origin !== null && origin !== undefined) {
    if (typeof origin !== 'string') throw fail(`origin is ${describe(origin)}, expected JSON text`);
    try {
      parsedOrigin = JSON.parse(origin);
    } catch {
      throw fail(`origin is not JSON (${describe(origin)})`);
    }
  }
  const after = row.after_definition;
  if (after !== null && after !== undefined && typeof after !== 'string') throw fail(`after_definition is ${describe(after)}, expected text`);
  return {
    runId: id('run_id', false) as number,
    seq: id('seq', false) as number,
    action: action as StepAction,
    table: text('table_name'),
    name: text('name'),
    objects: list('objects'),
    sql: list('sql'),
    inverse: list('inverse'),
    transactional: flag('transactional'),
    lockTimeout: flag('lock_timeout'),
    appliedAt: text('applied_at'),
    after: after ?? null,
    undoneBy: id('undone_by', true),
    origin: parsedOrigin,
    ...scansOf(row.scans, fail),
    ...effectsOf(row.effects, fail),
    ...partOfStep(row.part_of, fail),
  };
}

/**
 * Step.partOf as the journal keeps it (SQLite: JSON text `{"runId":1,"seq":7}`;
 * absent where no dialect writes one): two run positions, nothing else.
 */
function partOfStep(stored: unknown, fail: (problem: string) => SchemaDiffError): { partOf?: StepRef } {
  if (stored === null || stored === undefined) return {};
  const v = jsonText(stored) as { runId?: unknown; seq?: unknown } | null | undefined;
  const position = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
  if (v === null || typeof v !== 'object' || !position(v.runId) || !position(v.seq)) {
    throw fail(`part_of is ${describe(stored)}, expected the run and position of an applied step`);
  }
  return { partOf: { runId: v.runId as number, seq: v.seq as number } };
}

/** A journal column that holds JSON text, parsed; undefined for anything else (the caller names the problem). */
function jsonText(stored: unknown): unknown {
  try {
    return typeof stored === 'string' ? JSON.parse(stored) : undefined;
  } catch {
    return undefined;
  }
}

/** Step.partOf as the journal stores it: JSON text, or null. */
export function partOfText(step: { readonly partOf?: StepRef }): string | null {
  return step.partOf === undefined ? null : JSON.stringify({ runId: step.partOf.runId, seq: step.partOf.seq });
}

/**
 * Step.effects as the journal keeps it (JSON text; absent on steps from
 * before): each one's kind, name and effect checked. The definitions inside
 * are only ever compared with the catalog (diff/ownership.ts), never run.
 */
function effectsOf(stored: unknown, fail: (problem: string) => SchemaDiffError): { effects?: HistoryStep['effects'] } {
  if (stored === null || stored === undefined) return {};
  const value = jsonText(stored);
  const ok = (e: Record<string, unknown>) =>
    OBJECT_KINDS.includes(e.kind as string) &&
    typeof e.name === 'string' &&
    EFFECTS.includes(e.effect as string) &&
    (e.from === undefined || typeof e.from === 'string') &&
    (e.comment === undefined || e.comment === null || typeof e.comment === 'string');
  if (!Array.isArray(value) || !value.every((e) => e !== null && typeof e === 'object' && ok(e as Record<string, unknown>))) {
    throw fail(`effects is ${describe(stored)}, expected a list of object effects`);
  }
  return { effects: value as NonNullable<HistoryStep['effects']> };
}

/** Step.effects as the journal stores it: JSON text, or null for a step without any. */
export function effectsText(step: { readonly effects?: unknown }): string | null {
  return step.effects === undefined ? null : JSON.stringify(step.effects);
}

/**
 * Step.scans as the journal keeps it (PostgreSQL jsonb, already parsed; absent
 * on SQLite, which has no validation scans): positions of statements, checked
 * like every other value of the row.
 */
function scansOf(stored: unknown, fail: (problem: string) => SchemaDiffError): { scans?: HistoryStep['scans'] } {
  if (stored === null || stored === undefined) return {};
  const positions = (v: unknown) => Array.isArray(v) && v.every((n) => Number.isSafeInteger(n) && n >= 0);
  const value = stored as { sql?: unknown; inverse?: unknown };
  if (typeof stored !== 'object' || !positions(value.sql) || !positions(value.inverse)) {
    throw fail(`scans is ${describe(stored)}, expected the positions of validation statements`);
  }
  return { scans: { sql: value.sql as number[], inverse: value.inverse as number[] } };
}

/** A journal run row checked like a step row: an unknown kind or status is a corrupt journal, not a run to act on. */
export function checkRun(run: RunFields): RunFields {
  const fail = (problem: string) => journalError(run.id, undefined, problem);
  if (!RUN_KINDS.includes(run.kind)) throw fail(`unknown kind ${describe(run.kind)}`);
  if (!RUN_STATUSES.includes(run.status)) throw fail(`unknown status ${describe(run.status)}`);
  if (typeof run.manifest !== 'string') throw fail(`manifest is ${describe(run.manifest)}, expected text`);
  if (typeof run.fingerprint !== 'string') throw fail(`fingerprint is ${describe(run.fingerprint)}, expected text`);
  return run;
}

/** A stored value in a few words: never the whole of it, which may be long or hostile. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'a list with a non-text item';
  return `${typeof v} ${JSON.stringify(String(v)).slice(0, 42)}`;
}

/** Step.origin as the journal stores it: JSON text, or null for a step whose inverse is not rendered again (rollback runs). */
export function originText(step: { readonly origin?: unknown }): string | null {
  return step.origin === undefined ? null : JSON.stringify(step.origin);
}
