import { sql, type Kysely } from 'kysely';
import { inTransaction } from './transaction.js';
import { assembleHistory, checkRun, effectsText, historyStepOf, originText, type StepRow } from '../history-runs.js';
import type { HistoryRun, HistoryStep, RunRecord, UnfinishedRun } from '../dialect.js';
import type { Step } from '../../plan/types.js';
import { legacyIsValidation } from './render.js';

const STATUSES = "('running', 'done', 'failed', 'interrupted')";
const KINDS = "('apply', 'rollback', 'forget')";
// 'planned': written by startRun for every step of the run; 'applied' once the step is done (history shows only these).
const STATE_CHECK = "CHECK (state IN ('planned', 'applied'))";

/**
 * What apply saw each manifest expression become (normalize-cache.ts): plan
 * reads it to skip parsing expressions that have not changed since.
 */
const NORMALIZED_DDL = `CREATE TABLE IF NOT EXISTS schema_diff.normalized (
     table_schema text NOT NULL,
     table_name text NOT NULL,
     kind text NOT NULL CHECK (kind IN ('check', 'index')),
     name text NOT NULL,
     shape text NOT NULL,
     source text NOT NULL,
     canonical text NOT NULL,
     recorded_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (table_schema, table_name, kind, name)
   )`;

/**
 * The journal of applies and rollbacks lives in the target database itself
 * (schema schema_diff), so a rollback works from any machine.
 */
const DDL = [
  'CREATE SCHEMA IF NOT EXISTS schema_diff',
  `CREATE TABLE IF NOT EXISTS schema_diff.runs (
     id bigserial PRIMARY KEY,
     kind text NOT NULL CONSTRAINT runs_kind_check CHECK (kind IN ${KINDS}),
     started_at timestamptz NOT NULL DEFAULT now(),
     finished_at timestamptz,
     status text NOT NULL DEFAULT 'running' CONSTRAINT runs_status_check CHECK (status IN ${STATUSES}),
     manifest text NOT NULL,
     fingerprint text NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS schema_diff.steps (
     run_id bigint NOT NULL REFERENCES schema_diff.runs (id),
     seq integer NOT NULL,
     action text NOT NULL,
     table_name text NOT NULL,
     name text NOT NULL,
     objects text[] NOT NULL,
     sql text[] NOT NULL,
     inverse text[] NOT NULL,
     transactional boolean NOT NULL,
     lock_timeout boolean NOT NULL,
     applied_at timestamptz NOT NULL DEFAULT now(),
     after_definition text,
     origin text,
     scans jsonb,
     effects text,
     state text NOT NULL DEFAULT 'applied' ${STATE_CHECK},
     undone_by bigint REFERENCES schema_diff.runs (id),
     PRIMARY KEY (run_id, seq)
   )`,
  NORMALIZED_DDL,
];

export async function ensureHistory(db: Kysely<unknown>): Promise<void> {
  const shape = await journalShape(db);
  if (!shape.present) {
    for (const ddl of DDL) await sql.raw(ddl).execute(db);
    return;
  }
  // An older journal gains the newer columns (its old steps keep null, or 'applied') and the 'interrupted' status.
  if (!shape.hasAfter) await sql.raw('ALTER TABLE schema_diff.steps ADD COLUMN IF NOT EXISTS after_definition text').execute(db);
  if (!shape.hasOrigin) await sql.raw('ALTER TABLE schema_diff.steps ADD COLUMN IF NOT EXISTS origin text').execute(db);
  if (!shape.hasScans) await sql.raw('ALTER TABLE schema_diff.steps ADD COLUMN IF NOT EXISTS scans jsonb').execute(db);
  if (!shape.hasState) {
    await sql.raw(`ALTER TABLE schema_diff.steps ADD COLUMN IF NOT EXISTS state text NOT NULL DEFAULT 'applied' ${STATE_CHECK}`).execute(db);
  }
  if (!shape.hasEffects) await sql.raw('ALTER TABLE schema_diff.steps ADD COLUMN IF NOT EXISTS effects text').execute(db);
  if (shape.oldKindCheck !== null) {
    const old = `"${shape.oldKindCheck.replace(/"/g, '""')}"`;
    await sql.raw(`ALTER TABLE schema_diff.runs DROP CONSTRAINT ${old}, ADD CONSTRAINT runs_kind_check CHECK (kind IN ${KINDS})`).execute(db);
  }
  if (!shape.hasCache) await sql.raw(NORMALIZED_DDL).execute(db);
  if (shape.oldStatusCheck !== null) {
    const old = `"${shape.oldStatusCheck.replace(/"/g, '""')}"`;
    await sql
      .raw(`ALTER TABLE schema_diff.runs DROP CONSTRAINT ${old}, ADD CONSTRAINT runs_status_check CHECK (status IN ${STATUSES})`)
      .execute(db);
  }
}

interface JournalShape {
  present: boolean;
  hasAfter: boolean;
  hasOrigin: boolean;
  hasScans: boolean;
  hasState: boolean;
  hasCache: boolean;
  hasEffects: boolean;
  /** The name of a runs.kind CHECK from before 'forget' existed, or null. */
  oldKindCheck: string | null;
  /** The name of a runs.status CHECK from before 'interrupted' existed, or null. */
  oldStatusCheck: string | null;
}

async function journalShape(db: Kysely<unknown>): Promise<JournalShape> {
  const { rows } = await sql<{ present: boolean; has_after: boolean; has_origin: boolean; has_scans: boolean; has_state: boolean; has_effects: boolean; has_cache: boolean; old_kind_check: string | null; old_status_check: string | null }>`
    select to_regclass('schema_diff.steps') is not null as present,
           exists (select 1 from pg_attribute
                    where attrelid = to_regclass('schema_diff.steps') and attname = 'after_definition' and not attisdropped) as has_after,
           exists (select 1 from pg_attribute
                    where attrelid = to_regclass('schema_diff.steps') and attname = 'origin' and not attisdropped) as has_origin,
           exists (select 1 from pg_attribute
                    where attrelid = to_regclass('schema_diff.steps') and attname = 'scans' and not attisdropped) as has_scans,
           exists (select 1 from pg_attribute
                    where attrelid = to_regclass('schema_diff.steps') and attname = 'state' and not attisdropped) as has_state,
           to_regclass('schema_diff.normalized') is not null as has_cache,
           exists (select 1 from pg_attribute
                    where attrelid = to_regclass('schema_diff.steps') and attname = 'effects' and not attisdropped) as has_effects,
           (select conname from pg_constraint
             where conrelid = to_regclass('schema_diff.runs') and contype = 'c'
               and pg_get_constraintdef(oid) like '%kind%' and pg_get_constraintdef(oid) not like '%forget%'
             limit 1) as old_kind_check,
           (select conname from pg_constraint
             where conrelid = to_regclass('schema_diff.runs') and contype = 'c'
               and pg_get_constraintdef(oid) like '%status%' and pg_get_constraintdef(oid) not like '%interrupted%'
             limit 1) as old_status_check`.execute(db);
  const r = rows[0];
  return { present: r.present, hasAfter: r.has_after, hasOrigin: r.has_origin, hasScans: r.has_scans, hasState: r.has_state,
    hasEffects: r.has_effects,
    hasCache: r.has_cache,
    oldKindCheck: r.old_kind_check,
    oldStatusCheck: r.old_status_check,
  };
}

/** The run row and one 'planned' row per step, together: a killed run's plan is known whatever it got through. */
export async function startRun(db: Kysely<unknown>, kind: HistoryRun['kind'], manifest: string, fingerprint: string, planned: readonly Step[] = []) {
  await ensureHistory(db);
  return inTransaction(db, async () => {
    const { rows } = await sql<{ id: number }>`
      insert into schema_diff.runs (kind, manifest, fingerprint) values (${kind}, ${manifest}, ${fingerprint})
      returning id::int as id`.execute(db);
    for (const step of planned) await writeStep(db, rows[0].id, step, 'planned');
    return rows[0].id;
  });
}

/** A run that runs no SQL (forget): the run 'done' and its steps applied, one transaction. */
export async function recordRun(db: Kysely<unknown>, kind: HistoryRun['kind'], manifest: string, steps: readonly Step[]): Promise<number> {
  await ensureHistory(db);
  return inTransaction(db, async () => {
    const { rows } = await sql<{ id: number }>`
      insert into schema_diff.runs (kind, manifest, fingerprint, status, finished_at) values (${kind}, ${manifest}, '', 'done', now())
      returning id::int as id`.execute(db);
    for (const step of steps) await writeStep(db, rows[0].id, step, 'applied');
    return rows[0].id;
  });
}

export async function finishRun(db: Kysely<unknown>, runId: number, status: 'done' | 'failed') {
  await sql`update schema_diff.runs set status = ${status}, finished_at = now() where id = ${runId}`.execute(db);
}

/** Stored for a step without scans, so that null means "journaled before scans were recorded". */
const NO_SCANS = { sql: [], inverse: [] };

/** Writes one executed step; called inside the step's own transaction where it has one. */
export async function recordStep(db: Kysely<unknown>, record: RunRecord, step: Step): Promise<void> {
  await writeStep(db, record.runId, step, 'applied');
  for (const undone of record.undoes?.get(step.id) ?? []) {
    await sql`update schema_diff.steps set undone_by = ${record.runId}
               where run_id = ${undone.runId} and seq = ${undone.seq}`.execute(db);
  }
}

/** Inserts a step row, or turns the run's planned row for it into what was executed. */
async function writeStep(db: Kysely<unknown>, runId: number, step: Step, state: 'planned' | 'applied'): Promise<void> {
  await sql`
    insert into schema_diff.steps (run_id, seq, action, table_name, name, objects, sql, inverse, transactional, lock_timeout, after_definition, origin, scans, effects, state)
    values (${runId}, ${step.id}, ${step.action}, ${step.table}, ${step.name}, ${[...step.objects]}::text[],
            ${[...step.sql]}::text[], ${[...step.inverse]}::text[], ${step.transactional}, ${step.lockTimeout}, ${step.after ?? null},
            ${originText(step)}, ${JSON.stringify(step.scans ?? NO_SCANS)}::jsonb, ${effectsText(step)}, ${state})
    on conflict (run_id, seq) do update
       set action = excluded.action, table_name = excluded.table_name, name = excluded.name, objects = excluded.objects,
           sql = excluded.sql, inverse = excluded.inverse, transactional = excluded.transactional,
           lock_timeout = excluded.lock_timeout, after_definition = excluded.after_definition, origin = excluded.origin, scans = excluded.scans, effects = excluded.effects,
           state = excluded.state, applied_at = now()`.execute(db);
}

/** Runs left 'running', each with its steps still only planned (none on a journal from before planned steps). */
export async function unfinishedRuns(db: Kysely<unknown>): Promise<UnfinishedRun[]> {
  const shape = await journalShape(db);
  if (!shape.present) return [];
  const { rows: runs } = await sql<{ id: number; kind: HistoryRun['kind'] }>`
    select id::int as id, kind from schema_diff.runs where status = 'running' order by id`.execute(db);
  if (runs.length === 0 || !shape.hasState) return runs.map((r) => ({ ...r, planned: [] }));
  const { rows: steps } = await sql<Record<string, unknown>>`
    select run_id::int as run_id, seq, action, table_name, name, objects, sql, inverse, transactional, lock_timeout,
           applied_at, after_definition, origin, ${sql.raw(shape.hasEffects ? 'effects' : 'null::text as effects')}, undone_by::int as undone_by
      from schema_diff.steps
     where state = 'planned' and run_id = any(${runs.map((r) => r.id)}::bigint[]) order by run_id, seq`.execute(db);
  const planned = steps.map(toHistoryStep);
  return runs.map((r) => ({ ...r, planned: planned.filter((s) => s.runId === r.id) }));
}

/** The run becomes 'interrupted' and the planned steps found done become applied: one transaction, so both or neither. */
export async function markInterrupted(db: Kysely<unknown>, runId: number, adopted: readonly number[]): Promise<void> {
  await ensureHistory(db);
  await inTransaction(db, async () => {
    await sql`update schema_diff.steps set state = 'applied', applied_at = now()
               where run_id = ${runId} and state = 'planned' and seq = any(${[...adopted]}::int[])`.execute(db);
    await sql`update schema_diff.runs set status = 'interrupted', finished_at = now()
               where id = ${runId} and status = 'running'`.execute(db);
  });
}

interface RunRow {
  id: number;
  kind: HistoryRun['kind'];
  started_at: Date;
  finished_at: Date | null;
  status: HistoryRun['status'];
  manifest: string;
  fingerprint: string;
}
export async function readHistory(db: Kysely<unknown>): Promise<HistoryRun[]> {
  const { present, hasAfter, hasOrigin, hasScans, hasState, hasEffects } = await journalShape(db);
  if (!present) return [];
  const after = sql.raw(hasAfter ? 'after_definition' : 'null::text as after_definition');
  const origin = sql.raw(hasOrigin ? 'origin' : 'null::text as origin');
  const scans = sql.raw(hasScans ? 'scans' : 'null::jsonb as scans');
  const effects = sql.raw(hasEffects ? 'effects' : 'null::text as effects');
  // Steps only planned are the plan of a run, not something that happened.
  const applied = sql.raw(hasState ? `where state = 'applied'` : '');
  const { rows: runs } = await sql<RunRow>`
    select id::int as id, kind, started_at, finished_at, status, manifest, fingerprint from schema_diff.runs order by id`.execute(db);
  const { rows: steps } = await sql<Record<string, unknown>>`
    select run_id::int as run_id, seq, action, table_name, name, objects, sql, inverse, transactional, lock_timeout,
           applied_at, ${after}, ${origin}, ${scans}, ${effects}, undone_by::int as undone_by
      from schema_diff.steps ${applied} order by run_id, seq`.execute(db);
  const fields = runs.map((r) => ({
    id: r.id,
    kind: r.kind,
    startedAt: new Date(r.started_at).toISOString(),
    finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null,
    status: r.status,
    manifest: r.manifest,
    fingerprint: r.fingerprint,
  }));
  return assembleHistory(fields.map(checkRun), steps.map(toHistoryStep));
}

function toHistoryStep(s: StepRow): HistoryStep {
  const applied = s.applied_at instanceof Date ? s.applied_at.toISOString() : s.applied_at;
  return historyStepOf({ ...s, scans: s.scans ?? legacyScans(s), applied_at: applied }, (list) => list);
}

/** A step journaled before scans were recorded: its VALIDATE statements can only be told by their text. */
function legacyScans(s: StepRow): Step['scans'] | null {
  const texts = (v: unknown) => (Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : []);
  const positions = (statements: readonly string[]) => statements.flatMap((t, i) => (legacyIsValidation(t) ? [i] : []));
  const found = { sql: positions(texts(s.sql)), inverse: positions(texts(s.inverse)) };
  return found.sql.length + found.inverse.length > 0 ? found : null;
}
