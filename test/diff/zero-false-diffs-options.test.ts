import { preparePlan } from '../../src/run/prepare.js';
import { describeEachDatabase } from '../helpers/each.js';
import type { TestTarget } from '../helpers/targets.js';
import { POSTGRES_OPTIONS_SEED, SQLITE_OPTIONS_SEED, postgresOptionsManifest, sqliteOptionsManifest } from '../helpers/option-seeds.js';

/**
 * Zero false diffs for indexes and constraints written by hand, in the
 * spellings people use (and other tools emit), described by a manifest: the
 * first plan is already empty. The manifest-written spellings are in the
 * expression corpora (zero-false-diffs.test.ts, sqlite/zero-false-diffs.test.ts).
 */
describeEachDatabase(['postgres', 'pglite', 'sqlite'], 'zero false diffs for options written by hand', (make, kind) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(kind === 'sqlite' ? SQLITE_OPTIONS_SEED : POSTGRES_OPTIONS_SEED);
  });
  afterAll(async () => target?.dispose());

  test('a manifest describing them plans nothing', async () => {
    const { plan } = await preparePlan(target.dialect, kind === 'sqlite' ? sqliteOptionsManifest : postgresOptionsManifest, 'hand');
    expect(plan.steps.map((s) => `${s.action} ${s.name}`)).toEqual([]);
  });
});
