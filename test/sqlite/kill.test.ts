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

/** Starts the apply in a child process and kills it -9 as soon as it starts copying main.orders. */
function killDuringCopy(path: string): Promise<{ lines: string[]; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/apply-child.ts', import.meta.url)), path], {
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
      if (line.startsWith('PROGRESS main.orders copying')) child.kill('SIGKILL');
    }
  });
  return new Promise((resolve) => child.on('exit', (_code, signal) => resolve({ lines, signal })));
}

describe('kill -9 during the copy of a large table', () => {
  test(`${ORDERS} orders: the file stays at its old state, integrity_check is ok, the next apply converges`, async () => {
    const file = seededFile(baselineSchema('sqlite') + demoRows() + BIG_ORDERS);
    try {
      const before = schemaTexts(file.path);
      const rows = summary(file.path);
      const { lines, signal } = await killDuringCopy(file.path);
      expect(signal).toBe('SIGKILL');
      expect(lines).toContain('PROGRESS main.orders copying the rows of main.orders');
      expect(lines.some((l) => l.includes('copied'))).toBe(false);
      expect(lines.filter((l) => l.startsWith('STEP rebuild_table'))).toEqual(['STEP rebuild_table main.orders']);

      expect(query(file.path, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      expect(schemaTexts(file.path)).toEqual(before);
      expect(summary(file.path)).toEqual(rows);

      const dialect = await openDialect(`sqlite:///${file.path}`);
      try {
        expect(await dialect.history()).toEqual([]);
        const result = await applyManifest(dialect, mestore, { ...applyOptions, backup: false } as typeof applyOptions);
        expect(result.plan.steps).toHaveLength(7);
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
