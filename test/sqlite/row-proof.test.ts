import Database from 'better-sqlite3';
import { openDialect } from '../../src/dialect/open.js';
import { rowProofOf, sameOnAnyConnection, scanProven } from '../../src/dialect/sqlite/row-proof.js';
import { rowCheckStatement } from '../../src/dialect/sqlite/schema-edit.js';
import type { Dialect, ViolationCount, ViolationTarget } from '../../src/dialect/dialect.js';
import type { Step } from '../../src/plan/types.js';
import { applyManifest, type ApplyOptions } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { applyOptions, manifestOf, query, seededFile } from './helpers.js';

const SEED = `
  CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL NOT NULL, status TEXT NOT NULL);
  INSERT INTO orders VALUES (1, 10, 'PAID'), (2, 0, 'PENDING'), (3, 5.5, 'PAID');`;

const MANIFEST = manifestOf({
  orders: {
    checks: [
      { name: 'ck_orders_total', expr: 'total >= 0' },
      { name: 'ck_orders_status', expr: "status IN ('PENDING', 'PAID')" },
    ],
  },
});

/** apply with the edit step's progress lines recorded, and `between` run after the check of existing rows, before any step. */
async function applyRecorded(path: string, between: (dialect: Dialect) => void | Promise<void> = () => {}) {
  const progress: string[] = [];
  const dialect = await openDialect(`sqlite:///${path}`);
  try {
    const options: ApplyOptions = {
      ...applyOptions,
      backup: false,
      confirm: async () => {
        await between(dialect);
        return true;
      },
      events: { progress: (_step, message) => void progress.push(message) },
    };
    const result = await applyManifest(dialect, MANIFEST, options).then(
      (r) => ({ ok: true as const, steps: r.plan.steps.map((s) => s.action) }),
      (e: unknown) => ({ ok: false as const, error: (e as Error).message }),
    );
    return { result, progress, after: (await preparePlan(dialect, MANIFEST, 'm')).plan.steps.length };
  } finally {
    await dialect.close();
  }
}

const scannedAgain = (progress: readonly string[]) => progress.some((m) => m.startsWith('checking every row of main.orders'));
const skipped = (progress: readonly string[]) => progress.some((m) => m.includes('not scanned again'));

describe('SQLite edit step: the rows apply has just checked are not scanned again, unless they may have changed', () => {
  test('nothing written since the check: the edit skips its scan, and the CHECKs are in place', async () => {
    const file = seededFile(SEED);
    try {
      const { result, progress, after } = await applyRecorded(file.path);
      expect(result).toEqual({ ok: true, steps: ['edit_table'] });
      expect(skipped(progress)).toBe(true);
      expect(scannedAgain(progress)).toBe(false);
      expect(after).toBe(0);
      expect(query<{ sql: string }>(file.path, `SELECT sql FROM sqlite_schema WHERE name = 'orders'`)[0].sql).toContain('ck_orders_total');
    } finally {
      file.dispose();
    }
  });

  test('a row written by another connection after the check: the edit scans again, finds it, and nothing changes', async () => {
    const file = seededFile(SEED);
    try {
      const before = query<{ sql: string }>(file.path, `SELECT sql FROM sqlite_schema WHERE name = 'orders'`)[0].sql;
      const { result, progress } = await applyRecorded(file.path, () => {
        const other = new Database(file.path);
        other.prepare(`INSERT INTO orders VALUES (4, -1, 'PAID')`).run();
        other.close();
      });
      expect(result.ok).toBe(false);
      expect(result.ok ? '' : result.error).toMatch(/every row of main\.orders satisfies its new CHECKs/);
      expect(skipped(progress)).toBe(false);
      expect(scannedAgain(progress)).toBe(true);
      expect(query<{ sql: string }>(file.path, `SELECT sql FROM sqlite_schema WHERE name = 'orders'`)[0].sql).toBe(before);
      expect(query<{ n: number }>(file.path, 'SELECT count(*) AS n FROM orders WHERE total < 0')[0].n).toBe(1);
    } finally {
      file.dispose();
    }
  });

  test('a write that breaks nothing still makes the edit scan again (any commit of another connection counts)', async () => {
    const file = seededFile(SEED);
    try {
      const { result, progress } = await applyRecorded(file.path, () => {
        const other = new Database(file.path);
        other.prepare(`UPDATE orders SET total = 11 WHERE id = 1`).run();
        other.close();
      });
      expect(result).toEqual({ ok: true, steps: ['edit_table'] });
      expect(skipped(progress)).toBe(false);
      expect(scannedAgain(progress)).toBe(true);
    } finally {
      file.dispose();
    }
  });
});

test('a row written through apply\'s own connection after the check (which data_version does not count): scanned again, and found', async () => {
  const file = seededFile(SEED);
  try {
    const { result, progress } = await applyRecorded(file.path, (dialect) => dialect.exec(`INSERT INTO orders VALUES (5, -2, 'PAID')`));
    expect(result.ok ? '' : result.error).toMatch(/every row of main\.orders satisfies its new CHECKs/);
    expect(skipped(progress)).toBe(false);
  } finally {
    file.dispose();
  }
});

describe('row proof (pure): what a count proves, and which scan it stands for', () => {
  const table = { schema: 'main', name: 'orders' };
  const target = (name: string, expr: string): ViolationTarget => ({ kind: 'check', name, table, expr, severity: 'critical' }) as unknown as ViolationTarget;
  const count = (name: string, violations: number, error?: string): ViolationCount => ({ name, table, kind: 'check', violations, sample: [], ...(error ? { error } : {}) }) as unknown as ViolationCount;
  const before = 'CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)';
  const after = 'CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL, CONSTRAINT ck CHECK (total >= 0))';
  const step = { id: 1, action: 'edit_table', table: 'main.orders', name: 'orders', sql: [], before, after, origin: { kind: 'edit', back: { table } } } as unknown as Step;
  const scan = rowCheckStatement(table, ['total >= 0']);
  const V7 = { data: 7, ownChanges: 0, schema: 3 };

  test('only CHECKs counted over every row with no violation and no error are proven', () => {
    const targets = [target('a', 'total >= 0'), target('b', 'total < 100'), target('c', 'x > 0')];
    const proof = rowProofOf(V7, targets, [count('a', 0), count('b', 2), count('c', 0, 'no such column: x')], {});
    expect([...(proof?.checks.get(JSON.stringify(['main', 'orders'])) ?? [])]).toEqual(['total >= 0']);
    expect(rowProofOf(V7, targets, [count('a', 0), count('b', 0), count('c', 0)], { since: { column: 'id', from: '1' } } as never)).toBeNull();
  });

  test('a CHECK whose calls may answer otherwise on another connection is never proven', () => {
    for (const expr of ["ABS(total_amount - (subtotal + tax_amount)) <= 0.01", 'LENGTH(TRIM(name)) > 0', "status IN ('PAID', 'PENDING')", 'NOT (a > 0) OR b IS NULL', "code LIKE 'A%'"]) {
      expect([expr, sameOnAnyConnection(expr)]).toEqual([expr, true]);
    }
    for (const expr of ['random() > 0', "created_at <= datetime('now')", 'CURRENT_TIMESTAMP > created_at', 'total_changes() < 1', 'my_function(a) > 0', '"abs"(a) > 0', "a REGEXP '^x'"]) {
      expect([expr, sameOnAnyConnection(expr)]).toEqual([expr, false]);
    }
    const proof = rowProofOf(V7, [target('a', 'total >= 0'), target('r', 'random() > 0')], [count('a', 0), count('r', 0)], {});
    expect([...(proof?.checks.get(JSON.stringify(['main', 'orders'])) ?? [])]).toEqual(['total >= 0']);
  });

  test('the scan is skipped only for exactly its own statement, on an unchanged file, with no earlier step on the table but index steps', () => {
    const proof = rowProofOf(V7, [target('a', 'total >= 0')], [count('a', 0)], {});
    expect(scanProven(step, scan, [], proof, V7)).toBe(true);
    expect(scanProven(step, scan, [], proof, { ...V7, data: 8 })).toBe(false);
    expect(scanProven(step, scan, [], proof, { ...V7, ownChanges: 1 })).toBe(false);
    expect(scanProven(step, scan, [], proof, { ...V7, schema: 4 })).toBe(false);
    expect(scanProven(step, scan + ' ', [], proof, V7)).toBe(false);
    expect(scanProven(step, rowCheckStatement({ schema: 'main', name: 'other' }, ['total >= 0']), [], proof, V7)).toBe(false);
    expect(scanProven(step, scan, [{ ...step, action: 'create_index' } as Step], proof, V7)).toBe(true);
    expect(scanProven(step, scan, [{ ...step, action: 'rebuild_table' } as Step], proof, V7)).toBe(false);
    expect(scanProven(step, scan, [{ ...step, table: 'main.other', action: 'rebuild_table' } as Step], proof, V7)).toBe(true);
    expect(scanProven({ ...step, origin: { kind: 'edit', back: { table: { schema: 'main', name: 'other' } } } } as Step, scan, [], proof, V7)).toBe(false);
    expect(scanProven(step, scan, [], rowProofOf(V7, [target('a', 'total >= 0')], [count('a', 1)], {}), V7)).toBe(false);
    expect(scanProven(step, scan, [], null, V7)).toBe(false);
  });
});
