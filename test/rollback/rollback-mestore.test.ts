import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { rollback } from '../../src/run/rollback.js';
import { verifyManifest } from '../../src/run/verify.js';
import { describeEachDatabase } from '../helpers/each.js';
import type { TestTarget } from '../helpers/targets.js';
import { applyOptions, catalogDump, mestoreSubset, rollbackOptions, rowDigest, targetsFor } from './helpers.js';

const seed = baselineSchema('postgres') + demoRows();

/** The objects a plan would (re)create, VALIDATE steps aside: what `plan` says must be re-applied. */
async function planObjects(target: TestTarget, manifest = mestore): Promise<string[]> {
  const { plan } = await preparePlan(target.dialect, manifest, 'manifest/mestore.ts');
  return [...new Set(plan.steps.filter((s) => s.action !== 'validate_constraint').flatMap((s) => s.objects))].sort();
}

async function ordersForeignKeys(target: TestTarget) {
  return target.sql(`
    select conname, confdeltype, convalidated from pg_constraint
     where conrelid = 'public.orders'::regclass and contype = 'f' order by conname`);
}

describeEachDatabase(['postgres', 'pglite'], 'rollback of MeStore', (make, kind) => {
  const targets = targetsFor(make, kind);
  afterAll(() => targets.disposeAll());

  describe('single objects first, then the rest of the apply', () => {
    let t: TestTarget;
    let before: string[];
    let rows: Record<string, string>;
    let firstPlan: Awaited<ReturnType<typeof preparePlan>>['plan'];
    beforeAll(async () => {
      t = await targets.fresh(seed);
      before = await catalogDump(t);
      rows = await rowDigest(t);
      firstPlan = (await preparePlan(t.dialect, mestore, 'manifest/mestore.ts')).plan;
      await applyManifest(t.dialect, mestore, applyOptions);
    });

    test('rollback --constraint ck_order_total_positive removes only that CHECK; plan shows exactly it', async () => {
      const applied = await catalogDump(t);
      const result = await rollback(t.dialect, rollbackOptions({ kind: 'objects', names: ['ck_order_total_positive'] }));
      expect(result.runId).not.toBeNull();
      expect(result.plan.steps.map((s) => `${s.action} ${s.name}`)).toEqual(['add_check ck_order_total_positive']);
      expect(await catalogDump(t)).toEqual(applied.filter((l) => !l.includes('ck_order_total_positive')));
      expect(await planObjects(t)).toEqual(['ck_order_total_positive']);
    });

    test('a second rollback of the same object says there is nothing to undo, and records nothing', async () => {
      const runs = (await t.dialect.history()).length;
      const result = await rollback(t.dialect, rollbackOptions({ kind: 'objects', names: ['ck_order_total_positive'] }));
      expect(result.runId).toBeNull();
      expect(result.plan.notes).toEqual([expect.stringMatching(/^nothing to undo for ck_order_total_positive: already rolled back \(run \d+\)$/)]);
      expect((await t.dialect.history()).length).toBe(runs);
    });

    test('rollback --constraint fk_orders_buyer_id restores orders_buyer_id_fkey with no action, validated', async () => {
      const result = await rollback(t.dialect, rollbackOptions({ kind: 'objects', names: ['fk_orders_buyer_id'] }));
      expect(result.plan.objects).toEqual(['fk_orders_buyer_id', 'orders_buyer_id_fkey']);
      expect(await ordersForeignKeys(t)).toEqual([{ conname: 'orders_buyer_id_fkey', confdeltype: 'a', convalidated: true }]);
      // the other replaced foreign keys stay as applied
      const items = await t.sql(`select conname, confdeltype from pg_constraint where conrelid = 'public.order_items'::regclass and contype = 'f' order by 1`);
      expect(items).toEqual([
        { conname: 'fk_order_items_product_id', confdeltype: 'r' },
        { conname: 'order_items_order_id_fkey', confdeltype: 'a' },
      ]);
      expect(await planObjects(t)).toEqual(['ck_order_total_positive', 'fk_orders_buyer_id', 'orders_buyer_id_fkey']);
    });

    test('the old name finds the same step: nothing left to undo for orders_buyer_id_fkey', async () => {
      const result = await rollback(t.dialect, rollbackOptions({ kind: 'objects', names: ['orders_buyer_id_fkey'] }));
      expect(result.runId).toBeNull();
      expect(result.plan.notes[0]).toMatch(/^nothing to undo for orders_buyer_id_fkey: already rolled back/);
    });

    test('a plain rollback undoes the rest, nothing twice: catalog exactly as before, rows untouched, plan as at first', async () => {
      const result = await rollback(t.dialect, rollbackOptions({ kind: 'last' }));
      const undoable = firstPlan.steps.filter((s) => s.inverse.length > 0).length;
      expect(result.plan.steps).toHaveLength(undoable - 2);
      expect(await catalogDump(t)).toEqual(before);
      expect(await rowDigest(t)).toEqual(rows);
      const after = await preparePlan(t.dialect, mestore, 'manifest/mestore.ts');
      expect(after.plan.steps).toEqual(firstPlan.steps);

      const history = await t.dialect.history();
      const [apply, ...rollbacks] = history;
      expect(apply.steps.every((s) => s.undoneBy !== null)).toBe(true);
      expect(rollbacks.map((r) => [r.kind, r.status])).toEqual([
        ['rollback', 'done'],
        ['rollback', 'done'],
        ['rollback', 'done'],
      ]);
      // each applied step undone by exactly one executed undo step
      expect(rollbacks.reduce((n, r) => n + r.steps.length, 0)).toBe(undoable);
    });

    test('rollback twice in a row: the second has nothing to undo', async () => {
      const result = await rollback(t.dialect, rollbackOptions({ kind: 'last' }));
      expect(result.runId).toBeNull();
      expect(result.plan.notes).toEqual(['nothing to undo: every apply (1) is already rolled back']);
    });

    test('the rolled-back manifest applies again and converges', async () => {
      await applyManifest(t.dialect, mestore, applyOptions);
      expect(await verifyManifest(t.dialect, mestore, 'x')).toEqual([]);
      expect(await planObjects(t)).toEqual([]);
    });
  });

  describe('several applies: newest first, and --to', () => {
    const orders = mestoreSubset('orders', 'order_items');
    let t: TestTarget;
    let before: string[];
    let afterFirst: string[];
    beforeAll(async () => {
      t = await targets.fresh(seed);
      before = await catalogDump(t);
      await applyManifest(t.dialect, orders, applyOptions);
      afterFirst = await catalogDump(t);
      await applyManifest(t.dialect, mestore, applyOptions);
    });

    test('rollback undoes the newest apply only; the next rollback the one before', async () => {
      const first = await rollback(t.dialect, rollbackOptions({ kind: 'last' }));
      expect(first.plan.applies).toEqual([2]);
      expect(await catalogDump(t)).toEqual(afterFirst);
      expect(await planObjects(t, orders)).toEqual([]);
      const second = await rollback(t.dialect, rollbackOptions({ kind: 'last' }));
      expect(second.plan.applies).toEqual([1]);
      expect(await catalogDump(t)).toEqual(before);
    });

    test('--to ID undoes every apply after run ID; --to 0 every apply', async () => {
      const a = (await applyManifest(t.dialect, orders, applyOptions)).runId!;
      await applyManifest(t.dialect, mestore, applyOptions);
      const toA = await rollback(t.dialect, rollbackOptions({ kind: 'to', runId: a }));
      expect(toA.plan.applies).toEqual([a + 1]);
      expect(await catalogDump(t)).toEqual(afterFirst);
      await applyManifest(t.dialect, mestore, applyOptions);
      const all = await rollback(t.dialect, rollbackOptions({ kind: 'to', runId: 0 }));
      expect(all.plan.applies).toEqual([a + 3, a]);
      expect(await catalogDump(t)).toEqual(before);
      expect((await rollback(t.dialect, rollbackOptions({ kind: 'to', runId: 0 }))).runId).toBeNull();
    });
  });

  describe('dry run, and objects changed by hand since the apply', () => {
    let t: TestTarget;
    let before: string[];
    beforeAll(async () => {
      t = await targets.fresh(seed);
      before = await catalogDump(t);
      await applyManifest(t.dialect, mestore, applyOptions);
    });

    test('--dry-run prints the undo script and changes nothing', async () => {
      const dump = await catalogDump(t);
      const history = await t.dialect.history();
      const result = await rollback(t.dialect, rollbackOptions({ kind: 'last' }, { dryRun: true, confirm: async () => false }));
      expect(result.runId).toBeNull();
      const script = result.script ?? '';
      expect(script).toMatch(/^-- schema-diff rollback --dry-run \(nothing was changed\)\n-- database: {4}/);
      expect(script).toContain('ALTER TABLE public.orders DROP CONSTRAINT IF EXISTS ck_order_total_positive;');
      expect(script).toContain(
        'ALTER TABLE public.orders DROP CONSTRAINT IF EXISTS fk_orders_buyer_id, ADD CONSTRAINT orders_buyer_id_fkey FOREIGN KEY (buyer_id) REFERENCES public.users (id) NOT VALID;',
      );
      expect(script).toContain('ALTER TABLE public.orders VALIDATE CONSTRAINT orders_buyer_id_fkey;');
      expect(script).toContain('DROP INDEX CONCURRENTLY IF EXISTS public.ix_orders_status_created;');
      // indexes were built first, so they are dropped last
      expect(script.lastIndexOf('DROP CONSTRAINT')).toBeLessThan(script.indexOf('DROP INDEX CONCURRENTLY'));
      expect(await catalogDump(t)).toEqual(dump);
      expect(await t.dialect.history()).toEqual(history);
    });

    test('a CHECK redefined by hand stops the rollback before anything changes, naming it', async () => {
      await t.sql(`ALTER TABLE orders DROP CONSTRAINT ck_order_tax_non_negative,
                     ADD CONSTRAINT ck_order_tax_non_negative CHECK (tax_amount >= 1) NOT VALID`);
      const dump = await catalogDump(t);
      const runs = (await t.dialect.history()).length;
      await expect(rollback(t.dialect, rollbackOptions({ kind: 'last' }))).rejects.toMatchObject({
        code: 'refused',
        message: expect.stringMatching(
          /^ck_order_tax_non_negative on public\.orders was changed by hand since apply 1: it is now CHECK \(\(tax_amount >= \(1\)::numeric\)\); apply 1 left CHECK \(\(tax_amount >= \(0\)::numeric\)\); nothing was changed/,
        ),
      });
      expect(await catalogDump(t)).toEqual(dump);
      expect((await t.dialect.history()).length).toBe(runs);
    });

    test('the other objects can still be rolled back one by one', async () => {
      const result = await rollback(t.dialect, rollbackOptions({ kind: 'objects', names: ['ck_order_subtotal_non_negative'] }));
      expect(result.plan.steps).toHaveLength(1);
      expect(await planObjects(t)).toEqual(['ck_order_subtotal_non_negative', 'ck_order_tax_non_negative']);
    });

    test('the old foreign key re-created by hand stops it too: undoing would create it twice', async () => {
      await t.sql(`ALTER TABLE orders DROP CONSTRAINT ck_order_tax_non_negative,
                     ADD CONSTRAINT ck_order_tax_non_negative CHECK (tax_amount >= 0)`);
      await t.sql(`ALTER TABLE orders ADD CONSTRAINT orders_buyer_id_fkey FOREIGN KEY (buyer_id) REFERENCES users (id)`);
      await expect(rollback(t.dialect, rollbackOptions({ kind: 'last' }))).rejects.toMatchObject({
        code: 'refused',
        message: expect.stringMatching(/^orders_buyer_id_fkey on public\.orders exists again since apply 1 replaced it with fk_orders_buyer_id/),
      });
      await t.sql(`ALTER TABLE orders DROP CONSTRAINT orders_buyer_id_fkey`);
    });

    test('objects dropped by hand are noted, the rest is undone, and the catalog ends exactly as before', async () => {
      await t.sql(`ALTER TABLE orders DROP CONSTRAINT ck_order_shipping_non_negative; DROP INDEX ix_orders_status_created;`);
      const notices: string[] = [];
      const result = await rollback(t.dialect, rollbackOptions({ kind: 'last' }, { events: { notice: (m) => notices.push(m) } }));
      expect(notices.sort()).toEqual([
        'ck_order_shipping_non_negative on public.orders is already gone (dropped by hand since apply 1); undoing it changes nothing more',
        'ix_orders_status_created on public.orders is already gone (dropped by hand since apply 1); undoing it changes nothing more',
      ]);
      expect(result.runId).not.toBeNull();
      expect(await catalogDump(t)).toEqual(before);
      expect((await t.dialect.history())[0].steps.every((s) => s.undoneBy !== null)).toBe(true);
    });
  });

  test('after an apply that died half-way (run left "running"), rollback undoes the steps it recorded', async () => {
    const t = await targets.fresh(seed);
    const before = await catalogDump(t);
    const { plan } = await preparePlan(t.dialect, mestore, 'manifest/mestore.ts');
    // what a killed apply leaves: a run still 'running' and the steps that committed, each with its journal row
    const runId = await t.dialect.startRun('apply', 'manifest/mestore.ts', plan.fingerprint);
    await t.dialect.execute(plan.steps.slice(0, 20), { runId }, applyOptions);
    const [killed] = await t.dialect.history();
    expect([killed.status, killed.steps.length]).toEqual(['running', 20]);
    const result = await rollback(t.dialect, rollbackOptions({ kind: 'last' }));
    expect(result.plan.steps).toHaveLength(20);
    expect(await catalogDump(t)).toEqual(before);
    expect((await preparePlan(t.dialect, mestore, 'x')).plan.steps).toEqual(plan.steps);
  });
});
