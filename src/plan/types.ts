import type { DialectName } from '../schema/types.js';
import type { ObjectEffect, PlanWarning, Unmanaged } from '../diff/changes.js';

export type StepAction =
  | 'add_check'
  | 'replace_check'
  | 'add_foreign_key'
  | 'replace_foreign_key'
  | 'rename_foreign_key'
  | 'validate_constraint'
  | 'create_index'
  | 'replace_index'
  | 'rename_index'
  | 'add_unique_constraint'
  | 'replace_unique_constraint'
  | 'drop_index'
  | 'drop_check'
  | 'drop_foreign_key'
  /** PostgreSQL: a UNIQUE constraint schema-diff created, with its index (a manifest index with `constraint: true`, removed). */
  | 'drop_unique_constraint'
  | 'rebuild_table'
  | 'edit_table'
  /** PostgreSQL COMMENT ON CONSTRAINT / INDEX of an object the plan keeps: the manifest's description, metadata only. */
  | 'comment_constraint'
  | 'comment_index'
  /** A journal entry of `schema-diff forget`: no SQL, ends schema-diff's ownership of an object. */
  | 'forget';

/** Risks a reviewer should see, in the spirit of pg-schema-diff's hazards (plan --fail-on names them). */
export const HAZARDS = [
  'ACQUIRES_ACCESS_EXCLUSIVE_LOCK',
  'ACQUIRES_SHARE_ROW_EXCLUSIVE_LOCK',
  'ACQUIRES_SHARE_UPDATE_EXCLUSIVE_LOCK',
  'TABLE_SCAN',
  'INDEX_BUILD',
  'INDEX_DROPPED',
  'TABLE_REBUILD',
  // a DEFERRABLE UNIQUE constraint's new index is checked row by row while it builds (no index can be deferred alone)
  'SUSPENDS_DEFERRAL',
  'CHANGES_DELETE_BEHAVIOUR',
  'DROPS_CONSTRAINT',
  'DROPS_INDEX',
  // plan-level (Plan.warnings): a managed foreign key no index serves; deletes of its parent scan the child
  'FK_WITHOUT_INDEX',
] as const;

export type Hazard = (typeof HAZARDS)[number];

/**
 * One unit of work: statements that run together, and the statements that
 * undo them. A step is either fully applied or not at all.
 */
export interface Step {
  readonly id: number;
  readonly action: StepAction;
  /** schema.table */
  readonly table: string;
  /** The object the step creates or changes (for a validate step, the constraints, comma-separated). */
  readonly name: string;
  /** Manifest object names this step concerns (rollback --constraint finds steps by these). */
  readonly objects: readonly string[];
  /** Why the step is needed, in words. */
  readonly reason: string;
  /** The manifest's `description` of the objects it concerns, when it gives one. */
  readonly description?: string;
  readonly sql: readonly string[];
  readonly inverse: readonly string[];
  /**
   * Positions (from 0) in `sql` and `inverse` of the statements that are
   * validation scans (PostgreSQL VALIDATE CONSTRAINT): they run after the
   * step's other statements, in a transaction of their own, so the scan never
   * holds the others' ACCESS EXCLUSIVE lock. Absent: none.
   */
  readonly scans?: StatementScans;
  /** false for statements that cannot run in a transaction block (CREATE INDEX CONCURRENTLY). */
  readonly transactional: boolean;
  /** true when the step blocks writers while it waits for its lock: run under lock_timeout with retries. */
  readonly lockTimeout: boolean;
  /** The lock it takes, on what, and for how long, in words. */
  readonly lock: string;
  readonly hazards: readonly Hazard[];
  /** Definitions before and after, for replaced objects (shown as a diff in text output). */
  readonly before?: string;
  readonly after?: string;
  /**
   * Plain data the dialect renders this step's inverse from (Dialect.inverseOf):
   * the journal keeps it, and rollback runs only an inverse it can render again
   * from it, never SQL text read back from a table others may write.
   */
  readonly origin?: unknown;
  /**
   * What the step does to each object it creates, renames, changes or drops:
   * the journal keeps these, and the next plan works out from them what
   * schema-diff owns (diff/ownership.ts). Absent: nothing.
   */
  readonly effects?: readonly ObjectEffect[];
  /**
   * A rollback step that undoes only some objects of the applied step named
   * here (Dialect.undoPart): that step stays in effect for its other objects,
   * and undoing it whole later first undoes this one. Absent: none.
   */
  readonly partOf?: StepRef;
  /**
   * The tables whose locks the step takes or whose keys it needs, and the
   * index names it makes, frees or renames (`index schema.name`): apply may
   * run steps that share none at once (plan/schedule.ts). Absent: the step
   * runs alone, after every step before it. Informational in a plan file:
   * apply runs the plan it renders itself.
   */
  readonly touches?: readonly string[];
}

/** A journaled step: its run and its position in it. */
export interface StepRef {
  readonly runId: number;
  readonly seq: number;
}

export interface StatementScans {
  readonly sql: readonly number[];
  readonly inverse: readonly number[];
}

/** The statements of a step (or of its inverse) split into the ones that lock and the validation scans. */
export function splitScans(step: Pick<Step, 'sql' | 'inverse' | 'scans'>, direction: 'sql' | 'inverse' = 'sql') {
  const statements = step[direction];
  const positions = new Set(step.scans?.[direction] ?? []);
  return {
    locking: statements.filter((_, i) => !positions.has(i)),
    scans: statements.filter((_, i) => positions.has(i)),
  };
}

export interface Plan {
  readonly version: 1;
  readonly dialect: DialectName;
  /** The database, without password. */
  readonly target: string;
  readonly manifest: string;
  /** sha256 of the catalog objects the plan depends on. */
  readonly fingerprint: string;
  readonly createdAt: string;
  readonly steps: readonly Step[];
  readonly unmanaged: readonly Unmanaged[];
  /**
   * What a reviewer should know that is no step (a foreign key without an
   * index). Added within version 1: absent from older plan files.
   */
  readonly warnings?: readonly PlanWarning[];
}

/** Every hazard of a plan: its steps' and its warnings' (what `--fail-on` looks at). */
export function planHazards(plan: Pick<Plan, 'steps' | 'warnings'>): Hazard[] {
  return [...new Set([...plan.steps.flatMap((s) => s.hazards), ...(plan.warnings ?? []).map((w) => w.hazard)])];
}
