import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { baselineSchema } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import type { Dialect, ViolationTarget } from '../../src/dialect/dialect.js';
import { openDialect } from '../../src/dialect/open.js';
import { validateManifest } from '../../src/run/validate.js';
import type { BenchModule } from './run.js';

/**
 * validate on MeStore's two big tables (BENCH_ORDERS orders, three items each;
 * default 1,000,000 and 3,000,000) on the real server, against a plain
 * `SELECT count(*)` of the same tables, and against the naive approach (one
 * count query per constraint, one after the other). Each timing is the median
 * of BENCH_REPEAT runs (default 3) after a warm-up, so all three read cached pages.
 */
const ADMIN_URL = process.env.BENCH_PG_URL ?? process.env.SCHEMA_DIFF_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ORDERS = Number(process.env.BENCH_ORDERS ?? 1_000_000);
const ITEMS_PER_ORDER = 3;
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
const TABLES = ['orders', 'order_items'];
/** Keep the database afterwards, to look at plans by hand. */
const KEEP = process.env.BENCH_KEEP === '1';

export const validateBench: BenchModule = {
  name: 'validate',
  description: `validate vs SELECT count(*) vs one query per constraint, on ${ORDERS.toLocaleString('en-US')} orders and ${(ORDERS * ITEMS_PER_ORDER).toLocaleString('en-US')} order_items`,
  async run(log) {
    const db = await createDatabase();
    let dialect: Dialect | undefined;
    try {
      log(`loading ${db.name} …`);
      const loadMs = await timed(() => load(db.url));
      log(`loaded in ${(loadMs / 1000).toFixed(1)} s`);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      dialect = await openDialect(db.url, { poolSize: 2 });
      const d = dialect;
      try {
        const run = (jobs: number) => validateManifest(d, mestore, { tables: TABLES, samples: 5, jobs });
        const { report, targets } = await run(2); // warm-up: caches, plans, connections
        await countAll(client);
        await naive(client, targets);
        const countMs = await median(() => countAll(client));
        log(`SELECT count(*): ${countMs} ms`);
        const validateMs = await median(() => run(2));
        log(`validate --jobs 2: ${validateMs} ms`);
        const validateSerialMs = await median(() => run(1));
        log(`validate --jobs 1: ${validateSerialMs} ms`);
        const naiveMs = await median(() => naive(client, targets));
        log(`naive, one query per constraint: ${naiveMs} ms`);
        const naiveCounts = await naive(client, targets);
        const agrees = report.constraints.every((c, i) => c.violations === naiveCounts[i]);
        if (!agrees) log('WARNING: the naive counts differ from validate\'s');
        return {
          orders: ORDERS,
          orderItems: ORDERS * ITEMS_PER_ORDER,
          constraints: targets.length,
          violations: report.totals.violations,
          repeat: REPEAT,
          loadMs,
          countMs,
          validateMs,
          validateSerialMs,
          naiveMs,
          validateOverCount: ratio(validateMs, countMs),
          validateSerialOverCount: ratio(validateSerialMs, countMs),
          naiveOverCount: ratio(naiveMs, countMs),
          naiveAgrees: agrees,
        };
      } finally {
        await client.end();
      }
    } finally {
      await dialect?.close();
      if (KEEP) log(`kept ${db.url} (BENCH_KEEP=1)`);
      else await db.drop();
    }
  },
};

/**
 * MeStore's baseline with the ORM's foreign keys dropped (bulk load), a few
 * violations spread through the tables, then VACUUM ANALYZE as a live database would have.
 */
async function load(url: string): Promise<void> {
  const n = ORDERS;
  const sql = `
    ${baselineSchema('postgres')}
    ALTER TABLE products DROP CONSTRAINT products_vendedor_id_fkey;
    ALTER TABLE orders DROP CONSTRAINT orders_buyer_id_fkey;
    ALTER TABLE order_items DROP CONSTRAINT order_items_order_id_fkey;
    ALTER TABLE order_items DROP CONSTRAINT order_items_product_id_fkey;
    INSERT INTO users (id, email, full_name)
      SELECT 'u-' || g, 'user' || g || '@example.com', 'User ' || g FROM generate_series(1, 10000) g;
    INSERT INTO products (id, vendedor_id, sku, name, precio_venta)
      SELECT 'p-' || g, 'u-' || (1 + g % 10000), 'SKU-' || g, 'Product ' || g, 1000 + g FROM generate_series(1, 10000) g;
    INSERT INTO orders (id, order_number, buyer_id, subtotal, tax_amount, shipping_cost, discount_amount, total_amount, status, shipping_name, shipping_phone)
      SELECT g, 'ORD-' || g,
             CASE WHEN g % 250000 = 0 THEN 'ghost-' || g ELSE 'u-' || (1 + g % 10000) END,
             s, round(s * 0.19, 2), 5, 0,
             CASE WHEN g % 100000 = 0 THEN 0 ELSE s + round(s * 0.19, 2) + 5 END,
             'PAID', 'Buyer ' || g, '+57 300 ' || g
        FROM generate_series(1, ${n}) g, LATERAL (SELECT (10 + g % 1000)::numeric(10,2) AS s) x;
    INSERT INTO order_items (id, order_id, product_id, product_name, product_sku, unit_price, quantity, total_price)
      SELECT g, 1 + (g - 1) / ${ITEMS_PER_ORDER},
             CASE WHEN g % 1000000 = 0 THEN 'ghost-' || g ELSE 'p-' || (1 + g % 10000) END,
             'Product ' || g, 'SKU-' || g, p, q, CASE WHEN g % 500000 = 0 THEN 0 ELSE p * q END
        FROM generate_series(1, ${n * ITEMS_PER_ORDER}) g, LATERAL (SELECT (1 + g % 500)::numeric(10,2) AS p, 1 + g % 5 AS q) x;
  `;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
    await c.query('VACUUM ANALYZE');
  } finally {
    await c.end();
  }
}

async function countAll(client: pg.Client): Promise<void> {
  for (const t of TABLES) await client.query(`SELECT count(*) FROM ${t}`);
}

/** What a hand-written validation script does: one query per constraint, in turn. */
async function naive(client: pg.Client, targets: readonly ViolationTarget[]): Promise<number[]> {
  const counts: number[] = [];
  for (const t of targets) {
    let query: string;
    if (t.kind === 'check') query = `SELECT count(*) AS n FROM ${t.table.name} WHERE NOT (${t.expr})`;
    else if (t.kind === 'foreign_key') {
      const join = t.columns.map((c, i) => `p.${t.refColumns[i]} = c.${c}`).join(' AND ');
      query = `SELECT count(*) AS n FROM ${t.table.name} c WHERE ${t.columns.map((c) => `c.${c} IS NOT NULL`).join(' AND ')} AND NOT EXISTS (SELECT 1 FROM ${t.refTable.name} p WHERE ${join})`;
    } else {
      const keys = t.keys.map((k) => ('column' in k ? k.column : `(${k.expr})`)).join(', ');
      query = `SELECT coalesce(sum(n - 1), 0) AS n FROM (SELECT count(*) AS n FROM ${t.table.name}${t.where ? ` WHERE ${t.where}` : ''} GROUP BY ${keys} HAVING count(*) > 1) d`;
    }
    const { rows } = await client.query<{ n: string | number }>(query);
    counts.push(Number(rows[0].n));
  }
  return counts;
}

async function createDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `sd_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (text: string) => {
    const c = new pg.Client({ connectionString: ADMIN_URL });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return Math.round(performance.now() - started);
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEAT; i++) times.push(await timed(fn));
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

const ratio = (a: number, b: number) => Math.round((a / Math.max(b, 1)) * 100) / 100;
