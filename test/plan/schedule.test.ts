import { renderPostgres } from '../../src/dialect/postgres/render.js';
import type { Change } from '../../src/diff/changes.js';
import { conflicts, nextRunnable, type StepState } from '../../src/plan/schedule.js';
import type { Hazard } from '../../src/plan/types.js';
import type { ForeignKey } from '../../src/schema/types.js';

/** A step as the scheduler sees it. */
const s = (touches: string[] | undefined, ...hazards: Hazard[]) => ({ touches, hazards, lockTimeout: false });

describe('which steps apply may run at once (plan/schedule.ts)', () => {
  test('steps conflict when they share a table or an index name, or when either does not say what it touches', () => {
    expect(conflicts(s(['public.a']), s(['public.b']))).toBe(false);
    expect(conflicts(s(['public.a', 'public.p']), s(['public.b', 'public.p']))).toBe(true);
    expect(conflicts(s(['public.a']), s(undefined))).toBe(true);
    expect(conflicts(s(undefined), s(['public.b']))).toBe(true);
  });

  test('a step starts only after every earlier step it conflicts with is done', () => {
    const steps = [s(['a']), s(['a']), s(['b'])];
    expect(nextRunnable(steps, ['pending', 'pending', 'pending'])).toBe(0);
    // the second step on a waits for the first; the one on b may go
    expect(nextRunnable(steps, ['running', 'pending', 'pending'])).toBe(2);
    expect(nextRunnable(steps, ['running', 'pending', 'running'])).toBe(-1);
    expect(nextRunnable(steps, ['done', 'pending', 'running'])).toBe(1);
  });

  test('a step that says nothing of what it touches runs alone and in plan order', () => {
    const steps = [s(['a']), s(undefined), s(['b'])];
    expect(nextRunnable(steps, ['running', 'pending', 'pending'])).toBe(-1);
    expect(nextRunnable(steps, ['done', 'running', 'pending'])).toBe(-1);
    expect(nextRunnable(steps, ['done', 'done', 'pending'])).toBe(2);
  });

  test('an index build runs beside no other scan, a write-blocking step beside nothing; two VALIDATEs may run at once', () => {
    const build = (t: string) => s([t], 'INDEX_BUILD');
    const validate = (t: string) => s([t], 'TABLE_SCAN');
    const add = (t: string) => ({ ...s([t], 'ACQUIRES_ACCESS_EXCLUSIVE_LOCK'), lockTimeout: true });
    const running = (n: number, at: number): StepState[] => Array.from({ length: n }, (_, i) => (i === at ? 'running' : 'pending'));
    expect(nextRunnable([build('a'), build('b')], running(2, 0))).toBe(-1);
    expect(nextRunnable([build('a'), validate('b')], running(2, 0))).toBe(-1);
    expect(nextRunnable([validate('a'), build('b')], running(2, 0))).toBe(-1);
    expect(nextRunnable([validate('a'), validate('b')], running(2, 0))).toBe(1);
    // writers queue behind a held lock: it is held alone, never while a scan loads the server
    expect(nextRunnable([build('a'), add('c')], running(2, 0))).toBe(-1);
    expect(nextRunnable([validate('a'), add('c')], running(2, 0))).toBe(-1);
    expect(nextRunnable([add('a'), add('c')], running(2, 0))).toBe(-1);
    expect(nextRunnable([add('a'), validate('c')], running(2, 0))).toBe(-1);
    // the first pending step that may start, not only the next one
    expect(nextRunnable([validate('a'), add('b'), validate('c')], running(3, 0))).toBe(2);
  });
});

describe('what a PostgreSQL step touches (Step.touches)', () => {
  const child = { schema: 'public', name: 'order_items' };
  const parent = { schema: 'public', name: 'orders' };
  const meta = { severity: 'critical' as const, path: 'p' };
  const fk: ForeignKey = {
    name: 'fk_items_order',
    table: child,
    columns: ['order_id'],
    refTable: parent,
    refColumns: ['id'],
    onDelete: 'cascade',
    onUpdate: 'no action',
    deferrable: false,
    initiallyDeferred: false,
    match: 'simple',
    validated: true,
  };
  const ix = { name: 'ix_orders_buyer', table: parent, keys: [{ column: 'buyer_id' }], unique: false, where: null, method: 'btree', valid: true, constraintBacked: false, ...meta, source: { keys: [{ column: 'buyer_id' }], where: null } };
  const catalog = { dialect: 'postgres' as const, tables: [] };

  test("a foreign key's steps touch its parent, an index step its names; a drop touches nothing it names (it runs alone)", () => {
    const changes = [
      { kind: 'create_index', table: parent, desired: ix },
      { kind: 'add_foreign_key', table: child, desired: { ...fk, ...meta } },
      { kind: 'drop_check', table: parent, current: { name: 'ck_old', table: parent, expr: '(a > 0)', validated: true }, why: 'removed' },
    ] as unknown as Change[];
    const steps = renderPostgres(changes, catalog);
    expect(steps.map((st) => [st.action, st.touches])).toEqual([
      // the scratch name too: a swap builds under it
      ['create_index', ['public.orders', 'index public.ix_orders_buyer', 'index public.ix_orders_buyer_sd_new']],
      ['add_foreign_key', ['public.order_items', 'public.orders']],
      ['validate_constraint', ['public.order_items', 'public.orders']],
      ['drop_check', undefined],
    ]);
  });
});
