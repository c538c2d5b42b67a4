import type Database from 'better-sqlite3';
import type { Step } from '../../plan/types.js';
import { assembleHistory, checkRun, effectsText, historyStepOf, originText, partOfText, type StepRow } from '../history-runs.js';
import type { HistoryRun, HistoryStep, RunRecord, UnfinishedRun } from '../dialect.js';

/**
 * The journal of applies and rollbacks, in two tables of the database file
 * itself (SQLite has no schemas to put them apart), so that a rollback works
 * from any machine that has the file. Arrays are stored as JSON text. No
 * AUTOINCREMENT: it would add a sqlite_sequence table to a file that has none.
 */
const RUNS_TABLE = (name: string) => `CREATE TABLE ${name} (
     id INTEGER PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('apply', 'rollback', 'forget')),
     started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
     finished_at TEXT,
     status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
     manifest TEXT NOT NULL,
     fingerprint TEXT NOT NULL
   )`;
const DDL = [
  RUNS_TABLE('IF NOT EXISTS schema_diff_runs'),
  `CREATE TABLE IF NOT EXISTS schema_diff_steps (
     run_id INTEGER NOT NULL REFERENCES schema_diff_runs (id),
     seq INTEGER NOT NULL,
     action TEXT NOT NULL,
     table_name TEXT NOT NULL,
     name TEXT NOT NULL,
     objects TEXT NOT NULL,
     sql TEXT NOT NULL,
     inverse TEXT NOT NULL,
     transactional INTEGER NOT NULL,
     lock_timeout INTEGER NOT NULL,
     applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
     after_definition TEXT,
     origin TEXT,
     effects TEXT,
     part_of TEXT,
     undone_by INTEGER REFERENCES schema_diff_runs (id),
     PRIMARY KEY (run_id, seq)
   )`,
];

function historyExists(db: Database.Database): boolean {
  return db.prepare(`SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = 'schema_diff_steps'`).get() !== undefined;
}

function ensureHistory(db: Database.Database): void {
  if (!historyExists(db)) {
    for (const ddl of DDL) db.prepare(ddl).run();
    return;
  }
  // A journal from before origin (effects, part_of) existed gains the column; its old steps keep null.
  if (!hasColumn(db, 'origin')) db.prepare('ALTER TABLE schema_diff_steps ADD COLUMN origin TEXT').run();
  if (!hasColumn(db, 'effects')) db.prepare('ALTER TABLE schema_diff_steps ADD COLUMN effects TEXT').run();
  if (!hasColumn(db, 'part_of')) db.prepare('ALTER TABLE schema_diff_steps ADD COLUMN part_of TEXT').run();
}

function hasColumn(db: Database.Database, column: string): boolean {
  return db.prepare(`SELECT 1 FROM pragma_table_info('schema_diff_steps') WHERE name = ?`).get(column) !== undefined;
}

/** A run announced by startRun: written in the same transaction as its first step, so the journal and the change commit together. */
export interface PendingRun {
  readonly id: number;
  readonly kind: HistoryRun['kind'];
  readonly manifest: string;
  readonly fingerprint: string;
  readonly startedAt: string;
}

/**
 * Reserves the next run id without writing: nothing is written to the file
 * before apply's BEGIN IMMEDIATE (under which two appliers cannot both use it).
 */
export function reserveRun(db: Database.Database, kind: HistoryRun['kind'], manifest: string, fingerprint: string): PendingRun {
  const last = historyExists(db) ? ((db.prepare('SELECT max(id) AS id FROM schema_diff_runs').get() as { id: number | null }).id ?? 0) : 0;
  return { id: last + 1, kind, manifest, fingerprint, startedAt: new Date().toISOString() };
}

/** Writes a reserved run (inside the apply's transaction, or alone when the run ends without one). */
export function writeRun(db: Database.Database, run: PendingRun, status: HistoryRun['status'] = 'running'): void {
  ensureHistory(db);
  db.prepare(
    `INSERT INTO schema_diff_runs (id, kind, started_at, status, finished_at, manifest, fingerprint)
     VALUES (?, ?, ?, ?, CASE WHEN ? = 'running' THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END, ?, ?)`,
  ).run(run.id, run.kind, run.startedAt, status, status, run.manifest, run.fingerprint);
}

export function runExists(db: Database.Database, runId: number): boolean {
  return historyExists(db) && db.prepare('SELECT 1 FROM schema_diff_runs WHERE id = ?').get(runId) !== undefined;
}

export function finishRun(db: Database.Database, runId: number, status: 'done' | 'failed'): void {
  db.prepare(`UPDATE schema_diff_runs SET status = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`).run(status, runId);
}

/** Writes one executed step, inside the apply's transaction: it is journaled if and only if it happened. */
export function recordStep(db: Database.Database, record: RunRecord, step: Step): void {
  db.prepare(
    `INSERT INTO schema_diff_steps (run_id, seq, action, table_name, name, objects, sql, inverse, transactional, lock_timeout, after_definition, origin, effects, part_of)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    record.runId,
    step.id,
    step.action,
    step.table,
    step.name,
    JSON.stringify(step.objects),
    JSON.stringify(step.sql),
    JSON.stringify(step.inverse),
    step.transactional ? 1 : 0,
    step.lockTimeout ? 1 : 0,
    step.after ?? null,
    originText(step),
    effectsText(step),
    partOfText(step),
  );
  const undo = db.prepare('UPDATE schema_diff_steps SET undone_by = ? WHERE run_id = ? AND seq = ?');
  for (const undone of record.undoes?.get(step.id) ?? []) undo.run(record.runId, undone.runId, undone.seq);
}

/**
 * Runs left 'running'. The run row commits in the same transaction as all its
 * steps, so a killed apply either left nothing or left every step applied
 * (killed after COMMIT, before its status was set): nothing is ever only planned.
 */
export function unfinishedRuns(db: Database.Database): UnfinishedRun[] {
  if (!historyExists(db)) return [];
  const runs = db.prepare(`SELECT id, kind FROM schema_diff_runs WHERE status = 'running' ORDER BY id`).all() as { id: number; kind: HistoryRun['kind'] }[];
  return runs.map((r) => ({ ...r, planned: [] }));
}

/**
 * Marks a run 'interrupted', first giving an older journal's runs table the
 * status in its CHECK. SQLite cannot alter a CHECK: the small runs table is
 * rebuilt, with foreign keys off (steps reference it), in one transaction.
 */
export function markInterrupted(db: Database.Database, runId: number): void {
  withCurrentRunsTable(db, () => {
    db.prepare(
      `UPDATE schema_diff_runs SET status = 'interrupted', finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ? AND status = 'running'`,
    ).run(runId);
  });
}

/**
 * Journals a run that runs no SQL (forget): the run 'done' and its steps, in
 * one transaction, an older journal's tables first brought up to date.
 */
export function recordRun(db: Database.Database, run: PendingRun, steps: readonly Step[]): void {
  withCurrentRunsTable(db, () => {
    ensureHistory(db);
    writeRun(db, run, 'done');
    for (const step of steps) recordStep(db, { runId: run.id }, step);
  });
}

/** Runs `body` in a write transaction, the runs table first given the newest statuses and kinds in its CHECK. */
function withCurrentRunsTable(db: Database.Database, body: () => void): void {
  const foreignKeysWere = Number(db.pragma('foreign_keys', { simple: true })) === 1;
  db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      if (historyExists(db) && !runsTableCurrent(db)) rebuildRunsTable(db);
      body();
    }).immediate();
  } finally {
    if (foreignKeysWere) db.pragma('foreign_keys = ON');
  }
}

function runsTableCurrent(db: Database.Database): boolean {
  const row = db.prepare(`SELECT sql FROM main.sqlite_schema WHERE type = 'table' AND name = 'schema_diff_runs'`).get() as { sql: string } | undefined;
  return (row?.sql.includes("'interrupted'") && row.sql.includes("'forget'")) ?? false;
}

function rebuildRunsTable(db: Database.Database): void {
  db.prepare(RUNS_TABLE('schema_diff_runs_sd_new')).run();
  db.prepare(
    `INSERT INTO schema_diff_runs_sd_new (id, kind, started_at, finished_at, status, manifest, fingerprint)
     SELECT id, kind, started_at, finished_at, status, manifest, fingerprint FROM schema_diff_runs`,
  ).run();
  db.prepare('DROP TABLE schema_diff_runs').run();
  db.prepare('ALTER TABLE schema_diff_runs_sd_new RENAME TO schema_diff_runs').run();
}

interface RunRow {
  id: number;
  kind: HistoryRun['kind'];
  started_at: string;
  finished_at: string | null;
  status: HistoryRun['status'];
  manifest: string;
  fingerprint: string;
}

export function readHistory(db: Database.Database): HistoryRun[] {
  if (!historyExists(db)) return [];
  const runs = db.prepare('SELECT * FROM schema_diff_runs ORDER BY id').all() as RunRow[];
  const steps = db.prepare('SELECT * FROM schema_diff_steps ORDER BY run_id, seq').all() as StepRow[];
  const fields = runs.map((r) => ({
    id: r.id,
    kind: r.kind,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    status: r.status,
    manifest: r.manifest,
    fingerprint: r.fingerprint,
  }));
  return assembleHistory(fields.map(checkRun), steps.map(toHistoryStep));
}

/** Lists are stored as JSON text, flags as 0 and 1. */
function toHistoryStep(s: StepRow): HistoryStep {
  return historyStepOf(s, (list) => JSON.parse(String(list)), (v) => (v === 1 ? true : v === 0 ? false : v));
}
