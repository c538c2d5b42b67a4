import type { HistoryRun, HistoryStep } from '../../src/dialect/dialect.js';
import { selectForRollback } from '../../src/run/rollback-select.js';

/** A journal written by hand: the selection rules need no database. */
function step(runId: number, seq: number, action: HistoryStep['action'], objects: string[], undoneBy: number | null = null): HistoryStep {
  return {
    runId,
    seq,
    action,
    table: 'public.orders',
    name: action === 'validate_constraint' ? objects.join(', ') : objects[0],
    objects,
    sql: [`-- do ${objects.join(',')}`],
    inverse: action === 'validate_constraint' ? [] : [`-- undo ${objects.join(',')}`],
    transactional: true,
    lockTimeout: true,
    appliedAt: '2025-01-01T00:00:00.000Z',
    after: null,
    undoneBy,
  };
}

function run(id: number, kind: HistoryRun['kind'], steps: HistoryStep[]): HistoryRun {
  return { id, kind, startedAt: '', finishedAt: '', status: 'done', manifest: 'm.ts', fingerprint: 'sha256:x', steps };
}

const ids = (steps: readonly HistoryStep[]) => steps.map((s) => `${s.runId}.${s.seq}`);

describe('choosing what a rollback undoes', () => {
  const first = run(1, 'apply', [
    step(1, 1, 'create_index', ['ix_a']),
    step(1, 2, 'add_check', ['ck_a']),
    step(1, 3, 'validate_constraint', ['ck_a']),
  ]);
  const second = run(2, 'apply', [
    step(2, 1, 'add_check', ['ck_b']),
    step(2, 2, 'replace_foreign_key', ['fk_new', 'fk_old']),
    step(2, 3, 'validate_constraint', ['ck_b', 'fk_new']),
  ]);

  test('plain rollback: the newest apply, last step first, VALIDATE steps ride with the undo that completes them', () => {
    const s = selectForRollback([first, second], { kind: 'last' });
    expect(ids(s.steps)).toEqual(['2.2', '2.1']);
    // fk_new is undone by 2.2, ck_b by 2.1 (which runs last): the validation of both rides with 2.1
    expect([...s.riders].map(([v, carrier]) => `${v.runId}.${v.seq}->${carrier.seq}`)).toEqual(['2.3->1']);
  });

  test('steps already undone are never undone twice, and the next plain rollback goes one apply further back', () => {
    const undone = run(2, 'apply', second.steps.map((s) => ({ ...s, undoneBy: 3 })));
    const s = selectForRollback([first, undone, run(3, 'rollback', [])], { kind: 'last' });
    expect(ids(s.steps)).toEqual(['1.2', '1.1']);
  });

  test('after single objects were rolled back, a plain rollback undoes the rest of that apply', () => {
    const partly = run(2, 'apply', [{ ...second.steps[0], undoneBy: 3 }, second.steps[1], second.steps[2]]);
    const s = selectForRollback([first, partly, run(3, 'rollback', [])], { kind: 'last' });
    expect(ids(s.steps)).toEqual(['2.2']);
    expect([...s.riders.keys()].map((v) => v.seq)).toEqual([3]);
  });

  test('--constraint finds a replaced foreign key by its new and by its old name', () => {
    for (const name of ['fk_new', 'fk_old']) {
      const s = selectForRollback([first, second], { kind: 'objects', names: [name] });
      expect(ids(s.steps)).toEqual(['2.2']);
      // ck_b is still validated by 2.3: the VALIDATE step stays in effect
      expect(s.riders.size).toBe(0);
    }
  });

  test('--constraint of several names across applies: newest apply first', () => {
    const s = selectForRollback([first, second], { kind: 'objects', names: ['ck_a', 'ck_b'] });
    expect(ids(s.steps)).toEqual(['2.1', '1.2']);
    expect([...s.riders.keys()].map((v) => `${v.runId}.${v.seq}`)).toEqual(['1.3']);
  });

  test('--constraint of an object already rolled back says there is nothing to undo', () => {
    const undone = run(1, 'apply', [first.steps[0], { ...first.steps[1], undoneBy: 3 }, { ...first.steps[2], undoneBy: 3 }]);
    const s = selectForRollback([undone, run(3, 'rollback', [])], { kind: 'objects', names: ['ck_a'] });
    expect(s.steps).toEqual([]);
    expect(s.notes).toEqual(['nothing to undo for ck_a: already rolled back (run 3)']);
  });

  test('--constraint of an object changed in one step with others (a SQLite rebuild) undoes the step, and says so', () => {
    const rebuild = { ...step(4, 1, 'rebuild_table', ['ck_x', 'ck_y', 'fk_z']), name: 'ck_x, ck_y, fk_z', table: 'main.orders' };
    const s = selectForRollback([run(4, 'apply', [rebuild])], { kind: 'objects', names: ['ck_y'] });
    expect(ids(s.steps)).toEqual(['4.1']);
    expect(s.notes).toEqual(['ck_y was applied in one step with 2 other object(s) on main.orders, undone with it: ck_x, fk_z']);
    expect(selectForRollback([first, second], { kind: 'objects', names: ['fk_new'] }).notes).toEqual([]);
  });

  test('--constraint of an unknown name is an error with a suggestion', () => {
    expect(() => selectForRollback([first, second], { kind: 'objects', names: ['ck_bb'] })).toThrow(
      /--constraint ck_bb: no apply in the history changed an object of that name \(did you mean ck_b\?\)/,
    );
  });

  test('--to ID undoes every apply after it, newest first; an unknown run is an error', () => {
    expect(ids(selectForRollback([first, second], { kind: 'to', runId: 0 }).steps)).toEqual(['2.2', '2.1', '1.2', '1.1']);
    expect(ids(selectForRollback([first, second], { kind: 'to', runId: 1 }).steps)).toEqual(['2.2', '2.1']);
    expect(selectForRollback([first, second], { kind: 'to', runId: 2 }).notes).toEqual([
      'nothing to undo: no apply after run 2 has steps left to undo',
    ]);
    expect(() => selectForRollback([first, second], { kind: 'to', runId: 9 })).toThrow(/--to 9: no run 9 in the history/);
  });

  test('an empty journal, and one whose applies are all undone, have nothing to undo', () => {
    expect(selectForRollback([], { kind: 'last' }).notes).toEqual(['nothing to undo: no apply is recorded in this database']);
    const undone = run(1, 'apply', first.steps.map((s) => ({ ...s, undoneBy: 2 })));
    expect(selectForRollback([undone, run(2, 'rollback', [])], { kind: 'last' }).notes).toEqual([
      'nothing to undo: every apply (1) is already rolled back',
    ]);
  });

  test('rollback runs are never undone themselves', () => {
    const rb = run(3, 'rollback', [step(3, 1, 'add_check', ['ck_b'])]);
    const undone = run(2, 'apply', second.steps.map((s) => ({ ...s, undoneBy: 3 })));
    expect(ids(selectForRollback([first, undone, rb], { kind: 'last' }).steps)).toEqual(['1.2', '1.1']);
  });
});

describe('one object of a step that changed several (SQLite table steps)', () => {
  // one step for all of a table's constraints, as SQLite writes it: each object's effect says which names are one object
  const table: HistoryStep = {
    ...step(1, 1, 'edit_table', ['ck_a', 'ck_b', 'fk_new', 'fk_old']),
    name: 'orders',
    effects: [
      { kind: 'check', name: 'ck_a', effect: 'created' },
      { kind: 'check', name: 'ck_b', effect: 'created' },
      { kind: 'foreign_key', name: 'fk_new', effect: 'renamed', from: 'fk_old' },
    ],
  };
  const apply = run(1, 'apply', [table]);
  const partial = { partial: true };
  const partOf = (runId: number, objects: string[], undoneBy: number | null = null): HistoryRun =>
    run(runId, 'rollback', [{ ...step(runId, 1, 'edit_table', objects), name: 'orders', partOf: { runId: 1, seq: 1 }, undoneBy }]);

  test('only the objects named are undone, a replaced key under both its names; the step stays in effect', () => {
    const s = selectForRollback([apply], { kind: 'objects', names: ['ck_a'] }, partial);
    expect([s.steps, s.parts.map((p) => [ids([p.step])[0], p.objects]), s.notes]).toEqual([[], [['1.1', ['ck_a']]], []]);
    expect(selectForRollback([apply], { kind: 'objects', names: ['fk_old'] }, partial).parts[0].objects).toEqual(['fk_new', 'fk_old']);
  });

  test('a dialect that cannot (or a step it cannot split) undoes it whole, and says what goes with it', () => {
    for (const options of [{}, { partial: true, whole: new Set(['1:1']) }]) {
      const s = selectForRollback([apply], { kind: 'objects', names: ['ck_a'] }, options);
      expect([ids(s.steps), s.parts]).toEqual([['1.1'], []]);
      expect(s.notes).toEqual(['ck_a was applied in one step with 3 other object(s) on public.orders, undone with it: ck_b, fk_new, fk_old']);
    }
  });

  test('after a part was undone: that name has nothing left, the last objects undo the step whole, parts first', () => {
    const history = [apply, partOf(2, ['ck_a'])];
    expect(selectForRollback(history, { kind: 'objects', names: ['ck_a'] }, partial).notes).toEqual(['nothing to undo for ck_a: already rolled back (run 2)']);
    expect(selectForRollback(history, { kind: 'objects', names: ['ck_b'] }, partial).parts.map((p) => p.objects)).toEqual([['ck_b']]);
    const rest = selectForRollback(history, { kind: 'objects', names: ['ck_b', 'fk_new'] }, partial);
    expect([ids(rest.steps), rest.parts, rest.notes]).toEqual([['2.1', '1.1'], [], []]);
    expect(ids(selectForRollback(history, { kind: 'last' }, partial).steps)).toEqual(['2.1', '1.1']);
    expect(ids(selectForRollback(history, { kind: 'to', runId: 0 }, partial).steps)).toEqual(['2.1', '1.1']);
    // a part already put back is not put back twice
    expect(ids(selectForRollback([apply, partOf(2, ['ck_a'], 3)], { kind: 'last' }, partial).steps)).toEqual(['1.1']);
  });

  test('a part that names a step of another table, or objects that step did not change, is a corrupt journal', () => {
    const other = run(2, 'rollback', [{ ...step(2, 1, 'edit_table', ['ck_z']), partOf: { runId: 1, seq: 1 } }]);
    expect(() => selectForRollback([apply, other], { kind: 'last' }, partial)).toThrow(/^journal run 2 step 1: part_of names run 1 step 1/);
  });
});

describe("a fleet rollout's recorded runs (kind 'runs')", () => {
  const first = run(1, 'apply', [step(1, 1, 'add_check', ['ck_a'])]);
  const second = run(2, 'apply', [step(2, 1, 'add_check', ['ck_b']), step(2, 2, 'validate_constraint', ['ck_b'])]);
  const recorded = (id: number, fingerprint = 'sha256:x') => ({ kind: 'runs' as const, runs: [{ id, fingerprint }] });

  test('exactly the recorded run, not the newest apply: an older one stays', () => {
    expect(ids(selectForRollback([first, second], recorded(2)).steps)).toEqual(['2.1']);
    expect(ids(selectForRollback([first], recorded(1)).steps)).toEqual(['1.1']);
  });

  test('a newer apply in effect refuses; one rolled back since, or a rollback run, does not', () => {
    expect(() => selectForRollback([first, second], recorded(1))).toThrow(
      "apply run 2 ran here after the rollout's run 1 and is in effect; nothing was changed (roll this target back with --database-url, see history)",
    );
    const undoneSince = run(2, 'apply', second.steps.map((s) => ({ ...s, undoneBy: 3 })));
    expect(ids(selectForRollback([first, undoneSince, run(3, 'rollback', [])], recorded(1)).steps)).toEqual(['1.1']);
  });

  test('an apply between two recorded runs (a resume keeps earlier runs; a state file may lie) refuses too', () => {
    const third = run(3, 'apply', [step(3, 1, 'add_check', ['ck_c'])]);
    const both = { kind: 'runs' as const, runs: [{ id: 1, fingerprint: 'sha256:x' }, { id: 3, fingerprint: 'sha256:x' }] };
    expect(() => selectForRollback([first, second, third], both)).toThrow(/^apply run 2 ran here after the rollout's run 1, 3 and is in effect/);
  });

  test('a run the journal does not hold as recorded refuses: missing, another fingerprint, not an apply', () => {
    expect(() => selectForRollback([first], recorded(7))).toThrow("the rollout's apply run 7 is not in this database's journal (restored or recreated since?); nothing was changed");
    expect(() => selectForRollback([first], recorded(1, 'sha256:y'))).toThrow("the rollout's apply run 1 has another fingerprint here");
    expect(() => selectForRollback([first, run(2, 'rollback', [])], recorded(2))).toThrow("the rollout's apply run 2 is a rollback run here");
  });

  test('already rolled back: nothing to undo, said so', () => {
    const undone = run(1, 'apply', first.steps.map((s) => ({ ...s, undoneBy: 2 })));
    const s = selectForRollback([undone, run(2, 'rollback', [])], recorded(1));
    expect([s.steps, s.notes]).toEqual([[], ['nothing to undo: apply run 1 is already rolled back']]);
  });
});
