import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { applyManifest, type ApplyOptions } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { verifyManifest } from '../../src/run/verify.js';
import { describeEachDatabase } from '../helpers/each.js';
import type { TestTarget } from '../helpers/targets.js';
import { testApplyOptions } from '../helpers/options.js';

const applyOptions: ApplyOptions = testApplyOptions;

const ALL_OBJECTS = Object.values(mestore.tables).flatMap((t) => [
  ...(t?.checks ?? []).map((c) => c.name),
  ...(t?.foreignKeys ?? []).map((f) => f.name),
  ...(t?.indexes ?? []).map((i) => i.name),
]);

describeEachDatabase(['postgres', 'pglite'], 'MeStore baseline with clean data', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(baselineSchema('postgres') + demoRows());
  });
  afterAll(async () => target?.dispose());

  test('the manifest holds the whole customer plan: 29 CHECKs, 7 FKs, 5 indexes, 3 partial unique, and 4 indexes for FK columns', () => {
    const tables = Object.values(mestore.tables);
    expect(tables.flatMap((t) => t?.checks ?? [])).toHaveLength(29);
    expect(tables.flatMap((t) => t?.foreignKeys ?? [])).toHaveLength(7);
    const indexes = tables.flatMap((t) => t?.indexes ?? []);
    expect(indexes.filter((i) => !i.unique && i.description !== 'Indexes added for FK columns')).toHaveLength(5);
    expect(indexes.filter((i) => i.description === 'Indexes added for FK columns')).toHaveLength(4);
    expect(indexes.filter((i) => i.unique && i.where)).toHaveLength(3);
  });

  test('plan holds every object of the manifest, FKs as replacements of the default-named ones', async () => {
    const { plan } = await preparePlan(target.dialect, mestore, 'manifest/mestore.ts');
    const covered = new Set(plan.steps.flatMap((s) => s.objects));
    for (const name of ALL_OBJECTS) expect(covered).toContain(name);
    const fkSteps = plan.steps.filter((s) => s.action.endsWith('foreign_key'));
    expect(fkSteps.map((s) => s.action)).toEqual(Array(7).fill('replace_foreign_key'));
    const buyer = plan.steps.find((s) => s.name === 'fk_orders_buyer_id');
    expect(buyer?.objects).toContain('orders_buyer_id_fkey');
    // indexes come before the constraints, validation last
    const order = plan.steps.map((s) => s.action);
    expect(order.lastIndexOf('create_index')).toBeLessThan(order.indexOf('add_check'));
    expect(order.indexOf('validate_constraint')).toBeGreaterThan(order.lastIndexOf('replace_foreign_key'));
    for (const s of plan.steps) expect(s.inverse.length > 0 || s.action === 'validate_constraint').toBe(true);
  });

  test('apply succeeds, verify is clean, and plan again has zero steps', async () => {
    const result = await applyManifest(target.dialect, mestore, applyOptions);
    expect(result.plan.steps.length).toBeGreaterThan(40);
    expect(await verifyManifest(target.dialect, mestore, 'manifest/mestore.ts')).toEqual([]);
    const again = await preparePlan(target.dialect, mestore, 'manifest/mestore.ts');
    expect(again.plan.steps).toEqual([]);
  });

  test('every description of the manifest is its object\'s comment in the database', async () => {
    const refs = Object.keys(mestore.tables).map((name) => ({ schema: 'public', name }));
    const catalog = await target.dialect.introspect(refs);
    const live = new Map(catalog.tables.flatMap((t) => [...t.checks, ...t.foreignKeys, ...t.indexes].map((o): [string, string | undefined] => [o.name, o.description])));
    const described: { name?: string; description?: string }[] = Object.values(mestore.tables).flatMap((t) => [...(t?.checks ?? []), ...(t?.foreignKeys ?? []), ...(t?.indexes ?? [])]);
    expect(described.filter((o) => o.description).length).toBeGreaterThan(30);
    for (const o of described) expect([o.name, live.get(o.name ?? '')]).toEqual([o.name, o.description || undefined]);
  });

  test('the catalog shows fk_orders_buyer_id ON DELETE RESTRICT and no orders_buyer_id_fkey', async () => {
    const rows = await target.sql(`
      select conname, confdeltype, convalidated from pg_constraint
       where conrelid = 'public.orders'::regclass and contype = 'f' order by conname`);
    expect(rows).toEqual([{ conname: 'fk_orders_buyer_id', confdeltype: 'r', convalidated: true }]);
  });

  test('a second apply has nothing to do', async () => {
    const result = await applyManifest(target.dialect, mestore, applyOptions);
    expect(result.runId).toBeNull();
    expect(result.plan.steps).toHaveLength(0);
  });
});
