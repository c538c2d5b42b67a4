import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import type { Dialect } from '../../src/dialect/dialect.js';
import { openDialect } from '../../src/dialect/open.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { rollback, type RollbackScope } from '../../src/run/rollback.js';
import { rollbackOptions } from '../rollback/helpers.js';
import { applyOptions, manifestOf, query, run, schemaTexts, seededFile, tableChecksums } from './helpers.js';

/**
 * A SQLite table step's way back expects the table's indexes exactly as the
 * step left them. An index of the same table rolled back on its own since (on
 * the edit path an index step of the same apply) must not make the later full
 * rollback stop: whatever the order of the per-object rollbacks, the full one
 * returns every CREATE TABLE text and the index set exactly. A hand-made
 * change of the indexes still stops it.
 */
const PATHS = [
  { path: 'edit', query: '' },
  { path: 'rebuild', query: '?defensive=on' },
] as const;

const IX = 'ix_orders_status_created';
const CK = 'ck_order_total_positive';
const FK = 'fk_orders_buyer_id';
const noBackup = { backup: false };

const ORDERS: ReadonlyArray<{ readonly label: string; readonly runs: readonly (readonly string[])[] }> = [
  { label: 'the index alone', runs: [[IX]] },
  { label: 'the index, then a CHECK', runs: [[IX], [CK]] },
  { label: 'a CHECK, then the index', runs: [[CK], [IX]] },
  { label: 'the index and a CHECK in one rollback', runs: [[IX, CK]] },
  { label: 'a CHECK, the index, then the foreign key', runs: [[CK], [IX], [FK]] },
];

const FINAL: ReadonlyArray<{ readonly label: string; readonly scope: RollbackScope }> = [
  { label: 'rollback', scope: { kind: 'last' } },
  { label: 'rollback --to 0', scope: { kind: 'to', runId: 0 } },
];

const healthy = (path: string) => {
  expect(query(path, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
  expect(query(path, 'PRAGMA foreign_key_check')).toEqual([]);
};

describe.each(PATHS)('per-object rollbacks of orders, then a full one ($path)', ({ query: options }) => {
  const cases = ORDERS.flatMap((order) => FINAL.map((final) => ({ ...order, final })));
  test.each(cases)('$label, then $final.label: every text and index exactly as before the apply', async ({ runs, final }) => {
    const file = seededFile(baselineSchema('sqlite') + demoRows());
    const dialect = await openDialect(`sqlite:///${file.path}${options}`);
    try {
      const before = schemaTexts(file.path);
      const rows = tableChecksums(file.path);
      await applyManifest(dialect, mestore, { ...applyOptions, backup: false });
      for (const names of runs) await rollback(dialect, rollbackOptions({ kind: 'objects', names }, noBackup));
      expect(query(file.path, `SELECT name FROM sqlite_schema WHERE name = '${IX}'`)).toEqual([]);
      const result = await rollback(dialect, rollbackOptions(final.scope, noBackup));
      expect(result.runId).not.toBeNull();
      expect(schemaTexts(file.path)).toEqual(before);
      expect(tableChecksums(file.path)).toEqual(rows);
      healthy(file.path);
      const history = await dialect.history();
      expect(history.filter((r) => r.kind === 'apply').flatMap((r) => r.steps).every((s) => s.undoneBy !== null)).toBe(true);
      // and forward again: the same apply, nothing left to plan
      await applyManifest(dialect, mestore, { ...applyOptions, backup: false });
      expect((await preparePlan(dialect, mestore, 'manifest/mestore.ts')).plan.steps).toEqual([]);
    } finally {
      await dialect.close();
      file.dispose();
    }
  });
});

describe.each(PATHS)('an index rolled back, then applied again ($path)', ({ query: options }) => {
  const AGAIN = [
    { label: 'the second apply still in effect', after: [] },
    { label: 'the index rolled back again', after: [[IX]] },
  ];
  test.each(AGAIN)('$label: --to 0 undoes both applies, texts and indexes as before the first', async ({ after }) => {
    const file = seededFile(baselineSchema('sqlite') + demoRows());
    const dialect = await openDialect(`sqlite:///${file.path}${options}`);
    try {
      const before = schemaTexts(file.path);
      await applyManifest(dialect, mestore, { ...applyOptions, backup: false });
      await rollback(dialect, rollbackOptions({ kind: 'objects', names: [IX] }, noBackup));
      await rollback(dialect, rollbackOptions({ kind: 'objects', names: [CK] }, noBackup));
      // apply 4 builds the index and adds the CHECK back
      await applyManifest(dialect, mestore, { ...applyOptions, backup: false });
      for (const names of after) await rollback(dialect, rollbackOptions({ kind: 'objects', names }, noBackup));
      const result = await rollback(dialect, rollbackOptions({ kind: 'to', runId: 0 }, noBackup));
      expect(result.plan.applies).toEqual([4, 1]);
      expect(schemaTexts(file.path)).toEqual(before);
      healthy(file.path);
    } finally {
      await dialect.close();
      file.dispose();
    }
  });
});

describe.each(PATHS)('the indexes of orders changed by hand after the index was rolled back ($path)', ({ query: options }) => {
  const HAND_MADE = [
    { label: 'the rolled-back index made again by hand', sql: `CREATE INDEX ${IX} ON orders (status, created_at)` },
    { label: 'another index made by hand', sql: 'CREATE INDEX ix_by_hand ON orders (buyer_id)' },
  ];
  test.each(HAND_MADE)('$label: the full rollback stops with one line, nothing changed', async ({ sql }) => {
    const file = seededFile(baselineSchema('sqlite') + demoRows());
    const dialect = await openDialect(`sqlite:///${file.path}${options}`);
    try {
      await applyManifest(dialect, mestore, { ...applyOptions, backup: false });
      await rollback(dialect, rollbackOptions({ kind: 'objects', names: [IX] }, noBackup));
      await rollback(dialect, rollbackOptions({ kind: 'objects', names: [CK] }, noBackup));
      run(file.path, sql);
      const texts = schemaTexts(file.path);
      const marks = (await dialect.history()).flatMap((r) => r.steps.map((s) => s.undoneBy));
      const refusal = rollback(dialect, rollbackOptions({ kind: 'last' }, noBackup));
      // the table step's guard, in the one transaction of the rollback; or, where the index is a part of the rebuild
      // step put back first, the drift check before it, which finds the index's name taken
      await expect(refusal).rejects.toMatchObject({
        code: 'refused',
        message: expect.stringMatching(
          /^(step 1 \(\w+ orders on main\.orders\) stopped by a safety check: not true that main\.orders, its indexes and triggers are as the plan expects; everything was rolled back, nothing was changed|ix_orders_status_created on main\.orders exists again since .*; nothing was changed: .*)$/,
        ),
      });
      expect(schemaTexts(file.path)).toEqual(texts);
      // no undo is journaled: every applied step and partial undo stays in effect
      expect((await dialect.history()).flatMap((r) => r.steps.map((s) => s.undoneBy))).toEqual(marks);
      healthy(file.path);
    } finally {
      await dialect.close();
      file.dispose();
    }
  });
});

describe.each(PATHS)('an index of an older apply rolled back under a newer table step ($path)', ({ path, query: options }) => {
  const SEED = `CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, m INTEGER); INSERT INTO t VALUES (1, 5, 6);`;
  const first = manifestOf({ t: { indexes: [{ name: 'ix_t_n', columns: ['n'] }] } });
  const FLOWS: ReadonlyArray<{ label: string; second: ReturnType<typeof manifestOf>; names: string[]; left: Readonly<Record<'edit' | 'rebuild', 'seed' | 'first'>> }> = [
    {
      label: 'made by the older apply, the newer one adds a CHECK',
      second: manifestOf({ t: { indexes: [{ name: 'ix_t_n', columns: ['n'] }], checks: [{ name: 'ck_n', expr: 'n > 0' }] } }),
      names: ['ix_t_n'],
      // the newer apply did not change ix_t_n: --constraint undoes the older apply's index step
      left: { edit: 'seed', rebuild: 'seed' } as const,
    },
    {
      label: 'made by the older apply, replaced by the newer one beside a new index and a CHECK',
      second: manifestOf({
        t: { indexes: [{ name: 'ix_t_n', columns: ['n', 'm'] }, { name: 'ix_t_m', columns: ['m'] }], checks: [{ name: 'ck_n', expr: 'n > 0' }] },
      }),
      names: ['ix_t_n', 'ix_t_m'],
      // edit path: the replace is a step of its own; a rebuild cannot undo a replaced index apart, so all of it goes
      left: { edit: 'first', rebuild: 'seed' } as const,
    },
  ];
  test.each(FLOWS)('$label: rollback, rollback return each state exactly', async ({ second, names, left }) => {
    const file = seededFile(SEED);
    const dialect = await openDialect(`sqlite:///${file.path}${options}`);
    try {
      const seed = schemaTexts(file.path);
      await applyManifest(dialect, first, { ...applyOptions, backup: false });
      const afterFirst = schemaTexts(file.path);
      await applyManifest(dialect, second, { ...applyOptions, backup: false });
      for (const name of names) await rollback(dialect, rollbackOptions({ kind: 'objects', names: [name] }, noBackup));
      // what is left of the newer apply, then of the older one
      await rollback(dialect, rollbackOptions({ kind: 'last' }, noBackup));
      expect(schemaTexts(file.path)).toEqual(left[path] === 'seed' ? seed : afterFirst);
      await rollback(dialect, rollbackOptions({ kind: 'last' }, noBackup));
      expect(schemaTexts(file.path)).toEqual(seed);
      healthy(file.path);
    } finally {
      await dialect.close();
      file.dispose();
    }
  });
});

describe('the journal row of the rolled-back index step is checked before it counts (edit path)', () => {
  const FORGED = [
    { label: 'a journal row without origin (as before schema-diff kept one)', origin: null, problem: /no recorded origin to render its inverse from/ },
    {
      label: 'an index to restore on another table',
      origin: JSON.stringify({ kind: 'index', drop: IX, restore: 'CREATE INDEX ix_evil ON users (email)' }),
      problem: /its recorded index to restore is not one CREATE INDEX on main\.orders/,
    },
  ];
  test.each(FORGED)('$label: the full rollback refuses with one line naming the step, nothing changed', async ({ origin, problem }) => {
    const file = seededFile(baselineSchema('sqlite') + demoRows());
    const dialect = await openDialect(`sqlite:///${file.path}`);
    try {
      await applyManifest(dialect, mestore, { ...applyOptions, backup: false });
      await rollback(dialect, rollbackOptions({ kind: 'objects', names: [IX] }, noBackup));
      const [{ seq }] = query<{ seq: number }>(file.path, `SELECT seq FROM schema_diff_steps WHERE run_id = 1 AND name = ?`, IX);
      run(file.path, `UPDATE schema_diff_steps SET origin = ? WHERE run_id = 1 AND seq = ?`, origin, seq);
      const texts = schemaTexts(file.path);
      const refusal = rollback(dialect, rollbackOptions({ kind: 'last' }, noBackup));
      await expect(refusal).rejects.toMatchObject({ message: expect.stringMatching(new RegExp(`^journal run 1 step ${seq}: .+$`)) });
      await expect(refusal).rejects.toMatchObject({ message: expect.stringMatching(problem) });
      expect(schemaTexts(file.path)).toEqual(texts);
      expect((await dialect.history()).filter((r) => r.kind === 'rollback')).toHaveLength(1);
    } finally {
      await dialect.close();
      file.dispose();
    }
  });
});
