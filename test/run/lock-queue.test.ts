import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { baselineSchema } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { openDialect } from '../../src/dialect/open.js';
import type { Dialect } from '../../src/dialect/dialect.js';
import { SchemaDiffError } from '../../src/errors.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import type { Step } from '../../src/plan/types.js';
import { applyManifest, type ApplyOptions } from '../../src/run/apply.js';
import { verifyManifest } from '../../src/run/verify.js';
import { ADMIN_URL, createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { fillMeStore, startWriters, summarizeWriters, type WriterLoad, type WriterTx } from '../helpers/writers.js';

/**
 * Another session holds a lock on orders (a slow application transaction).
 * apply's ALTER must wait for it, and every writer that arrives meanwhile
 * queues behind that waiting ALTER: lock_timeout is what keeps the queue short.
 */
const base: ApplyOptions = {
  manifestPath: 'manifest/mestore.ts',
  lockTimeoutMs: 25,
  lockRetries: 1_000,
  retryBudgetMs: 60_000,
  lockWaitMs: 2_000,
  allowNotValid: false,
  confirm: async () => true,
};
const HOLD_MS = 3_000;
/** lock_timeout is 25 ms; the rest is slack for a loaded 2-core machine, far below HOLD_MS. */
const WRITER_WAIT_BOUND_MS = 1_000;

/** The manifest's indexes alone: "a previous apply built them", so apply's first step is an ALTER on orders. */
const indexesOnly: LoadedManifest = {
  ...mestore,
  tables: Object.fromEntries(Object.entries(mestore.tables).map(([t, spec]) => [t, { indexes: spec?.indexes ?? [] }])),
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Blocker {
  readonly pid: number;
  end(how: 'COMMIT' | 'ROLLBACK'): Promise<void>;
}

/** An application session that opens a transaction, takes a lock on orders and keeps it. */
async function holdLock(url: string, statement: string): Promise<Blocker> {
  const client = new pg.Client({ connectionString: url, application_name: 'mestore-blocker' });
  client.on('error', () => {}); // dropping the database at the end terminates it if a test failed half-way
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  await client.query('BEGIN');
  await client.query(statement);
  return {
    pid: rows[0].pid,
    end: async (how) => {
      await client.query(how);
      await client.end();
    },
  };
}

const uncommittedOrder = `insert into orders (order_number, buyer_id, subtotal, total_amount, shipping_name, shipping_phone)
  select 'SLOW-1', id, 100, 100, 'Cliente lento', '+57 1' from users limit 1`;

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describeServer('lock queue: another session holds a lock on orders', () => {
  let template: Awaited<ReturnType<typeof createTestDatabase>>;
  const clones: { name: string; url: string }[] = [];

  beforeAll(async () => {
    template = await createTestDatabase('sd_lockq');
    await runSql(template.url, baselineSchema('postgres'));
    await fillMeStore(template.url, 5_000);
  }, 60_000);

  afterAll(async () => {
    for (const c of clones) await runSql(ADMIN_URL, `drop database if exists ${c.name} with (force)`);
    await template?.drop();
  });

  async function freshDatabase(withIndexes: boolean): Promise<string> {
    const name = `${template.name}_${clones.length + 1}`;
    await runSql(ADMIN_URL, `create database ${name} template ${template.name}`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    clones.push({ name, url: url.toString() });
    if (withIndexes) await withDialect(url.toString(), (d) => applyManifest(d, indexesOnly, base));
    return url.toString();
  }

  async function withDialect<T>(url: string, body: (d: Dialect) => Promise<T>): Promise<T> {
    const dialect = await openDialect(url);
    try {
      return await body(dialect);
    } finally {
      await dialect.close();
    }
  }

  /** Writers during a window: the figures of the transactions that ended inside it. */
  async function writersDuring(load: WriterLoad, from: number, to: number): Promise<ReturnType<typeof summarizeWriters>> {
    const log: readonly WriterTx[] = await load.stop();
    const all = summarizeWriters(log);
    expect({ failed: all.failed, errors: all.errors }).toEqual({ failed: 0, errors: {} });
    return summarizeWriters(log, { from, to });
  }

  test('a waiting ALTER holds writers about lock_timeout at most; apply retries and succeeds once the lock is released', async () => {
    const url = await freshDatabase(true);
    const writers = await startWriters({ url, clients: 8, ratePerSecond: 100, durationMs: 40_000 });
    const blocker = await holdLock(url, uncommittedOrder);
    const held = performance.now();
    const retries: Step[] = [];
    const reasons: string[] = [];
    const retrying = (s: Step, _attempt: number, reason: string) => {
      retries.push(s);
      reasons.push(reason);
    };
    const applying = withDialect(url, (d) => applyManifest(d, mestore, { ...base, events: { retrying } }));
    applying.catch(() => {});
    await until(() => retries.length >= 6, 'apply to retry its lock');
    await sleep(HOLD_MS);
    const released = performance.now();
    await blocker.end('COMMIT');
    const result = await applying;
    const s = await writersDuring(writers, held, released);

    expect(result.runId).not.toBeNull();
    expect(retries[0].table).toBe('public.orders');
    // short first attempts, so that writers queue behind a waiting ALTER for a few ms; then the whole lock_timeout
    expect(reasons.slice(0, 6)).toEqual([2, 4, 8, 16, 25, 25].map((ms) => `lock not granted in ${ms} ms`));
    expect(s.committed).toBeGreaterThan(0);
    expect(s.maxLatencyMs).toBeLessThan(WRITER_WAIT_BOUND_MS);
    expect(await withDialect(url, (d) => verifyManifest(d, mestore, 'manifest/mestore.ts'))).toEqual([]);
  }, 90_000);

  test('control: without lock_timeout the same waiting ALTER holds every writer as long as the blocker', async () => {
    const url = await freshDatabase(true);
    const writers = await startWriters({ url, clients: 8, ratePerSecond: 100, durationMs: 30_000 });
    const blocker = await holdLock(url, uncommittedOrder);
    const held = performance.now();
    const alter = runSql(url, 'ALTER TABLE orders ADD CONSTRAINT ck_plain CHECK (subtotal >= 0) NOT VALID');
    await sleep(HOLD_MS);
    await blocker.end('COMMIT');
    await alter;
    await sleep(200);
    const s = await writersDuring(writers, held, performance.now());
    // The measurement sees a stall when there is one: the writers queued behind the ALTER for the whole hold.
    expect(s.maxLatencyMs).toBeGreaterThan(HOLD_MS / 2);
  }, 60_000);

  test('with a small budget apply stops cleanly, names the blocking session, and leaves nothing half-done', async () => {
    const url = await freshDatabase(true);
    const blocker = await holdLock(url, 'LOCK TABLE orders IN ROW EXCLUSIVE MODE');
    const small = { ...base, lockRetries: 4, retryBudgetMs: 2_000 };
    const error = await withDialect(url, (d) => applyManifest(d, mestore, small)).then(
      () => null,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(SchemaDiffError);
    const { code, message } = error as SchemaDiffError;
    expect(code).toBe('lock');
    expect(message).toMatch(/^step 1 \(add_check ck_order_subtotal_non_negative on public\.orders\) could not get its lock in 4 attempts/);
    expect(message).toContain(`pid ${blocker.pid} (mestore-blocker`);
    expect(message).toContain('LOCK TABLE orders IN ROW EXCLUSIVE MODE');

    // Nothing of the plan's constraints exists; the ORM's FKs are untouched; the journal has a failed run and no step.
    const { rows } = await runSql(url, `select conname from pg_constraint where contype in ('c', 'f') and connamespace = 'public'::regnamespace order by 1`);
    expect(rows.map((r) => r.conname)).toEqual([
      'order_items_order_id_fkey',
      'order_items_product_id_fkey',
      'order_transactions_order_id_fkey',
      'order_transactions_payment_method_id_fkey',
      'orders_buyer_id_fkey',
      'payment_methods_buyer_id_fkey',
      'payments_transaction_id_fkey',
      'products_vendedor_id_fkey',
    ]);
    const history = await withDialect(url, (d) => d.history());
    expect(history.at(-1)).toMatchObject({ kind: 'apply', status: 'failed', steps: [] });

    // The application's transaction was never disturbed, and once it ends apply converges.
    await blocker.end('COMMIT');
    const again = await withDialect(url, (d) => applyManifest(d, mestore, base));
    expect(again.plan.steps.length).toBeGreaterThan(40);
    expect(await withDialect(url, (d) => verifyManifest(d, mestore, 'manifest/mestore.ts'))).toEqual([]);
  }, 60_000);

  test('a lock timeout not well below deadlock_timeout is refused before any step: the application would lose the deadlocks', async () => {
    const url = await freshDatabase(false);
    const [{ ms }] = (await runSql(url, `select setting::int as ms from pg_settings where name = 'deadlock_timeout'`)).rows;
    const error = await withDialect(url, (d) => applyManifest(d, mestore, { ...base, lockTimeoutMs: ms })).then(
      () => null,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(SchemaDiffError);
    expect((error as SchemaDiffError).code).toBe('usage');
    expect((error as SchemaDiffError).message).toBe(
      `lock timeout ${ms}ms is not well below the server's deadlock_timeout (${ms}ms): when apply and an application transaction deadlock, ` +
        `the application's would be the one aborted; use a lock timeout of at most ${Math.floor(ms / 2)}ms (--lock-timeout); nothing was changed`,
    );
    const history = await withDialect(url, (d) => d.history());
    expect(history).toEqual([]); // refused before a run started: no trace in the journal
    const { rows } = await runSql(url, `select count(*)::int as n from pg_indexes where indexname like 'ix_%'`);
    expect(rows[0].n).toBe(0);
  }, 60_000);

  test('an index build waits for the open transaction without holding up writers, and finishes once it ends', async () => {
    const url = await freshDatabase(false);
    const writers = await startWriters({ url, clients: 8, ratePerSecond: 100, durationMs: 40_000 });
    const blocker = await holdLock(url, uncommittedOrder);
    const held = performance.now();
    let done = false;
    const applying = withDialect(url, (d) => applyManifest(d, indexesOnly, base)).finally(() => (done = true));
    applying.catch(() => {});
    // CREATE INDEX CONCURRENTLY waits for every transaction that has written to the table: here, the blocker.
    await until(async () => {
      const { rows } = await runSql(url, `select 1 from pg_stat_activity where datname = current_database() and application_name = 'schema-diff'
        and query like 'CREATE INDEX CONCURRENTLY ix_orders_status_created%' and wait_event_type = 'Lock'`);
      return rows.length > 0;
    }, 'the index build to wait for the open transaction');
    await sleep(HOLD_MS);
    expect(done).toBe(false);
    const released = performance.now();
    await blocker.end('COMMIT');
    await applying;
    const s = await writersDuring(writers, held, released);

    expect(s.committed).toBeGreaterThan(0);
    expect(s.maxLatencyMs).toBeLessThan(WRITER_WAIT_BOUND_MS);
    expect(await withDialect(url, (d) => verifyManifest(d, indexesOnly, 'indexes'))).toEqual([]);
  }, 90_000);
});
