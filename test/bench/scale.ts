/**
 * The bench's sizes. `npm run bench -- --quick` (or BENCH_QUICK=1) runs every
 * bench on small data, so that the whole report pipeline can be exercised in
 * about a minute; the figures it prints then say little about speed.
 * BENCH_ORDERS / SQLITE_BENCH_ORDERS / BENCH_REPEAT still override.
 */
export const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';

const fromEnv = (name: string, full: number, quick: number) => Number(process.env[name] ?? (QUICK ? quick : full));

/** MeStore orders in the PostgreSQL benches (three items, a transaction and a payment each). */
export const PG_ORDERS = fromEnv('BENCH_ORDERS', 1_000_000, 20_000);
/** Orders in the SQLite bench. */
export const SQLITE_ORDERS = fromEnv('SQLITE_BENCH_ORDERS', 1_000_000, 20_000);
/** Timed repetitions (the median is kept). */
export const REPEAT = Math.max(1, fromEnv('BENCH_REPEAT', 3, 1));
/** Writers' rate in the online-apply bench, transactions per second. */
export const WRITER_RATE = fromEnv('BENCH_RATE', 200, 100);

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return Math.round(performance.now() - started);
}

export async function median(fn: () => Promise<unknown>, repeat = REPEAT): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) times.push(await timed(fn));
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

export const ratio = (a: number, b: number) => Math.round((a / Math.max(b, 1)) * 100) / 100;
