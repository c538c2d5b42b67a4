import type { ObjectEffect } from '../../src/diff/changes.js';
import { legacyEffects, ownedComments, ownedObjects, type JournalRun, type JournalStep } from '../../src/diff/ownership.js';

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

  describe('steps journaled before effects existed', () => {
    const table = { schema: 'public', name: 'orders' };
    const old = (action: string, name: string, origin: unknown = null): JournalStep => ({ table: 'public.orders', undoneBy: null, action, name, origin });
    const ck = { name: 'ck_a', table, expr: 'a > 0', validated: true };

    test('an add_check, add_foreign_key or create_index step created the object of its name; other steps say nothing', () => {
      expect(legacyEffects(old('add_check', 'ck_a'))).toEqual([{ kind: 'check', name: 'ck_a', effect: 'created' }]);
      expect(legacyEffects(old('add_foreign_key', 'fk_a'))).toEqual([{ kind: 'foreign_key', name: 'fk_a', effect: 'created' }]);
      expect(legacyEffects(old('create_index', 'ix_a'))).toEqual([{ kind: 'index', name: 'ix_a', effect: 'created' }]);
      expect(legacyEffects(old('drop_unique_constraint', 'uq_a'))).toEqual([{ kind: 'index', name: 'uq_a', effect: 'dropped' }]);
      // which object a table's rebuild, or a rename without its recorded change, concerned is not said
      for (const action of ['validate_constraint', 'rebuild_table', 'edit_table', 'rename_index', 'replace_check']) expect(legacyEffects(old(action, 'x'))).toEqual([]);
    });

    test('the recorded change gives the definition, and follows a rename; one of another action or object is ignored', () => {
      const add = { kind: 'add_check', table, desired: { ...ck, source: 'a>0', path: 'p', severity: 'critical' } };
      expect(legacyEffects(old('add_check', 'ck_a', add))).toEqual([{ kind: 'check', name: 'ck_a', effect: 'created', definition: { name: 'ck_a', table, expr: 'a > 0', validated: true } }]);
      expect(legacyEffects(old('add_check', 'ck_other', add))).toEqual([{ kind: 'check', name: 'ck_other', effect: 'created' }]);
      expect(legacyEffects(old('create_index', 'ck_a', add))).toEqual([{ kind: 'index', name: 'ck_a', effect: 'created' }]);
      expect(legacyEffects(old('add_check', 'ck_a', { kind: 'add_check', desired: 'not an object' }))).toEqual([{ kind: 'check', name: 'ck_a', effect: 'created' }]);
      const rename = { kind: 'rename_index', table, desired: { name: 'ix_b', table }, current: { name: 'ix_a', table } };
      const runs: JournalRun[] = [
        { id: 1, kind: 'apply', steps: [old('create_index', 'ix_a')] },
        { id: 2, kind: 'apply', steps: [old('rename_index', 'ix_b', rename)] },
      ];
      expect(names(runs)).toEqual(['index ix_b #2']);
    });

    test('the definition text an old step left travels with what it created, for the plan to prove', () => {
      const owned = [...ownedObjects([{ id: 1, kind: 'apply', steps: [{ ...old('create_index', 'ix_a'), after: 'CREATE INDEX ix_a ON t (a)' }] }]).values()];
      expect(owned.map((o) => [o.definition, o.legacy])).toEqual([[undefined, { action: 'create_index', after: 'CREATE INDEX ix_a ON t (a)' }]]);
    });
  });
});
