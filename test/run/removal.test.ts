import { defineManifest } from '../../src/manifest/define.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { forgetObjects } from '../../src/run/forget.js';
import { preparePlan } from '../../src/run/prepare.js';
import { rollback } from '../../src/run/rollback.js';
import type { Table } from '../../src/schema/types.js';
import { describeEachDatabase } from '../helpers/each.js';
import { testApplyOptions } from '../helpers/options.js';
import type { TestTarget } from '../helpers/targets.js';
import { rollbackOptions, targetsFor } from '../rollback/helpers.js';

const manifest = (tables: Record<string, unknown>) => defineManifest({ version: 1, name: 't', tables } as never) as LoadedManifest;

const SEED = `
  CREATE TABLE users (id integer PRIMARY KEY, email text);
  CREATE INDEX ix_users_email_hand ON users (email);
  CREATE TABLE orders (id integer PRIMARY KEY, user_id integer, total integer, code text,
    CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT ck_orders_code_hand CHECK (code <> ''));
  CREATE INDEX ix_orders_code_hand ON orders (code);
  CREATE TABLE items (id integer PRIMARY KEY, order_id integer);
  INSERT INTO users VALUES (1, 'a');
  INSERT INTO orders VALUES (1, 1, 5, 'x');
  INSERT INTO items VALUES (1, 1);`;

const ck = { name: 'ck_orders_total', expr: 'total >= 0' };
const ix = { name: 'ix_orders_total', columns: ['total'] };
const fk = { name: 'fk_items_order', columns: ['order_id'], references: { table: 'orders', columns: ['id'] }, onDelete: 'cascade' };
const M1 = manifest({ orders: { checks: [ck], indexes: [ix] }, items: { foreignKeys: [fk] } });
const M0 = manifest({ orders: {}, items: {} });
const apply = (t: TestTarget, m: LoadedManifest, prune = false) => applyManifest(t.dialect, m, { ...testApplyOptions, backup: false, prune });
const plan = async (t: TestTarget, m: LoadedManifest, prune = false) => (await preparePlan(t.dialect, m, 'm', { prune })).plan;

/** Every CHECK, foreign key and index of the tables, one line each, with what a rollback must restore (definition, validity). */
async function dump(t: TestTarget): Promise<string[]> {
  const catalog = await t.dialect.introspect(['users', 'orders', 'items'].map((name) => ({ schema: t.dialect.defaultSchema, name })));
  const lines = (x: Table) => [
    ...x.checks.map((c) => `${x.ref.name} check ${c.name} ${c.expr} valid=${c.validated}`),
    ...x.foreignKeys.map((f) => `${x.ref.name} fk ${f.name} (${f.columns}) ${f.refTable.name}(${f.refColumns}) ${f.onDelete} valid=${f.validated}`),
    ...x.indexes.map((i) => `${x.ref.name} index ${i.name} ${JSON.stringify(i.keys)} unique=${i.unique}`),
  ];
  return catalog.tables.flatMap(lines).sort();
}

/** The objects a plan drops, whatever the dialect made of them (SQLite: within a table rebuild). */
const dropped = (p: Awaited<ReturnType<typeof plan>>) =>
  p.steps.flatMap((s) => (s.effects ?? []).filter((e) => e.effect === 'dropped').map((e) => e.name)).sort();
const unmanaged = (p: Awaited<ReturnType<typeof plan>>) => p.unmanaged.map((u) => u.name).sort();

describeEachDatabase(['postgres', 'pglite', 'sqlite'], 'removal follows ownership', (make, kind) => {
  const targets = targetsFor(make, kind);
  afterAll(() => targets.disposeAll());
  test('what schema-diff created and the manifest no longer lists is dropped; rollback puts it back exactly', async () => {
    const t = await targets.fresh(SEED);
    await apply(t, M1);
    const before = await dump(t);
    const p = await plan(t, M0);
    expect(dropped(p)).toEqual(['ck_orders_total', 'fk_items_order', 'ix_orders_total']);
    expect(p.steps.every((s) => s.reason.includes('was in the manifest, removed'))).toBe(true);
    expect(p.steps.flatMap((s) => s.hazards)).toEqual(expect.arrayContaining(['DROPS_CONSTRAINT', 'DROPS_INDEX']));
    // never made by schema-diff: listed, left alone
    expect(unmanaged(p)).toEqual(['ck_orders_code_hand', 'ix_orders_code_hand', 'orders_user_fk']);
    await apply(t, M0);
    const gone = await dump(t);
    expect(gone.filter((l) => /ck_orders_total|ix_orders_total|fk_items_order/.test(l))).toEqual([]);
    expect(gone.filter((l) => /_hand|orders_user_fk/.test(l))).toHaveLength(4);
    expect((await plan(t, M0)).steps).toEqual([]);
    await rollback(t.dialect, rollbackOptions({ kind: 'last' }, { backup: false }));
    expect(await dump(t)).toEqual(before);
    expect((await plan(t, M1)).steps).toEqual([]);
    // undone, the drop no longer counts: the objects are schema-diff's again
    expect(dropped(await plan(t, M0))).toEqual(['ck_orders_total', 'fk_items_order', 'ix_orders_total']);
  });

  test('--prune drops what the manifest does not mention on the tables it names, nothing else', async () => {
    const t = await targets.fresh(SEED);
    await apply(t, M1);
    expect((await plan(t, M1)).steps).toEqual([]);
    const p = await plan(t, M1, true);
    expect(dropped(p)).toEqual(['ck_orders_code_hand', 'ix_orders_code_hand', 'orders_user_fk']);
    expect(p.steps.every((s) => s.reason.includes('--prune'))).toBe(true);
    await apply(t, M1, true);
    expect((await plan(t, M1, true)).steps).toEqual([]);
    const after = await dump(t);
    // users is not in the manifest; primary keys are never pruned
    expect(after.filter((l) => l.startsWith('users'))).toEqual(expect.arrayContaining([expect.stringContaining('ix_users_email_hand')]));
    expect(after.filter((l) => /_hand|orders_user_fk/.test(l))).toHaveLength(1);
  });

  test('a renamed foreign key stays a rename and is not ours; a forgotten index is left alone', async () => {
    const t = await targets.fresh(SEED);
    const renamed = { name: 'fk_orders_user', columns: ['user_id'], references: { table: 'users', columns: ['id'] } };
    const M2 = manifest({ orders: { checks: [ck], indexes: [ix], foreignKeys: [renamed] }, items: { foreignKeys: [fk] } });
    const p = await plan(t, M2);
    if (kind === 'sqlite') expect(p.steps.find((s) => s.table === 'main.orders')?.reason).toContain('name FOREIGN KEY ×1');
    else expect(p.steps.filter((s) => s.name === 'fk_orders_user').map((s) => s.action)).toEqual(['rename_foreign_key']);
    await apply(t, M2);
    const result = await forgetObjects(t.dialect, ['ix_orders_total'], { lockWaitMs: 2000 });
    expect(result.forgotten.map((o) => o.name)).toEqual(['ix_orders_total']);
    expect((await t.dialect.history()).map((r) => r.kind)).toEqual(['apply', 'forget']);
    const removed = await plan(t, M0);
    expect(dropped(removed)).toEqual(['ck_orders_total', 'fk_items_order']);
    expect(unmanaged(removed)).toEqual(expect.arrayContaining(['fk_orders_user', 'ix_orders_total']));
    await expect(forgetObjects(t.dialect, ['ix_orders_code_hand'], { lockWaitMs: 2000 })).rejects.toMatchObject({ code: 'usage' });
  });

  test('an index dropped online comes back on rollback; one changed by hand since is left alone unless --prune', async () => {
    const t = await targets.fresh(SEED);
    await apply(t, M1);
    const before = await dump(t);
    const M3 = manifest({ orders: { checks: [ck] }, items: { foreignKeys: [fk] } });
    const p = await plan(t, M3);
    expect(p.steps.map((s) => [s.action, s.name])).toEqual([['drop_index', 'ix_orders_total']]);
    if (kind !== 'sqlite') expect(p.steps[0].sql).toEqual(['DROP INDEX CONCURRENTLY IF EXISTS public.ix_orders_total']);
    await apply(t, M3);
    await rollback(t.dialect, rollbackOptions({ kind: 'last' }, { backup: false }));
    expect(await dump(t)).toEqual(before);
    await t.sql('DROP INDEX ix_orders_total');
    await t.sql('CREATE INDEX ix_orders_total ON orders (total, id)');
    const changed = await plan(t, M3);
    expect(changed.steps).toEqual([]);
    expect(changed.unmanaged.find((u) => u.name === 'ix_orders_total')?.note).toContain('changed by hand since');
    expect(dropped(await plan(t, M3, true))).toContain('ix_orders_total');
  });
});
