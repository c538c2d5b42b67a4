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
