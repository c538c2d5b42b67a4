import { sql, type Kysely } from 'kysely';
import { assembleHistory, checkRun, historyStepOf, originText, type StepRow } from '../history-runs.js';
import type { HistoryRun, HistoryStep, RunRecord } from '../dialect.js';
import type { Step } from '../../plan/types.js';
import { legacyIsValidation } from './render.js';

/**
 * The journal of applies and rollbacks lives in the target database itself
 * (schema schema_diff), so a rollback works from any machine.
 */
const DDL = [
  'CREATE SCHEMA IF NOT EXISTS schema_diff',
  `CREATE TABLE IF NOT EXISTS schema_diff.runs (
     id bigserial PRIMARY KEY,
     kind text NOT NULL CHECK (kind IN ('apply', 'rollback')),
     started_at timestamptz NOT NULL DEFAULT now(),
     finished_at timestamptz,
     status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
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
     undone_by bigint REFERENCES schema_diff.runs (id),
     PRIMARY KEY (run_id, seq)
   )`,
];

export async function ensureHistory(db: Kysely<unknown>): Promise<void> {
  const { present, hasAfter, hasOrigin, hasScans } = await journalShape(db);
  // A journal from before after_definition, origin or scans existed gains the column; its old steps keep null.
  if (present && !hasAfter) await sql.raw('ALTER TABLE schema_diff.steps ADD COLUMN IF NOT EXISTS after_definition text').execute(db);
  if (present && !hasOrigin) await sql.raw('ALTER TABLE schema_diff.steps ADD COLUMN IF NOT EXISTS origin text').execute(db);
  if (present && !hasScans) await sql.raw('ALTER TABLE schema_diff.steps ADD COLUMN IF NOT EXISTS scans jsonb').execute(db);
  if (present) return;
  for (const ddl of DDL) await sql.raw(ddl).execute(db);
}

async function journalShape(db: Kysely<unknown>): Promise<{ present: boolean; hasAfter: boolean; hasOrigin: boolean; hasScans: boolean }> {
  const { rows } = await sql<{ present: boolean; has_after: boolean; has_origin: boolean; has_scans: boolean }>`
    select to_regclass('schema_diff.steps') is not null as present,
           exists (select 1 from pg_attribute
                    where attrelid = to_regclass('schema_diff.steps') and attname = 'after_definition' and not attisdropped) as has_after,
           exists (select 1 from pg_attribute
                    where attrelid = to_regclass('schema_diff.steps') and attname = 'origin' and not attisdropped) as has_origin,
           exists (select 1 from pg_attribute
                    where attrelid = to_regclass('schema_diff.steps') and attname = 'scans' and not attisdropped) as has_scans`.execute(db);
  return { present: rows[0].present, hasAfter: rows[0].has_after, hasOrigin: rows[0].has_origin, hasScans: rows[0].has_scans };
}

export async function startRun(db: Kysely<unknown>, kind: HistoryRun['kind'], manifest: string, fingerprint: string) {
  await ensureHistory(db);
  const { rows } = await sql<{ id: number }>`
    insert into schema_diff.runs (kind, manifest, fingerprint) values (${kind}, ${manifest}, ${fingerprint})
    returning id::int as id`.execute(db);
  return rows[0].id;
}

export async function finishRun(db: Kysely<unknown>, runId: number, status: 'done' | 'failed') {
  await sql`update schema_diff.runs set status = ${status}, finished_at = now() where id = ${runId}`.execute(db);
}

/** Stored for a step without scans, so that null means "journaled before scans were recorded". */
const NO_SCANS = { sql: [], inverse: [] };

/** Writes one executed step; called inside the step's own transaction where it has one. */
export async function recordStep(db: Kysely<unknown>, record: RunRecord, step: Step): Promise<void> {
  await sql`
    insert into schema_diff.steps (run_id, seq, action, table_name, name, objects, sql, inverse, transactional, lock_timeout, after_definition, origin, scans)
    values (${record.runId}, ${step.id}, ${step.action}, ${step.table}, ${step.name}, ${[...step.objects]}::text[],
            ${[...step.sql]}::text[], ${[...step.inverse]}::text[], ${step.transactional}, ${step.lockTimeout}, ${step.after ?? null},
            ${originText(step)}, ${JSON.stringify(step.scans ?? NO_SCANS)}::jsonb)`.execute(db);
  for (const undone of record.undoes?.get(step.id) ?? []) {
    await sql`update schema_diff.steps set undone_by = ${record.runId}
               where run_id = ${undone.runId} and seq = ${undone.seq}`.execute(db);
  }
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
  const { present, hasAfter, hasOrigin, hasScans } = await journalShape(db);
  if (!present) return [];
  const after = sql.raw(hasAfter ? 'after_definition' : 'null::text as after_definition');
  const origin = sql.raw(hasOrigin ? 'origin' : 'null::text as origin');
  const scans = sql.raw(hasScans ? 'scans' : 'null::jsonb as scans');
  const { rows: runs } = await sql<RunRow>`
    select id::int as id, kind, started_at, finished_at, status, manifest, fingerprint from schema_diff.runs order by id`.execute(db);
  const { rows: steps } = await sql<Record<string, unknown>>`
    select run_id::int as run_id, seq, action, table_name, name, objects, sql, inverse, transactional, lock_timeout,
           applied_at, ${after}, ${origin}, ${scans}, undone_by::int as undone_by
      from schema_diff.steps order by run_id, seq`.execute(db);
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
