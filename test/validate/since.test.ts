import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineManifest } from '../../src/manifest/define.js';
import { validateManifest } from '../../src/run/validate.js';
import { runCli } from '../cli/run-cli.js';
import { describeEachDatabase } from '../helpers/each.js';
import type { TestTarget } from '../helpers/targets.js';

const SEED = `
CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL, created_at TIMESTAMP NOT NULL);
INSERT INTO orders VALUES (1, -1, '2024-01-01 00:00:00'), (2, -2, '2025-10-02 00:00:00'), (3, 5, '2025-10-03 00:00:00');
CREATE TABLE items (id INTEGER PRIMARY KEY, order_id INTEGER, sku VARCHAR(10), created_at TIMESTAMP NOT NULL);
INSERT INTO items VALUES (1, 99, 'a', '2024-01-01 00:00:00'), (2, 98, 'a', '2025-10-02 00:00:00'), (3, 1, 'b', '2025-10-02 00:00:00'), (4, 1, 'b', '2025-10-03 00:00:00');
`;

const manifest = defineManifest({
  tables: {
    orders: { checks: [{ name: 'ck_total_positive', expr: 'total > 0' }] },
    items: {
      foreignKeys: [{ name: 'fk_items_order', columns: ['order_id'], references: { table: 'orders', columns: ['id'] } }],
      indexes: [{ name: 'ix_items_sku', columns: ['sku'], unique: true }],
    },
  },
});

describeEachDatabase(['postgres', 'pglite', 'sqlite'], 'validate --since', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(SEED);
  });
  afterAll(async () => target?.dispose());

  const counts = async (since?: { column: string; from: string }) => {
    const { report } = await validateManifest(target.dialect, manifest, { samples: 5, jobs: 1, ...(since ? { since } : {}) });
    return Object.fromEntries(report.constraints.map((c) => [c.name, { violations: c.violations, rows: c.rows, ids: c.sample.map((r) => Number(r.id)) }]));
  };

  test('every row without it; only the rows from the moment on with it, for every kind of rule', async () => {
    expect(await counts()).toEqual({
      ck_total_positive: { violations: 2, rows: 3, ids: [1, 2] },
      fk_items_order: { violations: 2, rows: 4, ids: [1, 2] },
      ix_items_sku: { violations: 2, rows: 4, ids: [1, 2, 3, 4] },
    });
    expect(await counts({ column: 'created_at', from: '2025-10-01' })).toEqual({
      ck_total_positive: { violations: 1, rows: 2, ids: [2] },
      fk_items_order: { violations: 1, rows: 3, ids: [2] },
      // duplicates among the recent rows: 'a' has one recent row only
      ix_items_sku: { violations: 1, rows: 3, ids: [3, 4] },
    });
  });

  test('the column must be one the catalog lists; the moment must read as one; neither reaches SQL otherwise', async () => {
    await expect(counts({ column: 'created_at" OR 1=1 --', from: '2025-10-01' })).rejects.toThrow(/--column created_at" OR 1=1 --: table \S+orders has no such column/);
    await expect(counts({ column: 'creatd_at', from: '2025-10-01' })).rejects.toThrow(/did you mean created_at/);
    await expect(counts({ column: 'created_at', from: "2025-10-01'; DROP TABLE orders; --" })).rejects.toThrow(/not a date or timestamp/);
    expect((await counts()).ck_total_positive.rows).toBe(3);
  });
});

describeEachDatabase(['sqlite'], 'validate --since on the command line', (make) => {
  test('--since with --column, exit codes as without', async () => {
    const target = await make(SEED);
    const dir = mkdtempSync(join(tmpdir(), 'sd-since-'));
    try {
      writeFileSync(join(dir, 'm.json'), JSON.stringify(manifest));
      const args = ['validate', '-m', join(dir, 'm.json'), '-d', target.url, '--format', 'json', '--table', 'orders'];
      const recent = await runCli([...args, '--since', '2025-10-01', '--column', 'created_at']);
      expect(recent.code).toBe(2);
      expect((JSON.parse(recent.stdout) as { totals: { violations: number } }).totals.violations).toBe(1);
      const none = await runCli([...args, '--since', '2025-10-03']);
      expect(none.code).toBe(0);
      const lone = await runCli([...args, '--column', 'created_at']);
      expect(lone.code).toBe(1);
      expect(lone.stderr).toContain('--column goes with --since');
    } finally {
      await target.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
