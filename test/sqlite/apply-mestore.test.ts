import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import type { Dialect } from '../../src/dialect/dialect.js';
import { openDialect } from '../../src/dialect/open.js';
import type { Step } from '../../src/plan/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { planHeader, preparePlan } from '../../src/run/prepare.js';
import { verifyManifest } from '../../src/run/verify.js';
import { applyOptions, query, run, schemaTexts, seededFile, tableChecksums } from './helpers.js';

/** The baseline plus what a rebuild must not lose: a trigger, a view, a hand-made index. */
const EXTRAS = `
CREATE TABLE audit (at TEXT DEFAULT CURRENT_TIMESTAMP, what TEXT);
CREATE TRIGGER trg_orders_status AFTER UPDATE OF status ON orders BEGIN INSERT INTO audit (what) VALUES ('order ' || new.id || ' ' || new.status); END;
CREATE VIEW v_order_totals AS SELECT o.id, u.email, o.total_amount FROM orders o JOIN users u ON u.id = o.buyer_id;
CREATE INDEX ix_products_sku ON products (sku);
-- AUTOINCREMENT's high-water mark (4) above the largest id left (3): a naive rebuild would reset it
INSERT INTO orders (id, order_number, buyer_id, subtotal, tax_amount, shipping_cost, discount_amount, total_amount, status, shipping_name, shipping_phone)
  VALUES (4, 'ORD-0004', '00000000-0000-4000-8000-000000000004', 1, 0, 0, 0, 1, 'PENDING', 'Diego', '+57 1');
DELETE FROM orders WHERE id = 4;
`;

const SEQUENCE = `SELECT * FROM sqlite_sequence WHERE name NOT LIKE 'schema_diff_%' ORDER BY name`;

const sqlite3Cli = (() => {
  try {
    execFileSync('sqlite3', ['-version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Both ways SQLite's constraints change: the text edited in sqlite_schema
 * (edit_table, no row rewritten) where the connection may, and the table
 * rebuild where it runs in defensive mode (?defensive=on).
 */
const PATHS = [
  { path: 'edit', query: '', action: 'edit_table', hazard: 'TABLE_SCAN' },
  { path: 'rebuild', query: '?defensive=on', action: 'rebuild_table', hazard: 'TABLE_REBUILD' },
] as const;

describe.each(PATHS)('MeStore SQLite baseline with clean data ($path)', ({ path, query: options, action, hazard }) => {
  const edits = path === 'edit';
  const stepCount = edits ? 19 : 7;
  const file = seededFile(baselineSchema('sqlite') + demoRows() + EXTRAS);
  const pristine = join(file.dir, 'pristine.db');
  copyFileSync(file.path, pristine);
  let dialect: Dialect;
  let before: Record<string, string>;
  let rows: ReturnType<typeof tableChecksums>;
  let sequence: unknown[];
  let planned: readonly Step[];

  beforeAll(async () => {
    before = schemaTexts(file.path);
    rows = tableChecksums(file.path);
    sequence = query(file.path, SEQUENCE);
    expect(sequence).toContainEqual({ name: 'orders', seq: 4 });
    dialect = await openDialect(`sqlite:///${file.path}${options}`);
  });
  afterAll(async () => {
    await dialect?.close();
    file.dispose();
  });

  test('plan: one step per table whose CHECKs or FKs change (a rebuild builds its new indexes in it)', async () => {
    const { plan, diff } = await preparePlan(dialect, mestore, 'manifest/mestore.ts');
    planned = plan.steps;
    if (edits) {
      // no rebuild to fold them into: the indexes are built directly, before the definitions are edited
      expect(plan.steps.map((s) => s.action)).toEqual([...Array(12).fill('create_index'), ...Array(7).fill('edit_table')]);
      expect(plan.steps.find((s) => s.action === 'edit_table' && s.table === 'main.payments')?.reason).toMatch(/no row is rewritten/);
    } else {
      // every table that gets an index also gets CHECKs or FKs: no separate index step
      expect(plan.steps.map((s) => s.action)).toEqual(Array(7).fill('rebuild_table'));
      expect(plan.steps.find((s) => s.table === 'main.payments')?.objects).toEqual(
        expect.arrayContaining(['ix_payments_transaction_id', 'ix_payments_wompi_transaction_id_unique', 'fk_payments_transaction_id']),
      );
      expect(plan.steps[0].reason).toMatch(/not by editing its definition in place: the connection runs in defensive mode/);
    }
    const rebuilds = plan.steps.filter((s) => s.action === action);
    expect(rebuilds.map((s) => s.table).sort()).toEqual(
      ['order_items', 'order_transactions', 'orders', 'payment_methods', 'payments', 'products', 'users'].map((t) => `main.${t}`),
    );
    // the inline unnamed FK is replaced, never kept beside the named one
    expect(diff.changes.filter((c) => c.kind.endsWith('foreign_key')).map((c) => c.kind)).toEqual(Array(7).fill('replace_foreign_key'));
    const covered = new Set(plan.steps.flatMap((s) => s.objects));
    for (const t of Object.values(mestore.tables)) {
      for (const o of [...(t?.checks ?? []), ...(t?.foreignKeys ?? []), ...(t?.indexes ?? [])]) expect(covered).toContain(o.name);
    }
    expect(rebuilds.find((s) => s.table === 'main.orders')?.hazards).toEqual(
      edits ? [hazard, 'CHANGES_DELETE_BEHAVIOUR'] : [hazard, 'INDEX_BUILD', 'CHANGES_DELETE_BEHAVIOUR'],
    );
    expect(rebuilds.find((s) => s.table === 'main.users')?.hazards).toEqual([hazard]);
    for (const s of plan.steps) expect(s.inverse.length).toBeGreaterThan(0);
  });

  test('plan changes nothing in the file', () => {
    expect(schemaTexts(file.path)).toEqual(before);
  });

  test('apply succeeds with a backup, verify is clean, and plan again has zero steps', async () => {
    const notices: string[] = [];
    const result = await applyManifest(dialect, mestore, { ...applyOptions, events: { notice: (m) => notices.push(m) } });
    expect(result.plan.steps.length).toBe(stepCount);
    expect(await verifyManifest(dialect, mestore, 'manifest/mestore.ts')).toEqual([]);
    const again = await preparePlan(dialect, mestore, 'manifest/mestore.ts');
    expect(again.plan.steps).toEqual([]);
    const backups = readdirSync(file.dir).filter((f) => f.includes('.schema-diff-backup-'));
    expect(backups).toHaveLength(1);
    expect(notices.join('\n')).toContain(backups[0]);
    expect(schemaTexts(join(file.dir, backups[0]))).toEqual(before);
  });

  test('PRAGMA foreign_key_list shows the new actions', () => {
    const fks = (t: string) => query<{ table: string; from: string; on_delete: string }>(file.path, `SELECT "table", "from", on_delete FROM pragma_foreign_key_list(?)`, t);
    expect(fks('orders')).toEqual([{ table: 'users', from: 'buyer_id', on_delete: 'RESTRICT' }]);
    expect(fks('payment_methods')).toEqual([{ table: 'users', from: 'buyer_id', on_delete: 'CASCADE' }]);
    expect(fks('order_transactions').sort((a, b) => a.from.localeCompare(b.from))).toEqual([
      { table: 'orders', from: 'order_id', on_delete: 'CASCADE' },
      { table: 'payment_methods', from: 'payment_method_id', on_delete: 'SET NULL' },
    ]);
    expect(query(file.path, `SELECT sql FROM sqlite_schema WHERE name = 'orders'`)[0].sql).not.toMatch(/buyer_id\s+VARCHAR\(36\) NOT NULL REFERENCES/);
  });

  test('every table keeps its rows, AUTOINCREMENT counters, indexes, triggers and views', () => {
    expect(tableChecksums(file.path)).toEqual(rows);
    expect(query(file.path, SEQUENCE)).toEqual(sequence);
    const after = schemaTexts(file.path);
    for (const key of Object.keys(before).filter((k) => !k.startsWith('table '))) expect(after[key]).toBe(before[key]);
    expect(query(file.path, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    expect(query(file.path, 'PRAGMA foreign_key_check')).toEqual([]);
    expect(query(file.path, 'SELECT count(*) AS n FROM v_order_totals')).toEqual([{ n: 3 }]);
  });

  test('the rules hold: a violating row is rejected by SQLite', () => {
    expect(() => run(file.path, `UPDATE orders SET total_amount = -1 WHERE id = 1`)).toThrow(/ck_order_total_positive|ck_order_total_calculation/);
  });

  test('the journal holds every step with its inverse and the definition it left', async () => {
    const history = await dialect.history();
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ kind: 'apply', status: 'done' });
    expect(history[0].steps).toHaveLength(stepCount);
    const orders = history[0].steps.find((s) => s.table === 'main.orders' && s.action === action);
    expect(orders?.after).toBe(query<{ sql: string }>(file.path, `SELECT sql FROM sqlite_schema WHERE name = 'orders'`)[0].sql);
  });

  test('running the inverses through execute returns sqlite_schema to exactly its text before apply', async () => {
    const applied = (await dialect.history())[0];
    const undo: Step[] = [...applied.steps].reverse().map((h, i) => ({
      ...planned.find((p) => p.id === h.seq)!,
      id: i + 1,
      sql: h.inverse,
      inverse: h.sql,
    }));
    const runId = await dialect.startRun('rollback', 'manifest/mestore.ts', 'test');
    const undoes = new Map(undo.map((s, i) => [s.id, [{ runId: applied.id, seq: applied.steps[applied.steps.length - 1 - i].seq }]]));
    await dialect.execute(undo, { runId, undoes }, applyOptions);
    await dialect.finishRun(runId, 'done');
    expect(schemaTexts(file.path)).toEqual(before);
    expect(tableChecksums(file.path)).toEqual(rows);
    expect(query(file.path, SEQUENCE)).toEqual(sequence);
    const journal = await dialect.history();
    expect(journal[0].steps.every((s) => s.undoneBy === runId)).toBe(true);
  });

  (sqlite3Cli ? test : test.skip)('`sqlite3 file.db < plan.sql` reaches the same end state as apply, and the inverse script undoes it', async () => {
    const scripted = join(file.dir, 'scripted.db');
    copyFileSync(pristine, scripted);
    const viaScript = await openDialect(`sqlite:///${scripted}${options}`);
    try {
      const { plan } = await preparePlan(viaScript, mestore, 'manifest/mestore.ts');
      const forward = viaScript.script(plan.steps, 'forward', planHeader(plan, 'forward'));
      const inverse = viaScript.script(plan.steps, 'inverse', planHeader(plan, 'inverse'));
      execFileSync('sqlite3', [scripted], { input: forward, stdio: ['pipe', 'pipe', 'pipe'] });
      const applied = seededFile('');
      copyFileSync(pristine, applied.path);
      const viaApply = await openDialect(`sqlite:///${applied.path}${options}`);
      await applyManifest(viaApply, mestore, { ...applyOptions, backup: false } as typeof applyOptions);
      await viaApply.close();
      expect(schemaTexts(scripted)).toEqual(schemaTexts(applied.path));
      expect(tableChecksums(scripted)).toEqual(rows);
      applied.dispose();
      execFileSync('sqlite3', [scripted], { input: inverse, stdio: ['pipe', 'pipe', 'pipe'] });
      expect(schemaTexts(scripted)).toEqual(before);
      expect(existsSync(scripted)).toBe(true);
    } finally {
      await viaScript.close();
    }
  });
});
