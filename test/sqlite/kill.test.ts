import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { openDialect } from '../../src/dialect/open.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { verifyManifest } from '../../src/run/verify.js';
import { applyOptions, query, schemaTexts, seededFile } from './helpers.js';

const ORDERS = 300_000;
const BIG_ORDERS = `PRAGMA foreign_keys = OFF;
  WITH RECURSIVE n(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM n WHERE i < ${ORDERS + 9})
  INSERT INTO orders (id, order_number, buyer_id, subtotal, tax_amount, shipping_cost, discount_amount, total_amount, status, shipping_name, shipping_phone, created_at)
  SELECT i, 'ORD-' || i, '00000000-0000-4000-8000-00000000000' || (3 + i % 2), 100, 19, 5, 0, 124, 'PAID', 'Carla', '+57 3', '2024-01-01' FROM n;`;

const summary = (path: string) =>
  query(path, `SELECT count(*) AS n, sum(id) AS ids, total(total_amount) AS money, sum(length(order_number)) AS chars FROM orders`)[0];

/** Starts the apply in a child process and kills it -9 as soon as it prints `marker` (the start of a long scan of main.orders). */
function killAt(path: string, options: string, marker: string, touch: boolean): Promise<{ lines: string[]; signal: NodeJS.Signals | null }> {
  const args = [fileURLToPath(new URL('./fixtures/apply-child.ts', import.meta.url)), path, options, ...(touch ? ['touch'] : [])];
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: string[] = [];
  let buffer = '';
  child.stderr.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (line.startsWith(marker)) child.kill('SIGKILL');
    }
  });
  return new Promise((resolve) => child.on('exit', (_code, signal) => resolve({ lines, signal })));
}

// Both paths: the rebuild killed while it copies the rows, the in-place edit killed while its scan reads them
// (sqlite_schema already edited in the open transaction). The edit scans the rows only when they may have changed
// since apply's check of them (row-proof.ts): the child has another connection commit a write in between.
describe.each([
  { path: 'rebuild', options: '?defensive=on', marker: 'PROGRESS main.orders copying the rows of main.orders', action: 'rebuild_table', steps: 7, touch: false },
  { path: 'edit', options: '', marker: 'PROGRESS main.orders checking every row of main.orders against its new CHECKs', action: 'edit_table', steps: 19, touch: true },
])('kill -9 during the $path of a large table', ({ options, marker, action, steps, touch }) => {
  test(`${ORDERS} orders: the file stays at its old state, integrity_check is ok, the next apply converges`, async () => {
    const file = seededFile(baselineSchema('sqlite') + demoRows() + BIG_ORDERS);
    try {
      const before = schemaTexts(file.path);
      const rows = summary(file.path);
      const { lines, signal } = await killAt(file.path, options, marker, touch);
      expect(signal).toBe('SIGKILL');
      expect(lines).toContain(marker);
      expect(lines.some((l) => l.includes('copied') || l === 'DONE')).toBe(false);
      expect(lines.filter((l) => l.startsWith(`STEP ${action} main.orders`))).toEqual([`STEP ${action} main.orders`]);

      expect(query(file.path, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      expect(schemaTexts(file.path)).toEqual(before);
      expect(summary(file.path)).toEqual(rows);

      const dialect = await openDialect(`sqlite:///${file.path}${options}`);
      try {
        expect(await dialect.history()).toEqual([]);
        const result = await applyManifest(dialect, mestore, { ...applyOptions, backup: false } as typeof applyOptions);
        expect(result.plan.steps).toHaveLength(steps);
        expect(await verifyManifest(dialect, mestore, 'm')).toEqual([]);
        expect((await preparePlan(dialect, mestore, 'm')).plan.steps).toEqual([]);
        expect(summary(file.path)).toEqual(rows);
      } finally {
        await dialect.close();
      }
    } finally {
      file.dispose();
    }
  }, 120_000);
});
