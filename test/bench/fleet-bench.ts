import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import type { BenchModule } from './run.js';
import { QUICK } from './scale.js';

/**
 * `apply --targets` over BENCH_FLEET small MeStore databases (default 100; 20
 * with --quick) on the local server, at --parallel 1, 4 and 8: the wall time
 * of the whole command, as a user would see it. Each round starts from fresh
 * copies of one seeded template database (CREATE DATABASE … TEMPLATE), made
 * before the clock starts and dropped after.
 *
 * Reference, same run: one single-database `apply --database-url` of the same
 * manifest on a fresh copy, times the fleet's size: what a shell loop of
 * applies would take.
 */
const ADMIN_URL = process.env.BENCH_PG_URL ?? process.env.SCHEMA_DIFF_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SIZE = Number(process.env.BENCH_FLEET ?? (QUICK ? 20 : 100));
const PARALLEL = [1, 4, 8] as const;
const BIN = resolve('bin/schema-diff');
const MANIFEST = 'manifest/index.ts';

export interface FleetRound {
  readonly parallel: number;
  readonly wallMs: number;
  readonly exitCode: number | null;
  readonly ok: number;
  /** Median and longest of the targets' own times (the JSON report's ms). */
  readonly targetMedianMs: number;
  readonly targetMaxMs: number;
  /** The longest lock wait of any target (ms). */
  readonly longestLockWaitMs: number | null;
  readonly loadBefore: number;
}

export interface FleetBenchResult {
  readonly targets: number;
  readonly steps: number;
  /** One `apply --database-url` on a fresh copy: the whole process. */
  readonly singleApplyMs: number;
  readonly rounds: readonly FleetRound[];
}

export const fleetBench: BenchModule = {
  name: 'fleet',
  description: `apply --targets over ${SIZE} small MeStore databases on the local server at --parallel ${PARALLEL.join(', ')}; reference: one apply --database-url × ${SIZE}`,
  async run(log) {
    const tag = randomBytes(3).toString('hex');
    const template = `sd_bench_fleet_${tag}_tpl`;
    const dir = mkdtempSync(join(tmpdir(), 'sd-fleet-bench-'));
    let names: string[] = [];
    try {
      await admin(`CREATE DATABASE ${template}`);
      await runOn(urlOf(template), baselineSchema('postgres') + demoRows());
      const single = `sd_bench_fleet_${tag}_one`;
      await admin(`CREATE DATABASE ${single} TEMPLATE ${template}`);
      const one = await cli(['apply', '--database-url', urlOf(single), '--yes', '--quiet', '--format', 'json']);
      await admin(`DROP DATABASE IF EXISTS ${single} WITH (FORCE)`);
      const steps = (JSON.parse(one.stdout) as { steps?: number }).steps ?? 0;
      log(`one apply --database-url: ${one.ms} ms, ${steps} steps (exit ${one.code})`);
      const rounds: FleetRound[] = [];
      for (const parallel of PARALLEL) {
        names = Array.from({ length: SIZE }, (_, i) => `sd_bench_fleet_${tag}_${String(i).padStart(3, '0')}`);
        for (const n of names) await admin(`CREATE DATABASE ${n} TEMPLATE ${template}`);
        const file = join(dir, `fleet-${parallel}.txt`);
        writeFileSync(file, names.map((n) => `${n} ${urlOf(n)}`).join('\n') + '\n');
        const loadBefore = Math.round(loadavg()[0] * 100) / 100;
        const r = await cli(['apply', '--targets', file, '--yes', '--quiet', '--parallel', String(parallel), '--format', 'json']);
        const targets = (JSON.parse(r.stdout) as { targets: { status: string; ms: number; lockWaitMs?: number }[] }).targets;
        const times = targets.map((t) => t.ms).sort((a, b) => a - b);
        const waits = targets.flatMap((t) => (t.lockWaitMs === undefined ? [] : [t.lockWaitMs]));
        const round: FleetRound = {
          parallel,
          wallMs: r.ms,
          exitCode: r.code,
          ok: targets.filter((t) => t.status === 'ok').length,
          targetMedianMs: times[Math.floor(times.length / 2)] ?? 0,
          targetMaxMs: times[times.length - 1] ?? 0,
          longestLockWaitMs: waits.length ? Math.max(...waits) : null,
          loadBefore,
        };
        rounds.push(round);
        log(`--parallel ${parallel}: ${r.ms} ms for ${SIZE} targets (${round.ok} ok, exit ${r.code}; per target median ${round.targetMedianMs} ms; load ${loadBefore})`);
        await dropAll(names);
        names = [];
      }
      return { targets: SIZE, steps, singleApplyMs: one.ms, rounds } satisfies FleetBenchResult as unknown as Record<string, unknown>;
    } finally {
      await dropAll(names);
      await admin(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

function urlOf(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function runOn(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

const admin = (text: string) => runOn(ADMIN_URL, text);

async function dropAll(names: readonly string[]): Promise<void> {
  for (const n of names) await admin(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`).catch(() => {});
}

/** The built executable, as a user runs it; wall time of the whole process. */
function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; ms: number }> {
  const started = performance.now();
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.DATABASE_URL;
  return new Promise((done) => {
    execFile(process.execPath, [BIN, '--manifest', MANIFEST, ...args], { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      done({ code: typeof code === 'number' ? code : 1, stdout, ms: Math.round(performance.now() - started) });
    });
  });
}
