import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import type { Step } from '../../src/plan/types.js';
import { openDialect } from '../../src/dialect/open.js';
import { applyManifest, type ApplyOptions } from '../../src/run/apply.js';
import { SQLITE_ORDERS } from '../bench/scale.js';

/**
 * SQLite: MeStore's apply on a large orders table (its 8 CHECKs and the FK
 * action change are most of the work), both ways, each on its own copy of one
 * seeded file, against a VACUUM INTO copy of the same file in the same run
 * (the floor for rewriting it):
 *   edit:    the definitions edited in sqlite_schema (no row rewritten; quick_check reads them);
 *   rebuild: the 12-step table rebuild (what a connection in defensive mode gets).
 * Shaped like test/bench/run.ts's BenchModule; `npx tsx test/sqlite/rebuild-bench.ts [orders]`
 * runs it alone. Measures only; asserts nothing.
 */
export const sqliteRebuildBench = {
  name: 'sqlite-rebuild',
  description: `SQLite: MeStore apply with ${SQLITE_ORDERS.toLocaleString('en-US')} orders, definitions edited in place vs table rebuild vs VACUUM INTO of the same file`,
  run: (log: (line: string) => void) => runBench(SQLITE_ORDERS, log),
};

const seedOrders = (n: number) => `
  PRAGMA foreign_keys = OFF;
  WITH RECURSIVE g(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM g WHERE i < ${n + 9})
  INSERT INTO orders (id, order_number, buyer_id, subtotal, tax_amount, shipping_cost, discount_amount, total_amount, status, shipping_name, shipping_phone, created_at)
  SELECT i, 'ORD-' || i, '00000000-0000-4000-8000-00000000000' || (3 + i % 2), 300, 57, 10, 0, 367,
         CASE i % 4 WHEN 0 THEN 'PENDING' WHEN 1 THEN 'PAID' WHEN 2 THEN 'SHIPPED' ELSE 'DELIVERED' END,
         'Buyer ' || i, '+57 300 ' || i, datetime('2024-01-01', '+' || i || ' minutes') FROM g;`;

type PathResult = { applyMs: number; ordersStepMs: number | null; ordersStep: string | undefined; steps: Array<{ action: string; table: string; ms: number }> };

/** Just what the issue measures: orders' 8 CHECKs and its foreign key's new action. */
const ORDERS_ONLY: LoadedManifest = {
  ...mestore,
  tables: { orders: { ...mestore.tables.orders, indexes: [] } },
};

async function applyOn(path: string, options: string, backup: boolean, manifest: LoadedManifest = mestore): Promise<PathResult> {
  const steps: PathResult['steps'] = [];
  const dialect = await openDialect(`sqlite:///${path}${options}`);
  const started = Date.now();
  try {
    const apply = {
      manifestPath: 'manifest/mestore.ts',
      lockTimeoutMs: 25,
      lockRetries: 50,
      retryBudgetMs: 60_000,
      lockWaitMs: 5_000,
      allowNotValid: false,
      backup,
      confirm: async () => true,
      events: { stepFinished: (s: Step, _i: number, _n: number, ms: number) => steps.push({ action: s.action, table: s.table, ms }) },
    };
    await applyManifest(dialect, manifest, apply as ApplyOptions);
  } finally {
    await dialect.close();
  }
  const orders = steps.find((s) => s.table === 'main.orders' && (s.action === 'rebuild_table' || s.action === 'edit_table'));
  return { applyMs: Date.now() - started, ordersStepMs: orders?.ms ?? null, ordersStep: orders?.action, steps };
}

async function runBench(orders: number, log: (line: string) => void): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'sd-sqlite-bench-'));
  try {
    const path = join(dir, 'mestore.db');
    const seeded = Date.now();
    const db = new Database(path);
    db.exec(baselineSchema('sqlite') + demoRows() + seedOrders(orders));
    db.close();
    log(`seeded ${orders} orders in ${Date.now() - seeded} ms (${mb(path)} MB)`);
    for (const name of ['edit.db', 'rebuild.db', 'orders-edit.db', 'orders-rebuild.db']) copyFileSync(path, join(dir, name));

    const vacuumed = Date.now();
    const reader = new Database(path, { readonly: true });
    reader.prepare(`VACUUM INTO ?`).run(join(dir, 'copy.db'));
    reader.close();
    const vacuumIntoMs = Date.now() - vacuumed;
    log(`VACUUM INTO: ${vacuumIntoMs} ms`);

    const backup = process.env.SQLITE_BENCH_BACKUP === '1';
    const x = (ms: number | null) => Math.round(((ms ?? 0) / Math.max(1, vacuumIntoMs)) * 100) / 100;
    const ordersEdit = await applyOn(join(dir, 'orders-edit.db'), '', backup, ORDERS_ONLY);
    const ordersRebuild = await applyOn(join(dir, 'orders-rebuild.db'), '?defensive=on', backup, ORDERS_ONLY);
    log(`orders' CHECKs + FK action: apply ${ordersEdit.applyMs} ms edited in place (step ${ordersEdit.ordersStepMs} ms), ${ordersRebuild.applyMs} ms rebuilt (step ${ordersRebuild.ordersStepMs} ms)`);
    const edit = await applyOn(join(dir, 'edit.db'), '', backup);
    log(`edit in place: apply ${edit.applyMs} ms; main.orders ${edit.ordersStep} ${edit.ordersStepMs} ms`);
    const rebuild = await applyOn(join(dir, 'rebuild.db'), '?defensive=on', backup);
    log(`rebuild: apply ${rebuild.applyMs} ms; main.orders ${rebuild.ordersStep} ${rebuild.ordersStepMs} ms`);
    return {
      orders,
      fileMb: mb(join(dir, 'copy.db')),
      backup,
      vacuumIntoMs,
      ordersOnly: {
        editApplyMs: ordersEdit.applyMs,
        editStepMs: ordersEdit.ordersStepMs,
        rebuildApplyMs: ordersRebuild.applyMs,
        rebuildStepMs: ordersRebuild.ordersStepMs,
        editApplyOverVacuumInto: x(ordersEdit.applyMs),
        editStepOverVacuumInto: x(ordersEdit.ordersStepMs),
        rebuildApplyOverVacuumInto: x(ordersRebuild.applyMs),
      },
      editApplyMs: edit.applyMs,
      editOrdersStepMs: edit.ordersStepMs,
      rebuildApplyMs: rebuild.applyMs,
      rebuildOrdersStepMs: rebuild.ordersStepMs,
      editApplyOverVacuumInto: x(edit.applyMs),
      rebuildApplyOverVacuumInto: x(rebuild.applyMs),
      editSteps: edit.steps,
      rebuildSteps: rebuild.steps,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function mb(path: string): number {
  return Math.round(statSync(path).size / 1e5) / 10;
}

if (process.argv[1]?.endsWith('rebuild-bench.ts')) {
  const orders = Number(process.argv[2] ?? SQLITE_ORDERS);
  runBench(orders, (line) => process.stderr.write(`${line}\n`)).then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'));
}
