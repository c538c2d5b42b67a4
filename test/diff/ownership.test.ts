import type { ObjectEffect } from '../../src/diff/changes.js';
import { ownedComments, ownedObjects, type JournalRun } from '../../src/diff/ownership.js';

const run = (id: number, kind: string, ...steps: Array<[ObjectEffect[], (number | null)?]>): JournalRun => ({
  id,
  kind,
  steps: steps.map(([effects, undoneBy]) => ({ table: 'public.orders', undoneBy: undoneBy ?? null, effects })),
});
const names = (runs: JournalRun[]) => [...ownedObjects(runs).values()].map((o) => `${o.kind} ${o.name} #${o.runId}`).sort();

describe('ownership from the journal', () => {
  test('created is ours, follows its renames, ends when dropped or forgotten', () => {
    expect(
      names([
        run(1, 'apply', [[{ kind: 'index', name: 'ix_a', effect: 'created' }]], [[{ kind: 'check', name: 'ck_b', effect: 'created' }]]),
        run(2, 'apply', [[{ kind: 'index', name: 'ix_a2', effect: 'renamed', from: 'ix_a' }]]),
        run(3, 'forget', [[{ kind: 'check', name: 'ck_b', effect: 'forgotten' }]]),
      ]),
    ).toEqual(['index ix_a2 #2']);
  });

  test("what schema-diff replaced or renamed from the user's stays the user's", () => {
    const replaced = { kind: 'foreign_key' as const, name: 'fk_orders_buyer_id', effect: 'renamed' as const, from: 'orders_buyer_id_fkey' };
    expect(names([run(1, 'apply', [[replaced]])])).toEqual([]);
  });

  test('a step a rollback undid counts as never run; rollback runs themselves carry no effects', () => {
    const created: ObjectEffect = { kind: 'check', name: 'ck_a', effect: 'created' };
    const dropped: ObjectEffect = { kind: 'check', name: 'ck_a', effect: 'dropped' };
    expect(names([run(1, 'apply', [[created]]), run(2, 'apply', [[dropped], 3]), run(3, 'rollback')])).toEqual(['check ck_a #1']);
    expect(names([run(1, 'apply', [[created], 2]), run(2, 'rollback')])).toEqual([]);
  });

  test('comments schema-diff wrote are its own whoever owns the object: they follow renames, end when cleared, dropped or undone', () => {
    const comments = (runs: JournalRun[]) => Object.fromEntries(ownedComments(runs));
    const commented = (name: string, comment: string | null): ObjectEffect => ({ kind: 'foreign_key', name, effect: 'commented', comment });
    expect(
      comments([
        run(1, 'apply', [[{ kind: 'check', name: 'ck_a', effect: 'created', comment: 'a' }]], [[commented('fk_user', 'u')]]),
        run(2, 'apply', [[{ kind: 'foreign_key', name: 'fk_user2', effect: 'renamed', from: 'fk_user' }]], [[commented('fk_x', 'x')], 3]),
        run(3, 'rollback'),
      ]),
    ).toEqual({ 'check\u0000public.orders\u0000ck_a': 'a', 'foreign_key\u0000public.orders\u0000fk_user2': 'u' });
    expect(comments([run(1, 'apply', [[commented('fk_user', 'u')]], [[commented('fk_user', null)]])])).toEqual({});
    expect(comments([run(1, 'apply', [[commented('fk_user', 'u')]], [[{ kind: 'foreign_key', name: 'fk_user', effect: 'dropped' }]])])).toEqual({});
  });
});
