import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { validateBench } from './validate-bench.js';
import { onlineApplyBench } from './online-apply-bench.js';
import { planScaleBench } from './plan-scale-bench.js';
import { sqliteRebuildBench } from '../sqlite/rebuild-bench.js';

/**
 * `npm run bench`: runs each benchmark module in turn (never in parallel: they
 * time a shared machine) and writes bench-results/<name>.json. Benchmarks
 * measure; they never assert times. `npm run bench -- validate` runs one.
 */
export interface BenchModule {
  /** File name under bench-results/ and the name to select it on the command line. */
  readonly name: string;
  readonly description: string;
  run(log: (line: string) => void): Promise<Record<string, unknown>>;
}

/** Add a benchmark here. */
export const BENCHES: readonly BenchModule[] = [validateBench, onlineApplyBench, sqliteRebuildBench, planScaleBench];

const RESULTS_DIR = 'bench-results';

async function main(names: readonly string[]): Promise<number> {
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown bench ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}\n`);
    return 1;
  }
  const selected = names.length ? BENCHES.filter((b) => names.includes(b.name)) : BENCHES;
  mkdirSync(RESULTS_DIR, { recursive: true });
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
      machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
      result,
    };
    writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
    log(`written to ${file}`);
  }
  return 0;
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
