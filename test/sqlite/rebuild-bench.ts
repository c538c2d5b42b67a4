import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import type { Step } from '../../src/plan/types.js';
import { openDialect } from '../../src/dialect/open.js';
import { applyManifest, type ApplyOptions } from '../../src/run/apply.js';

/**
 * The SQLite rebuild apply of MeStore with a large orders table, against a
 * VACUUM INTO copy of the same file in the same run: the floor for rewriting
 * it. Shaped like test/bench/run.ts's BenchModule (add `sqliteRebuildBench` to
 * its BENCHES); `npx tsx test/sqlite/rebuild-bench.ts [orders]` runs it alone.
 * Measures only; asserts nothing.
 */
export const sqliteRebuildBench = {
  name: 'sqlite-rebuild',
  description: 'SQLite: MeStore apply (table rebuilds) on a 1M-row orders table vs VACUUM INTO of the same file',
  run: (log: (line: string) => void) => runBench(Number(process.env.SQLITE_BENCH_ORDERS ?? 1_000_000), log),
};

const seedOrders = (n: number) => `
  PRAGMA foreign_keys = OFF;
  WITH RECURSIVE g(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM g WHERE i < ${n + 9})
  INSERT INTO orders (id, order_number, buyer_id, subtotal, tax_amount, shipping_cost, discount_amount, total_amount, status, shipping_name, shipping_phone, created_at)
  SELECT i, 'ORD-' || i, '00000000-0000-4000-8000-00000000000' || (3 + i % 2), 300, 57, 10, 0, 367,
         CASE i % 4 WHEN 0 THEN 'PENDING' WHEN 1 THEN 'PAID' WHEN 2 THEN 'SHIPPED' ELSE 'DELIVERED' END,
         'Buyer ' || i, '+57 300 ' || i, datetime('2024-01-01', '+' || i || ' minutes') FROM g;`;

async function runBench(orders: number, log: (line: string) => void): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'sd-sqlite-bench-'));
  try {
    const path = join(dir, 'mestore.db');
    const seeded = Date.now();
    const db = new Database(path);
    db.exec(baselineSchema('sqlite') + demoRows() + seedOrders(orders));
    db.close();
    log(`seeded ${orders} orders in ${Date.now() - seeded} ms (${mb(path)} MB)`);

    const vacuumed = Date.now();
    const reader = new Database(path, { readonly: true });
    reader.prepare(`VACUUM INTO ?`).run(join(dir, 'copy.db'));
    reader.close();
    const vacuumIntoMs = Date.now() - vacuumed;
    log(`VACUUM INTO: ${vacuumIntoMs} ms`);

    const steps: Array<{ action: string; table: string; ms: number }> = [];
    const dialect = await openDialect(`sqlite:///${path}`);
    const started = Date.now();
    const options = {
      manifestPath: 'manifest/mestore.ts',
      lockTimeoutMs: 25,
      lockRetries: 50,
      retryBudgetMs: 60_000,
      lockWaitMs: 5_000,
      allowNotValid: false,
      backup: process.env.SQLITE_BENCH_BACKUP === '1',
      confirm: async () => true,
      events: { stepFinished: (s: Step, _i: number, _n: number, ms: number) => steps.push({ action: s.action, table: s.table, ms }) },
    };
    await applyManifest(dialect, mestore, options as ApplyOptions);
    const applyMs = Date.now() - started;
    await dialect.close();
    const ordersRebuildMs = steps.find((s) => s.action === 'rebuild_table' && s.table === 'main.orders')?.ms ?? null;
    log(`apply: ${applyMs} ms in all; rebuild of main.orders ${ordersRebuildMs} ms (${((ordersRebuildMs ?? 0) / vacuumIntoMs).toFixed(1)}× VACUUM INTO)`);
    return { orders, fileMb: mb(join(dir, 'copy.db')), vacuumIntoMs, applyMs, ordersRebuildMs, backup: options.backup, steps };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function mb(path: string): number {
  return Math.round(statSync(path).size / 1e5) / 10;
}

if (process.argv[1]?.endsWith('rebuild-bench.ts')) {
  const orders = Number(process.argv[2] ?? 1_000_000);
  runBench(orders, (line) => process.stderr.write(`${line}\n`)).then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'));
}
