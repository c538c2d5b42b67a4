import { performance } from 'node:perf_hooks';
import { baselineSchema } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { openDialect } from '../../src/dialect/open.js';
import type { Step } from '../../src/plan/types.js';
import { applyManifest, type ApplyOptions, type ApplyResult } from '../../src/run/apply.js';
import { verifyManifest } from '../../src/run/verify.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { fillMeStore, startWriters, summarizeWriters, type Window, type WriterTx } from '../helpers/writers.js';

/**
 * The promise, measured on the real server: MeStore's shop keeps
 * placing orders (an order, then 3 items, a transaction and a payment, in one
 * transaction, 200 per second) on tables of 200k orders while apply builds 8
 * indexes, adds 29 CHECKs and swaps 7 foreign keys. PGlite is one connection,
 * so this can only run on a server.
 */
const ORDERS = 200_000;
const RATE = 200;

const options: ApplyOptions = {
  manifestPath: 'manifest/mestore.ts',
  lockTimeoutMs: 25,
  lockRetries: 50,
  retryBudgetMs: 60_000,
  lockWaitMs: 2_000,
  allowNotValid: false,
  confirm: async () => true,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeServer(`apply while MeStore writers place ${RATE} orders/s on ${ORDERS / 1000}k orders`, () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let log: readonly WriterTx[] = [];
  let result: ApplyResult;
  let during: Window;
  /** From the first write-blocking step's start to the last one's end: where a stall would show. */
  let lockPhase: Window;
  const retries: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('sd_writers');
    await runSql(db.url, baselineSchema('postgres'));
    await fillMeStore(db.url, ORDERS);
    const writers = await startWriters({ url: db.url, clients: 8, ratePerSecond: RATE, durationMs: 80_000 });
    const dialect = await openDialect(db.url);
    const lockSteps = { first: Infinity, last: -Infinity };
    try {
      await sleep(1_000);
      const from = performance.now();
      result = await applyManifest(dialect, mestore, {
        ...options,
        events: {
          stepStarted: (s: Step) => {
            if (s.lockTimeout) lockSteps.first = Math.min(lockSteps.first, performance.now());
          },
          stepFinished: (s: Step) => {
            if (s.lockTimeout) lockSteps.last = performance.now();
          },
          retrying: (s: Step, attempt: number, reason: string) => retries.push(`${s.name} #${attempt} ${reason}`),
        },
      });
      during = { from, to: performance.now() };
      lockPhase = { from: lockSteps.first, to: lockSteps.last };
      await sleep(500);
    } finally {
      log = await writers.stop();
      await dialect.close();
    }
  }, 150_000);

  afterAll(async () => db?.drop());

  test('the tables hold at least 200k orders and the plan is the whole customer plan', async () => {
    const [{ n }] = (await runSql(db.url, 'select count(*)::int as n from orders')).rows;
    expect(n).toBeGreaterThanOrEqual(ORDERS);
    const count = (action: string) => result.plan.steps.filter((s) => s.action === action).length;
    expect(count('create_index')).toBe(12); // the plan's 8, and 4 for its foreign keys
    expect(count('add_check')).toBe(29);
    expect(count('replace_foreign_key')).toBe(7);
  });

  test('apply completes and the database matches the manifest', async () => {
    expect(result.runId).not.toBeNull();
    const dialect = await openDialect(db.url);
    try {
      expect(await verifyManifest(dialect, mestore, 'manifest/mestore.ts')).toEqual([]);
    } finally {
      await dialect.close();
    }
  });

  test('no writer transaction fails: no deadlock or lock timeout reaches the application', () => {
    const all = summarizeWriters(log);
    expect({ failed: all.failed, errors: all.errors, firstError: all.firstError }).toEqual({ failed: 0, errors: {}, firstError: undefined });
    expect(all.committed).toBeGreaterThan(0);
  });

  test('writes keep flowing: orders commit in every second of the apply', () => {
    const s = summarizeWriters(log, during);
    // A stall shows as a gap: the customer's one-transaction migration stops every writer for seconds.
    expect(s.committed).toBeGreaterThan(0);
    expect(s.longestGapMs).toBeLessThan(1_000);
    expect(s.minCommitsPerSecond).toBeGreaterThan(0);
  });

  test('writes keep flowing while the CHECKs are added and the FKs swapped', () => {
    expect(lockPhase.to).toBeGreaterThan(lockPhase.from);
    const s = summarizeWriters(log, lockPhase);
    expect(s.committed).toBeGreaterThan(0);
    expect(s.longestGapMs).toBeLessThan(1_000);
  });
});
