import type { Change, ObjectEffect } from '../diff/changes.js';
import type { Step, StepRef } from '../plan/types.js';
import type { Catalog, DesiredTable, DialectName, IndexKey, Severity, TableRef } from '../schema/types.js';

/** What one manifest object is checked for, before a change or by `validate`. */
export type ViolationTarget =
  | { readonly kind: 'check'; readonly name: string; readonly table: TableRef; readonly expr: string; readonly severity: Severity }
  | {
      readonly kind: 'foreign_key';
      readonly name: string;
      readonly table: TableRef;
      readonly columns: readonly string[];
      readonly refTable: TableRef;
      readonly refColumns: readonly string[];
      readonly severity: Severity;
    }
  | {
      readonly kind: 'unique';
      readonly name: string;
      readonly table: TableRef;
      readonly keys: readonly IndexKey[];
      readonly where: string | null;
      /** NULLS NOT DISTINCT (PostgreSQL 15): NULL keys clash too. Absent: NULLs never clash. */
      readonly nullsNotDistinct?: boolean;
      readonly severity: Severity;
    };

export interface RenderOptions {
  /** Constraints to leave NOT VALID: enforced for new rows, old rows not checked (apply --allow-not-valid). */
  readonly skipValidation?: ReadonlySet<string>;
  /** lock_timeout written into printed scripts. */
  readonly lockTimeoutMs?: number;
  /**
   * Render only to read the definitions steps would leave (adoption of an interrupted run, drift checks):
   * skip planning's refusals, which look at the catalog and would see the very object being described.
   */
  readonly definitionsOnly?: boolean;
}

export interface ViolationCount {
  readonly name: string;
  readonly table: TableRef;
  readonly kind: ViolationTarget['kind'];
  readonly severity: Severity;
  /** Rows that break it (for unique: rows in excess of one per key). */
  readonly violations: number;
  /** For unique: the number of duplicated keys. */
  readonly groups?: number;
  /** Rows of the table checked against it (validate's score counts row × constraint checks); absent when unknown. */
  readonly rows?: number;
  /** A few offending rows: primary key and the columns involved. */
  readonly sample: readonly Record<string, unknown>[];
  /** The database's message when the expression itself fails on some row. */
  readonly error?: string;
}

export interface ViolationOptions {
  readonly samples: number;
  readonly jobs: number;
  /** Running beside the application (apply's check before changing anything): take as little CPU as the database allows. */
  readonly background?: boolean;
  /**
   * With background, PostgreSQL: a table of at least twice this many bytes is
   * counted in block-range slices of about this size, each a short transaction
   * (default 32 MiB; postgres/violations.ts countInSlices says when).
   */
  readonly sliceBytes?: number;
  readonly onProgress?: (message: string) => void;
  /**
   * validate --since: check only the rows whose `column` (checked against the
   * catalog by the caller) is at or after `from`, a value bound as a query
   * parameter, never spliced into SQL. Absent: every row.
   */
  readonly since?: { readonly column: string; readonly from: string };
}

/** Progress and outcome events of an apply, for the CLI to print on stderr. */
export interface ExecuteEvents {
  stepStarted?(step: Step, index: number, total: number): void;
  stepFinished?(step: Step, index: number, total: number, ms: number, attempts: number): void;
  retrying?(step: Step, attempt: number, reason: string, waitMs: number): void;
  /**
   * A write-blocking lock was granted after `waitMs`: from the first attempt to
   * the one that got it, lock_timeout expiries and back-off pauses included
   * (PostgreSQL: each locked statement's short transaction; SQLite: BEGIN IMMEDIATE).
   */
  lockAcquired?(step: Step, waitMs: number): void;
  progress?(step: Step, message: string): void;
  /** Something the user should know that is not a step's progress (SQLite: where the backup copy was written). */
  notice?(message: string): void;
}

export interface ExecuteOptions {
  /** lock_timeout for write-blocking statements, in ms. */
  readonly lockTimeoutMs: number;
  /** How many attempts a write-blocking step may make before giving up. */
  readonly lockRetries: number;
  /** Total time budget for retries of one step, in ms. */
  readonly retryBudgetMs: number;
  /** SQLite: write a backup copy of the file before a table rebuild (default true; apply --no-backup sets false). */
  readonly backup?: boolean;
  /** SQLite: how many of schema-diff's backups of this file to keep, newest first (default 3; older ones are removed). */
  readonly keepBackups?: number;
  /**
   * How many steps may run at once where they touch no table or index name in
   * common (Step.touches), each on a connection of its own. Default 1. Only
   * PostgreSQL with a pool of schema-diff's own takes more (apply on a big
   * database: run/apply.ts); elsewhere steps run one at a time.
   */
  readonly concurrentSteps?: number;
  /**
   * apply's check of existing rows runs beside these steps on connections of
   * its own (run/apply.ts applyWhileChecking): PostgreSQL builds their indexes
   * without parallel workers, so that the check, the build and the
   * application share the server's cores rather than queue for them.
   */
  readonly besideCheck?: boolean;
  readonly events?: ExecuteEvents;
}

export interface HistoryStep {
  readonly runId: number;
  readonly seq: number;
  readonly action: Step['action'];
  readonly table: string;
  readonly name: string;
  readonly objects: readonly string[];
  readonly sql: readonly string[];
  readonly inverse: readonly string[];
  /** Which of sql / inverse are validation scans (Step.scans); absent when none. */
  readonly scans?: Step['scans'];
  readonly transactional: boolean;
  readonly lockTimeout: boolean;
  readonly appliedAt: string;
  /**
   * The definition the step left (Step.after), so that rollback can tell an
   * object changed by hand since; null when the step has none or the journal predates it.
   */
  readonly after?: string | null;
  /** The rollback run that undid this step, or null. */
  readonly undoneBy: number | null;
  /** Step.origin as journaled (parsed JSON), from which Dialect.inverseOf renders the inverse; null when none was kept. */
  readonly origin?: unknown;
  /** Step.effects as journaled: what the step did to whose objects (diff/ownership.ts). Absent for steps journaled before. */
  readonly effects?: readonly ObjectEffect[];
  /** Step.partOf as journaled: this undo step undid only some objects of that applied step. */
  readonly partOf?: StepRef;
}

export interface HistoryRun {
  readonly id: number;
  /** 'forget': schema-diff forget, steps that end ownership and ran no SQL. */
  readonly kind: 'apply' | 'rollback' | 'forget';
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /** 'interrupted': left 'running' by a process that is gone, marked so by the next apply or rollback. */
  readonly status: 'running' | 'done' | 'failed' | 'interrupted';
  readonly manifest: string;
  readonly fingerprint: string;
  readonly steps: readonly HistoryStep[];
}

/** A run that a killed process left 'running', with the steps it planned and never journaled as applied. */
export interface UnfinishedRun {
  readonly id: number;
  readonly kind: HistoryRun['kind'];
  readonly planned: readonly HistoryStep[];
}

/** A run being recorded: each executed step is written with (PostgreSQL: in the same transaction as) its SQL. */
export interface RunRecord {
  readonly runId: number;
  /** For rollback runs: the history steps each executed step undoes. */
  readonly undoes?: ReadonlyMap<number, readonly { runId: number; seq: number }[]>;
}

/** What the caller does next with a catalog, so that a dialect can read what that needs in the same round. */
export interface IntrospectOptions {
  /** normalize(…, catalog) follows (plan, apply, validate): PostgreSQL reads the journal's normalize cache beside the catalog. */
  readonly normalizeNext?: boolean;
}

/**
 * The one interface a database plugs in behind. Everything above dialect/
 * speaks only this; everything below it knows its driver.
 */
export interface Dialect {
  readonly name: DialectName;
  /** The database as the user may see it: never with a password. */
  readonly target: string;
  /** The schema a table without one lives in (public, main). */
  readonly defaultSchema: string;
  readonly hasSchemas: boolean;
  /**
   * Whether a constraint can be added without checking existing rows (PostgreSQL's NOT VALID).
   * Absent means true. SQLite: false, so apply --allow-not-valid cannot help there.
   */
  readonly supportsNotValid?: boolean;
  /** Whether a CHECK or foreign key may exist without a name (SQLite: true); absent means false. */
  readonly unnamedConstraints?: boolean;
  /**
   * Whether constraints and indexes carry a comment the manifest's `description`
   * is written to (PostgreSQL COMMENT ON); absent means false (SQLite has none),
   * and then a plan never changes one.
   */
  readonly comments?: boolean;

  /**
   * Refuses (SchemaDiffError 'manifest') a manifest whose SQL fragments are not
   * each one expression as this database's lexer reads them, or whose names
   * (index methods) this database does not have. Runs before any manifest
   * text reaches the database: every path from a manifest starts here.
   */
  checkManifest(desired: readonly DesiredTable[]): Promise<void>;
  /**
   * The user's tables, by schema and name: every table but the database's own
   * and schema-diff's journal (pull's default). `schemas` null: every schema.
   */
  listTables(schemas: readonly string[] | null): Promise<readonly TableRef[]>;
  /**
   * An expression text this database parses back into exactly `canonical`, a
   * form read from its catalog (pull writes such forms into a manifest).
   * Absent: every canonical form reads back as itself.
   */
  sourceOf?(canonical: string): string;
  /** Reads the named tables and the tables their foreign keys point to. Missing tables are simply absent. */
  introspect(tables: readonly TableRef[], options?: IntrospectOptions): Promise<Catalog>;
  /** The desired state with every expression and predicate in the form this database stores it. */
  normalize(desired: readonly DesiredTable[], catalog: Catalog): Promise<readonly DesiredTable[]>;
  /**
   * Apply, once the catalog holds the manifest: remembers each expression's
   * text and canonical form so that later plans need not normalize it again
   * (normalize uses a remembered form only where the manifest's text and the
   * catalog both still match it exactly). Absent where normalizing costs nothing (SQLite).
   */
  recordNormalized?(desired: readonly DesiredTable[], catalog: Catalog): Promise<void>;
  /** Ordered steps, each with its inverse, for a set of changes. */
  render(changes: readonly Change[], catalog: Catalog, options?: RenderOptions): readonly Step[];
  /** A script a reviewer can read and the database's own shell can run (psql, sqlite3). */
  script(steps: readonly Step[], direction: 'forward' | 'inverse', header: readonly string[], options?: RenderOptions): string;

  /** Counts rows that break each target, reading only. */
  countViolations(targets: readonly ViolationTarget[], options: ViolationOptions): Promise<readonly ViolationCount[]>;
  /**
   * Present only where countViolations reads on connections of its own, never
   * the one execute runs on (PostgreSQL with a read pool it opened itself), so
   * that apply may build indexes while it still checks existing rows: the bytes
   * of the tables countViolations would scan for these targets, to judge
   * whether the check is long enough for that to pay.
   */
  bytesToScan?(targets: readonly ViolationTarget[]): Promise<number>;

  /** Serialises appliers: resolves to a release function, or throws SchemaDiffError('refused') when another holds it. */
  lock(waitMs: number): Promise<() => Promise<void>>;
  /** Refuses, before a run starts, options this database cannot run safely with (a lock_timeout near deadlock_timeout). */
  checkExecuteOptions?(options: ExecuteOptions): Promise<void>;
  /** Runs steps in order with the dialect's safety discipline, recording each in the history. */
  execute(steps: readonly Step[], record: RunRecord, options: ExecuteOptions): Promise<void>;

  /**
   * Records a new run 'running'. `planned` are the steps it is about to run: a
   * dialect whose steps commit one by one journals them as planned, so that
   * what a killed run made can be found and adopted (unfinishedRuns).
   */
  startRun(kind: HistoryRun['kind'], manifest: string, fingerprint: string, planned?: readonly Step[]): Promise<number>;
  finishRun(runId: number, status: 'done' | 'failed'): Promise<void>;
  /**
   * Runs left 'running'. Only meaningful while holding lock(): then no other
   * schema-diff process is running, so each of them was killed.
   */
  unfinishedRuns(): Promise<readonly UnfinishedRun[]>;
  /** Marks a run 'interrupted' and journals the listed planned steps (by seq) as applied, in one transaction. */
  markInterrupted(runId: number, adopted: readonly number[]): Promise<void>;
  history(): Promise<readonly HistoryRun[]>;
  /**
   * Journals a run that runs no SQL (schema-diff forget): the run, 'done', and
   * its steps as applied, in one transaction. Call while holding lock().
   */
  recordRun(kind: 'forget', manifest: string, steps: readonly Step[]): Promise<number>;
  /**
   * The inverse of a journaled step, rendered again by this dialect from the
   * step's recorded origin; throws SchemaDiffError naming the run and step when
   * it cannot be. Rollback runs only this, and only when it equals the stored inverse.
   */
  inverseOf(step: HistoryStep): readonly string[];
  /**
   * The inverse of a journaled step as it must run now, once inverseOf has
   * verified it: where the way back expects the exact state the step left
   * (SQLite's table steps: every index of the table), the undos the journal
   * records since of steps before it are taken into account. Absent: inverseOf.
   */
  inverseNow?(step: HistoryStep, history: readonly HistoryRun[]): readonly string[];
  /**
   * A step that returns only `objects` of a journaled step that changed several
   * at once (SQLite: one step for all the constraints of a table) to their state
   * before it, the others left as they are; its inverse puts them back exactly
   * as the step left them. `step`'s origin has been checked (inverseOf) first.
   * null when these objects cannot be undone apart (the step is then undone
   * whole). Absent: every step of this dialect changes one object.
   */
  undoPart?(step: HistoryStep, objects: readonly string[], catalog: Catalog): Omit<Step, 'id'> | null;
  /**
   * Refuses (SchemaDiffError 'refused') a journal that someone other than the
   * current user (or a superuser) owns or may write: rollback would run what it says.
   */
  checkJournalTrust(): Promise<void>;

  /**
   * What the application itself must do for the manifest's rules to act as
   * declared, which no catalog can show (SQLite: each connection must turn on
   * PRAGMA foreign_keys). `verify` prints these on stderr. Absent: nothing.
   */
  applicationNotes?(): readonly string[];

  /** Runs an SQL script of several statements as it is (fixtures, the demo). */
  exec(script: string): Promise<void>;

  close(): Promise<void>;
}
