import type { OnlineApplyResult, ScenarioResult } from './online-apply-bench.js';
import type { FleetBenchResult } from './fleet-bench.js';
import type { ValidateBenchResult } from './validate-bench.js';
import type { MigraResult } from './plan-scale-bench.js';

/**
 * bench-results/report.md: every figure beside its reference, both measured in
 * the same run, with the goal it is held to. Benches the report does not know
 * are listed with their JSON file.
 */
export interface BenchRecord {
  readonly bench: string;
  readonly description: string;
  readonly durationMs: number;
  readonly result: Record<string, unknown>;
}

export interface ReportMeta {
  readonly startedAt: string;
  readonly quick: boolean;
  readonly machine: { readonly node: string; readonly cpus: number; readonly cpu: string };
  /** The chart's file name beside report.md, when the online-apply bench ran. */
  readonly chart?: string;
}

const ms = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);
const x = (a: number | null | undefined, b: number | null | undefined) => (a && b ? `${(a / b).toFixed(2)}×` : '–');
const verdict = (ok: boolean | null) => (ok === null ? '' : ok ? ' ✓' : ' ✗');

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function validateSection(r: ValidateBenchResult): string[] {
  const half = (a: number) => verdict(a / r.pgValidateMs <= 0.5);
  return [
    `## validate and apply's pre-check (PostgreSQL, ${r.orders.toLocaleString('en-US')} orders)`,
    '',
    `Reference: PostgreSQL's own \`ALTER TABLE … VALIDATE CONSTRAINT\` of the same ${r.checksAndKeys} CHECKs and foreign keys, one after the other, in the same database. Medians of ${r.repeat}.`,
    '',
    ...table(
      ['what', 'schema-diff', 'reference (same run)', 'ratio', 'goal'],
      [
        [`validate of the ${r.checksAndKeys} CHECKs and FKs, --jobs 2`, ms(r.validateChecksAndKeysMs), `VALIDATE CONSTRAINT ×${r.checksAndKeys}: ${ms(r.pgValidateMs)}`, x(r.validateChecksAndKeysMs, r.pgValidateMs), `≤ 0.5×${half(r.validateChecksAndKeysMs)}`],
        [`validate of the same, --jobs 1`, ms(r.validateChecksAndKeysSerialMs), ms(r.pgValidateMs), x(r.validateChecksAndKeysSerialMs, r.pgValidateMs), `≤ 0.5×${half(r.validateChecksAndKeysSerialMs)}`],
        [`apply's pre-check of the same (one table at a time, no parallel workers)`, ms(r.precheckChecksAndKeysMs), ms(r.pgValidateMs), x(r.precheckChecksAndKeysMs, r.pgValidateMs), `≤ 0.5×${half(r.precheckChecksAndKeysMs)}`],
        [`apply's pre-check of all ${r.constraints} (unique indexes too)`, ms(r.precheckMs), ms(r.pgValidateMs), x(r.precheckMs, r.pgValidateMs), ''],
        [`validate of all ${r.constraints}, --jobs 2`, ms(r.validateMs), `SELECT count(*) of every table: ${ms(r.countMs)}`, x(r.validateMs, r.countMs), ''],
        [`naive script, one query per constraint`, ms(r.naiveMs), ms(r.pgValidateMs), x(r.naiveMs, r.pgValidateMs), ''],
      ],
    ),
    '',
    `Counts agree with the naive script on a copy with violations written in: ${r.naiveAgrees ? 'yes' : '**no**'} (${r.violationsFound} violating rows found).`,
    '',
  ];
}

const LABEL: Record<string, string> = {
  ours: 'schema-diff apply',
  'online-script': 'hand-written online script',
  'alembic-1tx': 'one transaction (Alembic)',
  'alembic-each': 'statements one by one',
};

function onlineSection(r: OnlineApplyResult, chart: string | undefined): string[] {
  const by = (s: string) => r.scenarios.find((c) => c.shape === s) as ScenarioResult | undefined;
  const ours = by('ours');
  const script = by('online-script');
  const rows = r.scenarios.map((s) => [
    LABEL[s.shape] ?? s.shape,
    s.ok ? 'ok' : `failed: ${(s.firstError ?? '').slice(0, 60)}`,
    ms(s.migrationMs),
    ms(s.writers.maxLatencyMs),
    ms(s.writers.p99LatencyMs),
    String(s.writers.failed),
    ms(s.writers.longestGapMs),
  ]);
  const runsOf = (s: ScenarioResult | undefined) =>
    s?.runs && s.runs.length > 1
      ? `${LABEL[s.shape] ?? s.shape}: ${s.runs.map((run) => `${ms(run.ms)}${run.ok ? '' : ' (failed)'} / ${ms(run.maxLatencyMs)}${run.longestDuring ? ` (during ${run.longestDuring})` : ''}`).join(', ')}`
      : null;
  const repeated = [runsOf(ours), runsOf(script)].filter((l): l is string => l !== null);
  return [
    `## Online apply (PostgreSQL, ${r.orders.toLocaleString('en-US')} orders, writers at ${r.writerRate} tx/s)`,
    '',
    ...(repeated.length
      ? [
          'schema-diff apply and the hand-written script ran in turns, several times each; each row below is the run with the median wall time among those that succeeded. Every run (wall time / longest writer wait, and for schema-diff the steps running while that writer waited):',
          '',
          ...repeated.map((l) => `- ${l}`),
          '',
        ]
      : []),
    ...table(['shape', 'outcome', 'wall time', 'longest writer wait', 'p99 writer wait', 'failed writer tx', 'longest gap without a commit'], rows),
    '',
    ...table(
      ['what', 'schema-diff', 'reference (same run)', 'ratio', 'goal'],
      [
        ['apply wall time, pre-check included', ms(ours?.migrationMs), `hand-written online script: ${ms(script?.migrationMs)}`, x(ours?.migrationMs, script?.migrationMs), `≤ 1.2×${verdict(ours && script ? ours.migrationMs / script.migrationMs <= 1.2 : null)}`],
        [
          'longest writer wait during apply',
          ms(ours?.writers.maxLatencyMs),
          `hand-written online script: ${ms(script?.writers.maxLatencyMs)}${r.idle ? `; no migration at all, the same writers for ${ms(r.idle.ms)}: ${ms(r.idle.maxLatencyMs)}` : ''}`,
          '',
          `≤ 30 ms, 0 errors${verdict(ours ? ours.writers.maxLatencyMs <= 30 && ours.writers.failed === 0 : null)}`,
        ],
      ],
    ),
    '',
    ...(chart ? [`![writer latency during each apply shape](${chart})`, ''] : []),
  ];
}

type SqliteResult = {
  orders: number;
  vacuumIntoMs: number;
  ordersOnly: { editApplyMs: number; editStepMs: number | null; rebuildApplyMs: number; rebuildStepMs: number | null };
  editApplyMs: number;
  rebuildApplyMs: number;
};

function sqliteSection(r: SqliteResult): string[] {
  const o = r.ordersOnly;
  return [
    `## SQLite (${r.orders.toLocaleString('en-US')} orders)`,
    '',
    `Reference: \`VACUUM INTO\` of the same file (a copy of every page: the floor for rewriting it), same run.`,
    '',
    ...table(
      ['what', 'schema-diff', 'reference (same run)', 'ratio', 'goal'],
      [
        [`apply of orders' 8 CHECKs + FK action, edited in place (pre-check included)`, ms(o.editApplyMs), `VACUUM INTO: ${ms(r.vacuumIntoMs)}`, x(o.editApplyMs, r.vacuumIntoMs), `≤ 2×${verdict(o.editApplyMs / r.vacuumIntoMs <= 2)}`],
        [`its edit_table step alone`, ms(o.editStepMs), ms(r.vacuumIntoMs), x(o.editStepMs, r.vacuumIntoMs), ''],
        [`the same apply, table rebuilt (?defensive=on)`, ms(o.rebuildApplyMs), ms(r.vacuumIntoMs), x(o.rebuildApplyMs, r.vacuumIntoMs), ''],
        [`its rebuild_table step alone`, ms(o.rebuildStepMs), ms(r.vacuumIntoMs), x(o.rebuildStepMs, r.vacuumIntoMs), ''],
        [`all of MeStore (its indexes built too), edited in place`, ms(r.editApplyMs), `rebuilt: ${ms(r.rebuildApplyMs)}`, x(r.editApplyMs, r.rebuildApplyMs), ''],
      ],
    ),
    '',
  ];
}

function fleetSection(r: FleetBenchResult): string[] {
  const serial = r.rounds.find((x) => x.parallel === 1)?.wallMs;
  const loop = r.singleApplyMs * r.targets;
  return [
    `## Fleet apply (PostgreSQL, ${r.targets} small MeStore databases on one server, ${r.steps} steps each)`,
    '',
    `Reference: one \`apply --database-url\` of the same manifest on a fresh copy, whole process: ${ms(r.singleApplyMs)}; × ${r.targets} is what a shell loop of applies would take (${ms(loop)}), same run.`,
    '',
    ...table(
      ['what', 'schema-diff', 'reference (same run)', 'ratio', 'speed-up over --parallel 1', 'per target (median / max)', 'longest lock wait', 'load before'],
      r.rounds.map((round) => [
        `apply --targets --parallel ${round.parallel} (${round.ok}/${r.targets} ok)`,
        ms(round.wallMs),
        `loop of applies: ${ms(loop)}`,
        x(round.wallMs, loop),
        x(serial, round.wallMs),
        `${ms(round.targetMedianMs)} / ${ms(round.targetMaxMs)}`,
        ms(round.longestLockWaitMs),
        String(round.loadBefore),
      ]),
    ),
    '',
  ];
}

interface PlanRun {
  readonly totalMs: number;
  readonly loadManifestMs: number;
  readonly phases: Readonly<Record<string, number>>;
  readonly steps: number;
}

interface PlanScenario {
  readonly first: PlanRun;
  readonly last: PlanRun;
  readonly pgClassDeadTuplesBefore: number;
  readonly pgClassDeadTuplesAfter: number;
  readonly pgClassRowsWritten: number;
  readonly catalogRowsWrittenPerRun?: Readonly<Record<string, number>>;
  readonly pgDumpSchemaOnlyMs: number;
  /** `schema-diff plan` as a process of its own, each run's ms (absent in reports from before it was measured). */
  readonly cliMs?: readonly number[];
}

const SCENARIOS: Record<string, string> = {
  'steady-state': 'zero changes, after an apply (the journal knows each expression)',
  'zero-changes': 'zero changes, made by hand (no journal: every expression parsed)',
  'all-changes': 'all changes (nothing there: every expression parsed)',
};

/** migra's median over the same kind of diff: the database against itself for zero changes, the bare one against it for all. */
function migraMedianOf(migra: MigraResult | undefined, scenario: string): number | undefined {
  if (!migra?.measured) return undefined;
  return middleOf(scenario === 'all-changes' ? migra.allChangesMs : migra.zeroChangesMs);
}

/** The median of measured runs (the upper middle of an even count); undefined when there are none. */
function middleOf(runs: readonly number[]): number | undefined {
  return runs.length ? [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)] : undefined;
}

function planScaleSection(r: { tables: number; runs: number; migra?: MigraResult } & Record<string, unknown>): string[] {
  const scenarios = Object.keys(SCENARIOS).filter((k) => r[k]).map((k) => [k, r[k] as PlanScenario] as const);
  const slower = (s: PlanScenario) => Math.max(s.first.totalMs, s.last.totalMs);
  // migra is timed as a process (Python's start-up and imports included): so is schema-diff, where measured
  const cli = (s: PlanScenario) => middleOf(s.cliMs ?? []);
  const cliRuns = scenarios.map(([, s]) => s.cliMs?.length ?? 0).reduce((a, b) => Math.max(a, b), 0);
  const faster = (k: string, s: PlanScenario) => {
    const migra = migraMedianOf(r.migra, k);
    return migra === undefined ? null : migra / (cli(s) ?? slower(s));
  };
  const migraNote = r.migra?.measured
    ? `and migra (\`${r.migra.command}\`, ${r.migra.zeroChangesMs.length} runs each; the median), diffing the database with every object against itself for zero changes and the bare one against it for all changes (${r.migra.allChangesLines} lines of SQL).`
    : `migra ${r.migra?.why ?? 'not measured'}.`;
  const phases = (p: PlanRun) =>
    `manifest ${p.loadManifestMs + (p.phases.resolve ?? 0)} · introspect ${p.phases.introspect ?? 0} · normalize ${p.phases.normalize ?? 0} · diff ${p.phases.diff ?? 0} · render ${p.phases.render ?? 0}`;
  return [
    `## plan on ${r.tables.toLocaleString('en-US')} tables (PostgreSQL)`,
    '',
    `5 CHECKs, 2 foreign keys and 2 indexes per table, each table of its own shape. Runs 1 and ${r.runs}: in the bench's own process, as the CLI does it (connect, load the manifest, plan, close), ${r.runs} runs in a row: the catalog must not slow the tenth. ${cliRuns ? `Then \`schema-diff plan\` as a user runs it, a process of its own with Node's start-up and the SQL printed (${cliRuns} runs; the median), which is what compares with migra, itself a process.` : 'The command was not timed as a process in this report: the ratio to migra below is to run 1 or 10, whichever is slower.'} References: \`pg_dump --schema-only\` of the same database, ${migraNote}`,
    '',
    ...table(
      ['scenario', 'run 1', `run ${r.runs}`, '`schema-diff plan`, a process', 'pg_dump (same run)', 'migra (same run)', 'migra ÷ plan (process ÷ process)', 'goal', `pg_class dead tuples before → after ${r.runs} runs`],
      scenarios.map(([k, s]) => [
        SCENARIOS[k],
        ms(s.first.totalMs),
        ms(s.last.totalMs),
        ms(cli(s)),
        ms(s.pgDumpSchemaOnlyMs),
        ms(migraMedianOf(r.migra, k)),
        faster(k, s) === null ? '–' : `${(faster(k, s) as number).toFixed(1)}×`,
        `≤ 1 s${verdict(Math.max(slower(s), cli(s) ?? 0) <= 1000)}, ≥ 5× faster than migra${verdict(faster(k, s) === null ? null : (faster(k, s) as number) >= 5)}`,
        `${s.pgClassDeadTuplesBefore} → ${s.pgClassDeadTuplesAfter}`,
      ]),
    ),
    '',
    'Phases of run 1, ms:',
    '',
    ...scenarios.map(([k, s]) => `- ${SCENARIOS[k]}: ${phases(s.first)} (${s.first.steps} steps)`),
    '',
    'Catalog rows written per run (inserted + updated; a rolled-back temporary table leaves them dead until vacuum):',
    '',
    ...scenarios.map(([k, s]) => `- ${SCENARIOS[k]}: ${Object.entries(s.catalogRowsWrittenPerRun ?? { pg_class: s.pgClassRowsWritten / r.runs }).map(([n, v]) => `${n} ${v}`).join(', ')}`),
    '',
  ];
}

export function renderReport(records: readonly BenchRecord[], meta: ReportMeta): string {
  const out = [
    '# schema-diff bench report',
    '',
    `Run ${meta.startedAt} on ${meta.machine.cpus} × ${meta.machine.cpu}, Node ${meta.machine.node}${meta.quick ? '. **Quick mode: small data; these figures exercise the pipeline and say little about speed.**' : '.'}`,
    'Every figure stands beside its reference, both measured in this run on this machine. ✓/✗: the goal is met or not.',
    '',
  ];
  for (const r of records) {
    if (r.bench === 'validate') out.push(...validateSection(r.result as unknown as ValidateBenchResult));
    else if (r.bench === 'online-apply') out.push(...onlineSection(r.result as unknown as OnlineApplyResult, meta.chart));
    else if (r.bench === 'sqlite-rebuild') out.push(...sqliteSection(r.result as unknown as SqliteResult));
    else if (r.bench === 'fleet') out.push(...fleetSection(r.result as unknown as FleetBenchResult));
    else if (r.bench === 'plan-scale') out.push(...planScaleSection(r.result as { tables: number; runs: number }));
    else out.push(`## ${r.bench}`, '', r.description, '', `Figures: [${r.bench}.json](${r.bench}.json).`, '');
  }
  out.push('---', '', `Bench durations: ${records.map((r) => `${r.bench} ${ms(r.durationMs)}`).join(', ')}. Raw figures: report.json and one JSON per bench.`, '');
  return out.join('\n');
}
