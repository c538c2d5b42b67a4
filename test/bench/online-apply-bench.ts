import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { baselineSchema } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { openDialect } from '../../src/dialect/open.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { fillMeStore, summarizeWriters, type WriterSummary, type WriterTx } from '../helpers/writers.js';
import { startWritersOnThread } from '../helpers/writer-thread.js';
import type { BenchModule } from './run.js';
import { PG_ORDERS, REPEAT, WRITER_RATE } from './scale.js';

/**
 * With MeStore's shop placing orders (200 transactions/s: an order, 3 items,
 * a transaction and a payment each), how long do writers wait, and for how
 * long do writes stop altogether, while the customer's 44 objects go in:
 *   ours:          schema-diff apply (CONCURRENTLY, NOT VALID + VALIDATE, lock_timeout and retries);
 *   online-script: what a careful person writes by hand: the same online statements
 *                  (NOT VALID, then VALIDATE; CREATE INDEX CONCURRENTLY) under one
 *                  lock_timeout, no pre-check, no retries, no journal;
 *   alembic-1tx:   the customer's Alembic shape, all statements in one transaction;
 *   alembic-each:  the same statements one by one, autocommit.
 * Each runs on its own copy of one filled database. Measures, never asserts.
 * Size: BENCH_ORDERS (default 1,000,000); writers: BENCH_RATE tx/s (default 200); see scale.ts.
 * Each scenario also keeps a timeline of writer latency (the longest transaction
 * started in each 100 ms), which the report draws (chart.ts).
 */
const ADMIN_URL = process.env.BENCH_PG_URL ?? process.env.SCHEMA_DIFF_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ORDERS = PG_ORDERS;
const RATE = WRITER_RATE;
const CLIENTS = 8;
const WARMUP_MS = 2_000;
const COOLDOWN_MS = 1_000;

export type Shape = 'ours' | 'online-script' | 'alembic-1tx' | 'alembic-each';

/** The longest writer transaction started in each bucket, seconds from the migration's start. */
export type TimelinePoint = { readonly t: number; readonly maxLatencyMs: number; readonly failed: number };

const BUCKET_MS = 100;

const ALL_SHAPES: readonly Shape[] = ['ours', 'online-script', 'alembic-1tx', 'alembic-each'];
/** BENCH_SHAPES=ours,online-script runs only those (the report then shows only them). */
const SHAPES: readonly Shape[] = process.env.BENCH_SHAPES
  ? ALL_SHAPES.filter((s) => (process.env.BENCH_SHAPES as string).split(',').includes(s))
  : ALL_SHAPES;

type MigrationOutcome = {
  readonly ok: boolean;
  /** Statements that failed, by SQLSTATE (ours: the error that stopped apply, if any). */
  readonly failures: Readonly<Record<string, number>>;
  readonly firstError?: string;
  /** ours: lock attempts that gave up and were retried, by SQLSTATE (55P03 lock timeout, 40P01 deadlock). */
  readonly retried?: Readonly<Record<string, number>>;
  /** ours: from the start of apply to its first change (the plan and the pre-check of existing rows). */
  readonly beforeFirstChangeMs?: number;
  /** ours: when each step ran and when each of its lock attempts gave up (performance.now(), ms). */
  readonly stepTimes?: readonly StepTime[];
};

type StepTime = { readonly label: string; readonly start: number; readonly end: number; readonly gaveUp: readonly number[] };

export type ScenarioResult = MigrationOutcome & {
  readonly shape: Shape | 'idle';
  readonly description: string;
  readonly migrationMs: number;
  /** Writers while the migration ran. */
  readonly writers: WriterSummary;
  /** Writers in the warm-up before it, for comparison. */
  readonly writersBefore: Pick<WriterSummary, 'maxLatencyMs' | 'p99LatencyMs' | 'commitsPerSecond'>;
  readonly deadlocks: { readonly migration: number; readonly writers: number };
  readonly timeline: readonly TimelinePoint[];
  /** ours: the steps running at any moment of the longest writer transaction, each with the lock attempts it gave up meanwhile. */
  readonly longestDuring?: string;
  /** Every run of the shape (the compared two run REPEAT times); the fields above are the median run's. */
  readonly runs?: readonly { readonly ms: number; readonly ok: boolean; readonly maxLatencyMs: number; readonly longestDuring?: string }[];
};

export type OnlineApplyResult = {
  readonly version: 1;
  readonly server: string;
  readonly orders: number;
  readonly writerRate: number;
  readonly writerClients: number;
  readonly fillMs: number;
  readonly scenarios: readonly ScenarioResult[];
  /**
   * The same writers on a copy with no migration, for as long as the median
   * apply took: how long they wait on this machine when nothing else runs,
   * the floor under every shape's longest wait.
   */
  readonly idle?: Pick<WriterSummary, 'maxLatencyMs' | 'p99LatencyMs' | 'failed'> & { readonly ms: number };
};

const DESCRIPTIONS: Record<Shape, string> = {
  ours: 'schema-diff apply: indexes CONCURRENTLY, CHECK/FK NOT VALID under lock_timeout 25ms with retries, one VALIDATE per table',
  'online-script': 'hand-written online script: NOT VALID then VALIDATE, FK swapped in one ALTER TABLE after locking its parent (ACCESS EXCLUSIVE, as dropping the old key needs), CREATE INDEX CONCURRENTLY, lock_timeout 5s, no retries',
  'alembic-1tx': 'Alembic shape in one transaction: plain ADD CONSTRAINT CHECK, FK drop then add, plain CREATE INDEX',
  'alembic-each': 'the same statements one by one in autocommit (a failed statement is counted and the next one runs)',
};

export const onlineApplyBench: BenchModule = {
  name: 'online-apply',
  description: `longest writer latency and zero-throughput gap, writers at ${RATE} tx/s on ${ORDERS.toLocaleString('en-US')} orders: schema-diff apply vs a hand-written online script vs the Alembic shape in one transaction vs the same statements in autocommit`,
  run: (log) => runOnlineApply(log),
};

async function runOnlineApply(log: (line: string) => void): Promise<OnlineApplyResult> {
  const template = `sd_bench_online_${randomBytes(4).toString('hex')}`;
  await admin(`create database ${template}`);
  try {
    log(`filling ${template} with ${ORDERS} orders …`);
    await runOn(urlOf(template), baselineSchema('postgres'));
    const { ms: fillMs } = await fillMeStore(urlOf(template), ORDERS);
    const server = (await runOn(urlOf(template), 'select version() as v')).rows[0].v as string;
    const runs = new Map<Shape, ScenarioResult[]>(SHAPES.map((s) => [s, []]));
    const once = async (shape: Shape) => {
      log(`${shape}: migrating with writers at ${RATE} tx/s …`);
      const result = await scenario(shape, template);
      const w = result.writers;
      const before = result.beforeFirstChangeMs !== undefined ? ` (plan and pre-check ${result.beforeFirstChangeMs} ms)` : '';
      const during = result.longestDuring ? ` (during ${result.longestDuring})` : '';
      log(`${shape}: ${result.migrationMs} ms${before}, ${result.ok ? 'ok' : `failed (${result.firstError})`}; writers: max latency ${w.maxLatencyMs} ms${during}, longest gap ${w.longestGapMs} ms, ${w.failed} failed`);
      runs.get(shape)?.push(result);
    };
    // The two shapes the goal compares run REPEAT times each, taking turns, so that a slow spell of the
    // machine falls on both; one run of either varied by ±20% on the same day. The others run once.
    const compared = SHAPES.filter((s) => COMPARED.includes(s));
    for (let round = 0; round < REPEAT; round++) for (const shape of compared) await once(shape);
    for (const shape of SHAPES.filter((s) => !COMPARED.includes(s))) await once(shape);
    const scenarios = SHAPES.map((shape) => representative(runs.get(shape) ?? []));
    const idleMs = scenarios[0]?.migrationMs ?? 15_000;
    log(`no migration: writers alone for ${idleMs} ms …`);
    const quiet = await scenario('idle', template, idleMs);
    log(`no migration: writers' max latency ${quiet.writers.maxLatencyMs} ms`);
    const idle = { ms: idleMs, maxLatencyMs: quiet.writers.maxLatencyMs, p99LatencyMs: quiet.writers.p99LatencyMs, failed: quiet.writers.failed };
    return { version: 1, server, orders: ORDERS, writerRate: RATE, writerClients: CLIENTS, fillMs, scenarios, idle };
  } finally {
    await admin(`drop database if exists ${template} with (force)`);
  }
}

const COMPARED: readonly Shape[] = ['ours', 'online-script'];

/**
 * The run that stands for a shape: the median wall time of those that
 * succeeded (any run when none did), with every run's time and outcome beside it.
 */
function representative(results: readonly ScenarioResult[]): ScenarioResult {
  const ok = results.filter((r) => r.ok).sort((a, b) => a.migrationMs - b.migrationMs);
  const pick = ok.length > 0 ? ok[Math.floor((ok.length - 1) / 2)] : results[0];
  return {
    ...pick,
    runs: results.map((r) => ({ ms: r.migrationMs, ok: r.ok, maxLatencyMs: r.writers.maxLatencyMs, ...(r.longestDuring ? { longestDuring: r.longestDuring } : {}) })),
  };
}

/**
 * One shape on a fresh copy of the filled database, with writers running
 * before, during and after; 'idle' runs no migration, only waits `idleMs`.
 */
async function scenario(shape: Shape | 'idle', template: string, idleMs = 0): Promise<ScenarioResult> {
  const copy = `${template}_${shape.replace('-', '_')}`;
  await copyDatabase(template, copy);
  const url = urlOf(copy);
  try {
    // on a thread of their own, as the application is a process of its own (writer-thread.ts)
    const writers = await startWritersOnThread({ url, clients: CLIENTS, ratePerSecond: RATE, durationMs: 30 * 60_000 });
    const warm = performance.now();
    await sleep(WARMUP_MS);
    const from = performance.now();
    const outcome: MigrationOutcome = shape === 'idle' ? await sleep(idleMs).then(() => ({ ok: true, failures: {} })) : await migrate(shape, url).catch((e: unknown) => failed(e));
    const to = performance.now();
    await sleep(COOLDOWN_MS);
    const log = await writers.stop();
    const during = summarizeWriters(log, { from, to });
    const before = summarizeWriters(log, { from: warm, to: from });
    const { stepTimes, ...migration } = outcome;
    const longestDuring = stepTimes ? stepsDuringLongest(log, stepTimes, from, to) : undefined;
    return {
      timeline: timelineOf(log, from, warm, performance.now()),
      shape,
      description: shape === 'idle' ? 'writers alone, no migration' : DESCRIPTIONS[shape],
      migrationMs: Math.round(to - from),
      ...migration,
      ...(longestDuring ? { longestDuring } : {}),
      writers: during,
      writersBefore: { maxLatencyMs: before.maxLatencyMs, p99LatencyMs: before.p99LatencyMs, commitsPerSecond: before.commitsPerSecond },
      deadlocks: {
        migration: (outcome.failures['40P01'] ?? 0) + (outcome.retried?.['40P01'] ?? 0),
        writers: summarizeWriters(log).errors['40P01'] ?? 0,
      },
    };
  } finally {
    await admin(`drop database if exists ${copy} with (force)`);
  }
}

/**
 * What apply was doing while the longest writer transaction of the migration
 * waited: the steps running at any moment of it, each with the lock attempts
 * it gave up meanwhile. A wait near lock_timeout behind one attempt is the
 * design; one behind two attempts, or behind no lock step at all (the machine),
 * is worth knowing.
 */
function stepsDuringLongest(log: readonly WriterTx[], steps: readonly StepTime[], from: number, to: number): string | undefined {
  // the transactions summarizeWriters takes the longest wait from: those overlapping the migration
  let longest: WriterTx | undefined;
  for (const tx of log) if (tx.start <= to && tx.end >= from && (!longest || tx.end - tx.start > longest.end - longest.start)) longest = tx;
  if (!longest) return undefined;
  const { start, end } = longest;
  const running = steps.filter((s) => s.start < end && s.end > start);
  if (running.length === 0) return 'no step: between steps';
  return running
    .map((s) => {
      const gaveUp = s.gaveUp.filter((t) => t > start && t <= end).length;
      return gaveUp > 0 ? `${s.label}, ${gaveUp} lock attempt(s) given up` : s.label;
    })
    .join('; ');
}

/** Writer latency over time: per bucket, the longest transaction started in it, and how many failed. */
function timelineOf(log: readonly WriterTx[], origin: number, from: number, to: number): TimelinePoint[] {
  const buckets = new Map<number, { max: number; failed: number }>();
  for (const tx of log) {
    if (tx.start < from || tx.start > to) continue;
    const b = Math.floor((tx.start - origin) / BUCKET_MS);
    const cur = buckets.get(b) ?? { max: 0, failed: 0 };
    buckets.set(b, { max: Math.max(cur.max, tx.end - tx.start), failed: cur.failed + (tx.ok ? 0 : 1) });
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([b, v]) => ({ t: Math.round(b * BUCKET_MS) / 1000, maxLatencyMs: Math.round(v.max * 10) / 10, failed: v.failed }));
}

function migrate(shape: Shape, url: string): Promise<MigrationOutcome> {
  switch (shape) {
    case 'ours':
      return applyOurs(url);
    case 'online-script':
      return onlineScript(url);
    case 'alembic-1tx':
      return alembic(url, true);
    case 'alembic-each':
      return alembic(url, false);
  }
}

async function applyOurs(url: string): Promise<MigrationOutcome> {
  const dialect = await openDialect(url);
  const retried: Record<string, number> = {};
  const stepTimes: { id: number; label: string; start: number; end: number; gaveUp: number[] }[] = [];
  // the step of that id started last and not finished (an undo after a failure numbers its own steps from 1 again)
  const open = (id: number) => [...stepTimes].reverse().find((t) => t.id === id && t.end === Infinity);
  const started = performance.now();
  let beforeFirstChangeMs: number | undefined;
  try {
    // The CLI's defaults.
    await applyManifest(dialect, mestore, {
      manifestPath: 'manifest/mestore.ts',
      lockTimeoutMs: 25,
      lockRetries: 50,
      retryBudgetMs: 60_000,
      lockWaitMs: 10_000,
      allowNotValid: false,
      confirm: async () => true,
      events: {
        runStarted: () => {
          beforeFirstChangeMs = Math.round(performance.now() - started);
        },
        stepStarted: (step) => void stepTimes.push({ id: step.id, label: `${step.action} ${step.name}`, start: performance.now(), end: Infinity, gaveUp: [] }),
        stepFinished: (step) => {
          const time = open(step.id);
          if (time) time.end = performance.now();
        },
        retrying: (step, _attempt, reason) => {
          const code = reason === 'deadlock' ? '40P01' : '55P03';
          retried[code] = (retried[code] ?? 0) + 1;
          open(step.id)?.gaveUp.push(performance.now());
        },
      },
    });
    return { ok: true, failures: {}, retried, beforeFirstChangeMs, stepTimes };
  } catch (e) {
    // a failed step gets no stepFinished: it ran until the failure
    const now = performance.now();
    for (const t of stepTimes) if (t.end === Infinity) Object.assign(t, { end: now, label: `${t.label} (failed)` });
    return { ...failed(e), retried, beforeFirstChangeMs, stepTimes };
  } finally {
    await dialect.close();
  }
}

/** The customer's migration as Alembic runs it: one transaction for all, or each statement on its own. */
async function alembic(url: string, oneTransaction: boolean): Promise<MigrationOutcome> {
  const client = new pg.Client({ connectionString: url, application_name: 'alembic' });
  client.on('error', () => {});
  await client.connect();
  const errors: Record<string, number> = {};
  let firstError: string | undefined;
  const note = (e: unknown, statement: string) => {
    const err = e as { code?: string; message?: string };
    errors[err.code ?? '?'] = (errors[err.code ?? '?'] ?? 0) + 1;
    firstError ??= `${err.code}: ${err.message} (at: ${statement.slice(0, 100)})`;
  };
  try {
    const statements = await naiveStatements(client, mestore);
    if (oneTransaction) {
      let current = 'BEGIN';
      try {
        await client.query('BEGIN');
        for (current of statements) await client.query(current);
        await client.query('COMMIT');
      } catch (e) {
        note(e, current);
        await client.query('ROLLBACK').catch(() => {});
      }
    } else {
      for (const statement of statements) await client.query(statement).catch((e: unknown) => note(e, statement));
    }
    return { ok: Object.keys(errors).length === 0, failures: errors, firstError };
  } finally {
    await client.end();
  }
}

/**
 * The 44 objects as the customer's Alembic migration writes them (plan order:
 * CHECKs table by table, then the FK fixes as drop + create, then indexes),
 * with none of the online precautions.
 */
async function naiveStatements(client: pg.Client, manifest: LoadedManifest): Promise<string[]> {
  const tables = Object.entries(manifest.tables);
  const checks = tables.flatMap(([t, spec]) => (spec?.checks ?? []).map((c) => `ALTER TABLE ${t} ADD CONSTRAINT ${c.name} CHECK (${c.expr})`));
  const fks: string[] = [];
  for (const [t, spec] of tables) {
    for (const fk of spec?.foreignKeys ?? []) {
      for (const old of await oldForeignKeys(client, t, fk.columns)) fks.push(`ALTER TABLE ${t} DROP CONSTRAINT ${old}`);
      const onDelete = typeof fk.onDelete === 'object' ? fk.onDelete.action : fk.onDelete;
      const actions = [onDelete && `ON DELETE ${onDelete.toUpperCase()}`, fk.onUpdate && `ON UPDATE ${fk.onUpdate.toUpperCase()}`];
      fks.push(
        `ALTER TABLE ${t} ADD CONSTRAINT ${fk.name} FOREIGN KEY (${fk.columns.join(', ')}) REFERENCES ${fk.references.table} (${fk.references.columns.join(', ')}) ${actions.filter(Boolean).join(' ')}`,
      );
    }
  }
  const indexes = tables.flatMap(([t, spec]) =>
    (spec?.indexes ?? []).map(
      (ix) =>
        `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${ix.name} ON ${t} (${ix.columns.map((c) => (typeof c === 'string' ? c : c.expr)).join(', ')})` +
        (ix.where ? ` WHERE ${ix.where}` : ''),
    ),
  );
  return [...checks, ...fks, ...indexes];
}

/**
 * The hand-written online migration: every constraint added NOT VALID (a FK
 * swapped for the old one in the same ALTER TABLE), every index built
 * CONCURRENTLY, then each constraint validated; one lock_timeout, no retries.
 */
async function onlineScript(url: string): Promise<MigrationOutcome> {
  const client = new pg.Client({ connectionString: url, application_name: 'online-script' });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query("SET lock_timeout = '5s'");
    const tables = Object.entries(mestore.tables);
    const adds: string[] = [];
    const validates: string[] = [];
    for (const [t, spec] of tables) {
      for (const c of spec?.checks ?? []) {
        adds.push(`ALTER TABLE ${t} ADD CONSTRAINT ${c.name} CHECK (${c.expr}) NOT VALID`);
        validates.push(`ALTER TABLE ${t} VALIDATE CONSTRAINT ${c.name}`);
      }
      for (const fk of spec?.foreignKeys ?? []) {
        const old = await oldForeignKeys(client, t, fk.columns);
        const onDelete = typeof fk.onDelete === 'object' ? fk.onDelete.action : fk.onDelete;
        const actions = [onDelete && `ON DELETE ${onDelete.toUpperCase()}`, fk.onUpdate && `ON UPDATE ${fk.onUpdate.toUpperCase()}`].filter(Boolean).join(' ');
        // the parent locked first, in the order the writers lock, so that the swap does not deadlock with them
        adds.push(
          `BEGIN; LOCK TABLE ${fk.references.table} IN ACCESS EXCLUSIVE MODE; ` +
            `ALTER TABLE ${t} ${old.map((o) => `DROP CONSTRAINT ${o}, `).join('')}ADD CONSTRAINT ${fk.name} FOREIGN KEY (${fk.columns.join(', ')}) REFERENCES ${fk.references.table} (${fk.references.columns.join(', ')}) ${actions} NOT VALID; COMMIT`,
        );
        validates.push(`ALTER TABLE ${t} VALIDATE CONSTRAINT ${fk.name}`);
      }
    }
    const indexes = tables.flatMap(([t, spec]) =>
      (spec?.indexes ?? []).map(
        (ix) =>
          `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY ${ix.name} ON ${t} (${ix.columns.map((c) => (typeof c === 'string' ? c : c.expr)).join(', ')})` +
          (ix.where ? ` WHERE ${ix.where}` : ''),
      ),
    );
    for (const statement of [...adds, ...indexes, ...validates]) await client.query(statement);
    return { ok: true, failures: {} };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    return failed(e);
  } finally {
    await client.end();
  }
}

async function oldForeignKeys(client: pg.Client, table: string, columns: readonly string[]): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `select conname as name from pg_constraint where contype = 'f' and conrelid = $1::regclass
        and conkey = (select array_agg(attnum order by ord) from unnest($2::text[]) with ordinality c(col, ord)
                        join pg_attribute a on a.attrelid = $1::regclass and a.attname = c.col)`,
    [table, columns],
  );
  return rows.map((r) => r.name);
}

function failed(e: unknown): MigrationOutcome {
  const err = e as { code?: string; message?: string };
  return { ok: false, failures: { [err.code ?? 'error']: 1 }, firstError: err.message ?? String(e) };
}

/**
 * A copy of the filled database, with no checkpoint owed when the shape starts.
 * PostgreSQL 15 copies a template through the WAL by default (about 1 GB here):
 * the checkpoint that WAL triggers then ran during the migration, and its
 * fsync stalled every writer for 60–150 ms whatever the shape did (seen in the
 * server log beside the writers' timeline). FILE_COPY copies the files, and a
 * CHECKPOINT after it leaves every shape the same clean start.
 */
async function copyDatabase(template: string, copy: string): Promise<void> {
  const { rows } = await admin(`select current_setting('server_version_num')::int as v`);
  const strategy = (rows[0].v as number) >= 150000 ? ' strategy file_copy' : '';
  await admin(`create database ${copy} template ${template}${strategy}`);
  await admin('checkpoint');
}

function urlOf(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function runOn(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

const admin = (text: string) => runOn(ADMIN_URL, text);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
