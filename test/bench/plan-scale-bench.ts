import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { openDialect } from '../../src/dialect/open.js';
import { loadManifest } from '../../src/manifest/load.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan, type PlanPhase } from '../../src/run/prepare.js';
import type { BenchModule } from './run.js';
import { QUICK } from './scale.js';

/**
 * `plan` on a database of BENCH_TABLES tables (default 1,000), each with 5
 * CHECKs, 2 foreign keys and 2 indexes, every table of its own shape (its own
 * column names) and its own constants, so that nothing is shared between
 * tables by accident. Three databases: every constraint already there (zero
 * changes, no journal), none there (all changes), and zero changes after an
 * apply (steady state: the journal remembers each expression's canonical form).
 * Each is planned BENCH_RUNS times (default 10) in a row, each run as the CLI
 * does it (connect, load the JSON manifest, plan, close), timed by phase, with
 * pg_class's dead tuples and its inserted + updated rows before and after.
 *
 * References, in the same run: `pg_dump --schema-only` of the same database,
 * which reads the same catalog objects and prints them; and migra, where it is
 * installed (a Python package: BENCH_MIGRA names its command, default `migra`
 * on the PATH; docs/rollout.md says how to run it from its sources), diffing the
 * database with every object against itself (zero changes) and the bare one
 * against it (all changes).
 */
const ADMIN_URL = process.env.BENCH_PG_URL ?? process.env.SCHEMA_DIFF_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// --quick (scale.ts): 50 tables, 2 runs, enough to exercise the report
const TABLES = Number(process.env.BENCH_TABLES ?? (QUICK ? 50 : 1000));
const RUNS = Math.max(2, Number(process.env.BENCH_RUNS ?? (QUICK ? 2 : 10)));
const KEEP = process.env.BENCH_KEEP === '1';
const MIGRA = process.env.BENCH_MIGRA ?? 'migra';
const MIGRA_RUNS = 3;
/** `schema-diff plan` as a user runs it: a process of its own, timed like migra's (start-up and output included). */
const CLI_RUNS = 3;
const BIN = resolve('bin/schema-diff');

const pad = (i: number) => String(i).padStart(4, '0');
const tableName = (i: number) => `t${pad(i)}`;

interface RunTiming {
  readonly totalMs: number;
  readonly loadManifestMs: number;
  readonly phases: Partial<Record<PlanPhase, number>>;
  readonly steps: number;
}

interface CatalogCounters {
  readonly deadTuples: number;
  readonly written: number;
  /** Rows inserted + updated in each catalog a plan's scratch tables write to. */
  readonly writtenBy: Readonly<Record<string, number>>;
}

/** The catalogs temporary tables, their CHECKs and their indexes write rows to. */
const CATALOGS = ['pg_class', 'pg_attribute', 'pg_constraint', 'pg_depend', 'pg_index', 'pg_type'] as const;

export const planScaleBench: BenchModule = {
  name: 'plan-scale',
  description: `plan on ${TABLES} tables (5 CHECKs, 2 FKs, 2 indexes each), runs 1 and ${RUNS}, by phase, with pg_class dead tuples; references pg_dump --schema-only and, where installed (BENCH_MIGRA), migra`,
  async run(log) {
    const dir = mkdtempSync(join(tmpdir(), 'sd-plan-scale-'));
    const manifestPath = join(dir, 'manifest.json');
    writeFileSync(manifestPath, JSON.stringify(manifestJson(), null, 1));
    const databases: { drop: () => Promise<void>; url: string }[] = [];
    try {
      const result: Record<string, unknown> = { tables: TABLES, runs: RUNS };
      const urls: Record<string, string> = {};
      for (const scenario of ['zero-changes', 'all-changes', 'steady-state'] as const) {
        const db = await createDatabase();
        databases.push(db);
        urls[scenario] = db.url;
        const buildMs = await timed(() => runScript(db.url, schemaScript(scenario !== 'all-changes')));
        log(`${scenario}: built ${TABLES} tables in ${(buildMs / 1000).toFixed(1)} s`);
        if (scenario === 'steady-state') {
          const applyMs = await timed(() => applyOnce(db.url, manifestPath));
          log(`${scenario}: apply (nothing to change, records the journal) in ${applyMs} ms`);
        }
        result[scenario] = await measureScenario(db.url, manifestPath, scenario, log);
      }
      result.migra = await measureMigra(urls['zero-changes'], urls['all-changes'], log);
      return result;
    } finally {
      rmSync(dir, { recursive: true, force: true });
      for (const db of databases) {
        if (KEEP) log(`kept ${db.url} (BENCH_KEEP=1)`);
        else await db.drop();
      }
    }
  },
};

async function measureScenario(url: string, manifestPath: string, scenario: string, log: (line: string) => void) {
  const before = await catalogCounters(url);
  const runs: RunTiming[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await planOnce(url, manifestPath));
  const after = await catalogCounters(url);
  const pgDumpMs = await median(3, () => pgDumpSchema(url));
  const cliMs: number[] = [];
  for (let i = 0; i < CLI_RUNS; i++) cliMs.push(await timed(() => planCli(url, manifestPath)));
  const first = runs[0];
  const last = runs[runs.length - 1];
  for (const [label, r] of [['run 1', first], [`run ${RUNS}`, last]] as const) {
    log(`${scenario} ${label}: ${r.totalMs} ms, ${r.steps} steps (${describePhases(r)})`);
  }
  const perRun = Object.fromEntries(CATALOGS.map((name) => [name, Math.round(((after.writtenBy[name] ?? 0) - (before.writtenBy[name] ?? 0)) / RUNS)]));
  log(`${scenario}: pg_class dead tuples ${before.deadTuples} → ${after.deadTuples}, rows written ${after.written - before.written} over ${RUNS} runs`);
  log(`${scenario}: catalog rows written per run: ${CATALOGS.map((name) => `${name} ${perRun[name]}`).join(', ')}`);
  log(`${scenario}: reference pg_dump --schema-only ${pgDumpMs} ms; plan run 1 / pg_dump ${ratio(first.totalMs, pgDumpMs)}×`);
  log(`${scenario}: schema-diff plan as a process (start-up and output included) ${cliMs.join(' / ')} ms`);
  // on a shared machine, absolute times follow the load: the ratio to pg_dump, measured alongside, is what compares
  const load = loadavg().map((l) => Math.round(l * 10) / 10);
  log(`${scenario}: load average ${load.join(' ')}`);
  return {
    first,
    last,
    allRunsMs: runs.map((r) => r.totalMs),
    pgClassDeadTuplesBefore: before.deadTuples,
    pgClassDeadTuplesAfter: after.deadTuples,
    pgClassRowsWritten: after.written - before.written,
    catalogRowsWrittenPerRun: perRun,
    pgDumpSchemaOnlyMs: pgDumpMs,
    cliMs,
    firstOverPgDump: ratio(first.totalMs, pgDumpMs),
    loadAverage: load,
  };
}

export type MigraResult =
  | { readonly measured: false; readonly why: string }
  | {
      readonly measured: true;
      readonly command: string;
      /** migra from the database with every object to itself, and from the bare database to it: each run's ms. */
      readonly zeroChangesMs: readonly number[];
      readonly allChangesMs: readonly number[];
      /** Lines of SQL migra printed for all changes, to show it did the whole diff. */
      readonly allChangesLines: number;
    };

/**
 * migra (Python) on the same two databases, MIGRA_RUNS times each. Its exit
 * code is 2 when the databases differ, 0 when they do not.
 */
async function measureMigra(full: string, bare: string, log: (line: string) => void): Promise<MigraResult> {
  const migra = (from: string, to: string) =>
    new Promise<string>((resolve, reject) =>
      // SQLAlchemy 1.4 knows the scheme only as postgresql://
      execFile(MIGRA, ['--unsafe', from.replace(/^postgres:/, 'postgresql:'), to.replace(/^postgres:/, 'postgresql:')], { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        if (error && code !== 2) reject(new Error(`${MIGRA}: ${String(stderr).trim().split('\n').at(-1) || error.message}`));
        else resolve(String(stdout));
      }),
    );
  try {
    await migra(full, full);
  } catch (e) {
    const why = `not measured: ${(e as Error).message} (migra is a Python package; set BENCH_MIGRA, see docs/rollout.md#the-bench-and-its-references)`;
    log(`migra: ${why}`);
    return { measured: false, why };
  }
  const zeroChangesMs: number[] = [];
  const allChangesMs: number[] = [];
  let allChangesLines = 0;
  for (let i = 0; i < MIGRA_RUNS; i++) {
    zeroChangesMs.push(await timed(() => migra(full, full)));
    const started = performance.now();
    const out = await migra(bare, full);
    allChangesMs.push(Math.round(performance.now() - started));
    allChangesLines = out.split('\n').filter((l) => l.trim() !== '').length;
  }
  log(`migra: zero changes ${zeroChangesMs.join(' / ')} ms; all changes ${allChangesMs.join(' / ')} ms (${allChangesLines} lines of SQL)`);
  return { measured: true, command: MIGRA, zeroChangesMs, allChangesMs, allChangesLines };
}

/** One `plan` as the CLI runs it: connect read-only, load the manifest file, plan, close. */
async function planOnce(url: string, manifestPath: string): Promise<RunTiming> {
  const started = performance.now();
  const phases: Partial<Record<PlanPhase, number>> = {};
  const dialect = await openDialect(url, { readOnly: true });
  let steps = 0;
  let loadManifestMs = 0;
  try {
    const t0 = performance.now();
    const manifest = await loadManifest(manifestPath);
    loadManifestMs = Math.round(performance.now() - t0);
    const { plan } = await preparePlan(dialect, manifest, manifestPath, {
      hooks: {
        phase: (phase, ms) => {
          phases[phase] = Math.round(ms);
        },
      },
    });
    steps = plan.steps.length;
  } finally {
    await dialect.close();
  }
  return { totalMs: Math.round(performance.now() - started), loadManifestMs, phases, steps };
}

async function applyOnce(url: string, manifestPath: string): Promise<void> {
  const dialect = await openDialect(url);
  try {
    const manifest = await loadManifest(manifestPath);
    await applyManifest(dialect, manifest, {
      manifestPath,
      lockTimeoutMs: 100,
      lockRetries: 3,
      retryBudgetMs: 10_000,
      lockWaitMs: 0,
      allowNotValid: false,
      confirm: async () => true,
    });
  } finally {
    await dialect.close();
  }
}

function describePhases(r: RunTiming): string {
  const p = r.phases;
  return `load manifest ${r.loadManifestMs + (p.resolve ?? 0)} ms, introspect ${p.introspect} ms, normalize ${p.normalize} ms, journal ${p.journal} ms, diff ${p.diff} ms, render ${p.render} ms`;
}

/**
 * pg_class's dead tuples (what vacuum must clean) and rows inserted + updated
 * (which vacuum does not hide). Stats reach the view when a backend ends or
 * goes idle: the snapshot is cleared and read after a moment.
 */
async function catalogCounters(url: string): Promise<CatalogCounters> {
  await new Promise((r) => setTimeout(r, 1200));
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('select pg_stat_clear_snapshot()');
    const { rows } = await c.query<{ name: string; dead: string; written: string }>(
      `select name, pg_stat_get_dead_tuples(name::regclass) as dead,
              pg_stat_get_tuples_inserted(name::regclass) + pg_stat_get_tuples_updated(name::regclass) as written
         from unnest($1::text[]) as name`,
      [CATALOGS],
    );
    const pgClass = rows.find((r) => r.name === 'pg_class');
    return {
      deadTuples: Number(pgClass?.dead ?? 0),
      written: Number(pgClass?.written ?? 0),
      writtenBy: Object.fromEntries(rows.map((r) => [r.name, Number(r.written)])),
    };
  } finally {
    await c.end();
  }
}

/**
 * The CLI as a user runs it (`schema-diff plan -m manifest.json`, SQL on stdout), the way migra is timed: Node's
 * start-up, module loading and printing included. Its exit code is 0 for zero changes (no --exit-code).
 */
async function planCli(url: string, manifestPath: string): Promise<void> {
  await promisify(execFile)(process.execPath, [BIN, 'plan', '--manifest', manifestPath, '--database-url', url], {
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1' },
  });
}

async function pgDumpSchema(url: string): Promise<void> {
  await promisify(execFile)('pg_dump', ['--schema-only', '--no-owner', '-d', url], { maxBuffer: 256 * 1024 * 1024 });
}

/** Table i: its own column names (its own shape), two foreign keys to earlier tables. */
function columnsOf(i: number) {
  const s = pad(i);
  return { qty: `qty_${s}`, price: `price_${s}`, status: `status_${s}`, code: `code_${s}`, created: `created_${s}` };
}

function checksOf(i: number) {
  const c = columnsOf(i);
  return [
    { name: `ck_${pad(i)}_qty`, expr: `${c.qty} >= ${i % 7}` },
    { name: `ck_${pad(i)}_price`, expr: `${c.price} BETWEEN 0 AND ${1000 + i}` },
    { name: `ck_${pad(i)}_status`, expr: `${c.status} IN ('new', 'paid', 'shipped', 's${i}')` },
    { name: `ck_${pad(i)}_code`, expr: `${c.code} LIKE 'C${i}%'` },
    { name: `ck_${pad(i)}_created`, expr: `${c.created} > '2000-01-01'::date + ${i}` },
  ];
}

function foreignKeysOf(i: number) {
  return [
    { name: `fk_${pad(i)}_parent`, columns: ['parent_id'], references: { table: tableName(Math.max(0, i - 1)), columns: ['id'] } },
    { name: `fk_${pad(i)}_owner`, columns: ['owner_id'], references: { table: tableName(Math.max(0, i - 2)), columns: ['id'] }, onDelete: 'cascade' as const },
  ];
}

function indexesOf(i: number) {
  const c = columnsOf(i);
  return [
    { name: `ux_${pad(i)}_code`, columns: [c.code], unique: true, where: `${c.status} <> 'cancelled'` },
    { name: `ix_${pad(i)}_lower_code`, columns: [{ expr: `lower(${c.code})` }, c.created] },
  ];
}

export function manifestJson() {
  const tables: Record<string, unknown> = {};
  for (let i = 0; i < TABLES; i++) tables[tableName(i)] = { checks: checksOf(i), foreignKeys: foreignKeysOf(i), indexes: indexesOf(i) };
  return { version: 1, name: 'plan-scale', tables };
}

/** One script for the whole database: tables, and (withObjects) every constraint and index the manifest wants. */
export function schemaScript(withObjects: boolean): string {
  const lines: string[] = ['BEGIN;'];
  for (let i = 0; i < TABLES; i++) {
    const c = columnsOf(i);
    lines.push(
      `CREATE TABLE ${tableName(i)} (id bigint PRIMARY KEY, parent_id bigint, owner_id bigint, ${c.qty} integer NOT NULL, ` +
        `${c.price} numeric(12,2), ${c.status} text, ${c.code} varchar(20), ${c.created} date);`,
    );
  }
  if (withObjects) {
    for (let i = 0; i < TABLES; i++) {
      const t = tableName(i);
      for (const ck of checksOf(i)) lines.push(`ALTER TABLE ${t} ADD CONSTRAINT ${ck.name} CHECK (${ck.expr});`);
      for (const fk of foreignKeysOf(i)) {
        const action = fk.onDelete ? ` ON DELETE ${fk.onDelete.toUpperCase()}` : '';
        lines.push(`ALTER TABLE ${t} ADD CONSTRAINT ${fk.name} FOREIGN KEY (${fk.columns[0]}) REFERENCES ${fk.references.table} (id)${action};`);
      }
      for (const ix of indexesOf(i)) {
        const keys = ix.columns.map((k) => (typeof k === 'string' ? k : `(${k.expr})`)).join(', ');
        lines.push(`CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${ix.name} ON ${t} (${keys})${ix.where ? ` WHERE ${ix.where}` : ''};`);
      }
    }
  }
  lines.push('COMMIT;');
  return lines.join('\n');
}

async function runScript(url: string, script: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(script);
    // the catalog as a live database has it: statistics gathered, dead rows of the build vacuumed away
    if (script.startsWith('BEGIN;')) await c.query('VACUUM ANALYZE');
  } finally {
    await c.end();
  }
}

async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `sd_bench_plan_${randomBytes(4).toString('hex')}`;
  await runScript(ADMIN_URL, `CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => runScript(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return Math.round(performance.now() - started);
}

async function median(n: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await timed(fn));
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

const ratio = (a: number, b: number) => Math.round((a / Math.max(b, 1)) * 100) / 100;
