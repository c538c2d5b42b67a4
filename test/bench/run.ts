import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { writerLatencySvg } from './chart.js';
import type { OnlineApplyResult } from './online-apply-bench.js';
import { renderReport, type BenchRecord } from './report.js';
import { QUICK } from './scale.js';
import { validateBench } from './validate-bench.js';
import { onlineApplyBench } from './online-apply-bench.js';
import { planScaleBench } from './plan-scale-bench.js';
import { fleetBench } from './fleet-bench.js';
import { sqliteRebuildBench } from '../sqlite/rebuild-bench.js';

/**
 * `npm run bench`: runs each benchmark module in turn (never in parallel: they
 * time a shared machine), writes bench-results/<name>.json, then one report
 * for people (bench-results/report.md and report.json) with the writer-latency
 * chart (writer-latency.svg). Benchmarks measure; they never assert times.
 * `npm run bench -- validate` runs one; `-- --quick` (or BENCH_QUICK=1) runs all
 * on small data; `-- --update-docs` also copies the chart to docs/img/.
 */
export interface BenchModule {
  /** File name under bench-results/ and the name to select it on the command line. */
  readonly name: string;
  readonly description: string;
  run(log: (line: string) => void): Promise<Record<string, unknown>>;
}

/** Add a benchmark here. */
export const BENCHES: readonly BenchModule[] = [validateBench, onlineApplyBench, sqliteRebuildBench, planScaleBench, fleetBench];

const RESULTS_DIR = 'bench-results';

async function main(args: readonly string[]): Promise<number> {
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown bench ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}\n`);
    return 1;
  }
  const selected = names.length ? BENCHES.filter((b) => names.includes(b.name)) : BENCHES;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const machine = { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' };
  const runStartedAt = new Date().toISOString();
  const records: BenchRecord[] = [];
  for (const bench of selected) {
    const log = (line: string) => process.stderr.write(`[${bench.name}] ${line}\n`);
    log(bench.description);
    const startedAt = new Date().toISOString();
    const started = Date.now();
    const result = await bench.run(log);
    const file = join(RESULTS_DIR, `${bench.name}.json`);
    const record = {
      bench: bench.name,
      description: bench.description,
      startedAt,
      durationMs: Date.now() - started,
      quick: QUICK,
      machine,
      result,
    };
    writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
    log(`written to ${file}`);
    records.push(record);
  }
  await writeReport(records, { startedAt: runStartedAt, quick: QUICK, machine }, args.includes('--update-docs'));
  return 0;
}

async function writeReport(records: readonly BenchRecord[], meta: Parameters<typeof renderReport>[1], updateDocs: boolean): Promise<void> {
  const online = records.find((r) => r.bench === 'online-apply');
  let chart: string | undefined;
  if (online) {
    chart = 'writer-latency.svg';
    writeFileSync(join(RESULTS_DIR, chart), await writerLatencySvg(online.result as unknown as OnlineApplyResult));
    if (updateDocs) {
      mkdirSync('docs/img', { recursive: true });
      copyFileSync(join(RESULTS_DIR, chart), join('docs/img', chart));
    }
  }
  writeFileSync(join(RESULTS_DIR, 'report.md'), renderReport(records, { ...meta, chart }));
  writeFileSync(join(RESULTS_DIR, 'report.json'), JSON.stringify({ version: 1, ...meta, benches: records }, null, 2) + '\n');
  process.stderr.write(`report written to ${join(RESULTS_DIR, 'report.md')}\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
