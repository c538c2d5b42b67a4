import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { bulkMeStoreSql } from './bulk.js';

/**
 * MeStore's application under load: N connections, each placing orders the
 * way the shop does (an order, then its 3 items, a transaction and a payment,
 * in one transaction), paced to a total rate, for a bounded time. Every
 * transaction's start, end and outcome (with SQLSTATE) is kept, so a test can
 * ask how long writers waited and whether writes ever stopped flowing.
 *
 * No jest here: the benchmark imports this file too.
 */
export interface WriterOptions {
  readonly url: string;
  /** Concurrent connections (default 8). */
  readonly clients?: number;
  /** Target transactions per second, all clients together (default 200). */
  readonly ratePerSecond?: number;
  /** Hard bound: the load stops by itself after this long, stop() or not. */
  readonly durationMs: number;
  /** Optional bound on the number of transactions started. */
  readonly maxTransactions?: number;
  /** Must not be 'schema-diff': apply ignores its own sessions when naming blockers. */
  readonly applicationName?: string;
  /** After the duration, in-flight transactions get this long before their connections are cut (default 60 s). */
  readonly graceMs?: number;
}

export interface WriterTx {
  readonly worker: number;
  /** performance.now() when it was due, when it started and when it ended (ms). */
  readonly scheduled: number;
  readonly start: number;
  readonly end: number;
  readonly ok: boolean;
  readonly sqlstate?: string;
  readonly message?: string;
}

export interface WriterLoad {
  /** Stops scheduling, waits for in-flight transactions, closes the connections. */
  stop(): Promise<readonly WriterTx[]>;
  /** Resolves when the load has ended (by duration, count or stop()). */
  readonly finished: Promise<readonly WriterTx[]>;
}

/**
 * Fills empty MeStore baseline tables with N clean orders (test/helpers/bulk.ts),
 * with the baseline's FK triggers off while loading (the rows are consistent by
 * construction; superuser only): several times faster at 10^5..10^6 orders.
 * Then VACUUM (ANALYZE), as a production table would be.
 */
export async function fillMeStore(url: string, orders: number): Promise<{ ms: number }> {
  const started = Date.now();
  const client = new pg.Client({ connectionString: url, application_name: 'mestore-fill' });
  await client.connect();
  try {
    await client.query('set session_replication_role = replica');
    await client.query(bulkMeStoreSql(orders));
    await client.query('set session_replication_role = origin');
    await client.query('vacuum (analyze)');
  } finally {
    await client.end();
  }
  return { ms: Date.now() - started };
}

interface Refs {
  users: string[];
  products: { id: string; name: string; sku: string }[];
  paymentMethods: number[];
}

export async function startWriters(options: WriterOptions): Promise<WriterLoad> {
  const clients = options.clients ?? 8;
  const rate = options.ratePerSecond ?? 200;
  const appName = options.applicationName ?? 'mestore-writer';
  if (appName === 'schema-diff') throw new Error('writers must not pose as schema-diff');
  const conns = await Promise.all(Array.from({ length: clients }, () => connect(options.url, appName)));
  const refs = await loadRefs(conns[0]).catch(async (e: unknown) => {
    await Promise.all(conns.map((c) => c.end().catch(() => {})));
    throw e;
  });
  const log: WriterTx[] = [];
  const deadline = performance.now() + options.durationMs;
  const state = { stopping: false, started: 0 };
  const intervalMs = (clients * 1000) / rate;
  const tag = randomBytes(3).toString('hex');

  const running = conns.map(async (client, worker) => {
    // Stagger the clients so the load is even rather than in bursts of N.
    let due = performance.now() + (worker * intervalMs) / clients;
    for (let seq = 0; ; seq++) {
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (state.stopping || performance.now() >= deadline) break;
      if (options.maxTransactions !== undefined && state.started >= options.maxTransactions) break;
      state.started++;
      log.push(await placeOrder(client, refs, worker, `W${tag}-${worker}-${seq}`, due));
      // Slots missed while stalled are skipped, not replayed in a burst.
      due += intervalMs;
      if (due < performance.now()) due = performance.now();
    }
  });
  // A transaction stuck on a lock past the grace period is cut off, so the load always ends.
  const cutoff = setTimeout(() => conns.forEach((c) => c.end().catch(() => {})), options.durationMs + (options.graceMs ?? 60_000));
  cutoff.unref();
  const finished = Promise.all(running).then(async () => {
    clearTimeout(cutoff);
    await Promise.all(conns.map((c) => c.end().catch(() => {})));
    return log;
  });
  return {
    finished,
    stop: async () => {
      state.stopping = true;
      return finished;
    },
  };
}

async function connect(url: string, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => {}); // a server-side termination must not crash the test process
  await client.connect();
  return client;
}

async function loadRefs(client: pg.Client): Promise<Refs> {
  const users = await client.query<{ id: string }>('select id from users order by id limit 200');
  const products = await client.query<{ id: string; name: string; sku: string }>(
    'select id, name, sku from products order by id limit 200',
  );
  const methods = await client.query<{ id: number }>('select id from payment_methods order by id limit 200');
  if (users.rowCount === 0 || products.rowCount === 0) throw new Error('writers need users and products (fill the tables first)');
  return { users: users.rows.map((r) => r.id), products: products.rows, paymentMethods: methods.rows.map((r) => r.id) };
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)];

/** One order as the shop places it; every value satisfies every CHECK of manifest/mestore.ts. */
async function placeOrder(client: pg.Client, refs: Refs, worker: number, key: string, scheduled: number): Promise<WriterTx> {
  const start = performance.now();
  try {
    const items = [0, 1, 2].map(() => ({ product: pick(refs.products), unit: 1000 + Math.floor(Math.random() * 500) * 100, qty: 1 + Math.floor(Math.random() * 3) }));
    const subtotal = items.reduce((s, i) => s + i.unit * i.qty, 0);
    const tax = Math.round(subtotal * 19) / 100;
    const total = subtotal + tax + 8000;
    await client.query('BEGIN');
    const order = await client.query<{ id: number }>(
      `insert into orders (order_number, buyer_id, subtotal, tax_amount, shipping_cost, discount_amount, total_amount, status, shipping_name, shipping_phone, shipping_address)
       values ($1, $2, $3, $4, 8000, 0, $5, 'PENDING', 'Cliente MeStore', '+57 300 000 0000', 'Cra 7 # 12-34') returning id`,
      [key, pick(refs.users), subtotal, tax, total],
    );
    const orderId = order.rows[0].id;
    for (const i of items) {
      await client.query(
        `insert into order_items (order_id, product_id, product_name, product_sku, unit_price, quantity, total_price)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        [orderId, i.product.id, i.product.name, i.product.sku, i.unit, i.qty, i.unit * i.qty],
      );
    }
    const tx = await client.query<{ id: number }>(
      `insert into order_transactions (order_id, payment_method_id, transaction_reference, gateway_transaction_id, amount, status)
       values ($1, $2, $3, $4, $5, 'APPROVED') returning id`,
      [orderId, refs.paymentMethods.length ? pick(refs.paymentMethods) : null, `TX-${key}`, `gw-${key}`, total],
    );
    await client.query(
      `insert into payments (transaction_id, wompi_transaction_id, wompi_payment_id, amount_in_cents, currency, payment_method_type, status)
       values ($1, $2, $3, $4, 'COP', 'CARD', 'APPROVED')`,
      [tx.rows[0].id, `wtx-${key}`, `wpay-${key}`, Math.round(total * 100)],
    );
    await client.query('COMMIT');
    return { worker, scheduled, start, end: performance.now(), ok: true };
  } catch (e) {
    const end = performance.now();
    await client.query('ROLLBACK').catch(() => {});
    const err = e as { code?: string; message?: string };
    return { worker, scheduled, start, end, ok: false, sqlstate: err.code ?? 'client', message: err.message ?? String(e) };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface Window {
  readonly from: number;
  readonly to: number;
}

export interface WriterSummary {
  /** Transactions that overlap the window. */
  readonly transactions: number;
  /** Commits inside the window. */
  readonly committed: number;
  readonly failed: number;
  /** SQLSTATE → count, for the failed transactions. */
  readonly errors: Readonly<Record<string, number>>;
  readonly firstError?: string;
  /** Service time (start to end) of the transactions that overlap the window. */
  readonly maxLatencyMs: number;
  readonly p50LatencyMs: number;
  readonly p99LatencyMs: number;
  /** The longest stretch of the window with no commit at all (window edges count as boundaries). */
  readonly longestGapMs: number;
  /** Commits in the emptiest whole second of the window (aligned to its start). */
  readonly minCommitsPerSecond: number;
  readonly commitsPerSecond: number;
}

/** Figures over the transactions that overlap a window (default: all of them). */
export function summarizeWriters(log: readonly WriterTx[], window?: Window): WriterSummary {
  const from = window?.from ?? log.reduce((m, t) => Math.min(m, t.start), Infinity);
  const to = window?.to ?? log.reduce((m, t) => Math.max(m, t.end), -Infinity);
  // A transaction stuck through the whole window ends after it: overlap, not "ended inside", decides who counts.
  const overlapping = log.filter((t) => t.start <= to && t.end >= from);
  const commits = overlapping.filter((t) => t.ok && t.end <= to).map((t) => t.end).sort((a, b) => a - b);
  const failed = overlapping.filter((t) => !t.ok);
  const errors: Record<string, number> = {};
  for (const f of failed) errors[f.sqlstate ?? '?'] = (errors[f.sqlstate ?? '?'] ?? 0) + 1;
  const latencies = overlapping.map((t) => t.end - t.start).sort((a, b) => a - b);
  const seconds = Math.floor((to - from) / 1000);
  const perSecond = Array.from({ length: seconds }, (_, s) => commits.filter((c) => c >= from + s * 1000 && c < from + (s + 1) * 1000).length);
  return {
    transactions: overlapping.length,
    committed: commits.length,
    failed: failed.length,
    errors,
    firstError: failed[0] ? `${failed[0].sqlstate}: ${failed[0].message}` : undefined,
    maxLatencyMs: round(latencies.at(-1) ?? 0),
    p50LatencyMs: round(quantile(latencies, 0.5)),
    p99LatencyMs: round(quantile(latencies, 0.99)),
    longestGapMs: round(longestGap(commits, from, to)),
    minCommitsPerSecond: perSecond.length ? Math.min(...perSecond) : commits.length,
    commitsPerSecond: round(commits.length / Math.max(0.001, (to - from) / 1000)),
  };
}

function longestGap(sortedCommits: readonly number[], from: number, to: number): number {
  let longest = 0;
  let previous = from;
  for (const c of [...sortedCommits, to]) {
    longest = Math.max(longest, c - previous);
    previous = c;
  }
  return longest;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const round = (n: number) => Math.round(n * 10) / 10;
