import { readFileSync } from 'node:fs';
import { defineManifest } from '../../src/manifest/define.js';
import { checkManifest } from '../../src/manifest/check.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { describeEachDatabase } from '../helpers/each.js';
import type { TestTarget } from '../helpers/targets.js';
import { CHECK_SHAPES, INDEX_SHAPES } from '../helpers/corpus.js';

/**
 * Zero false diffs: expressions written the way people write them (the corpus,
 * test/helpers/corpus.ts), compared after PostgreSQL has parsed and printed
 * them back. After apply, plan must be empty for every one of them.
 */

const manifest = checkManifest(
  defineManifest({
    tables: {
      shapes: {
        checks: CHECK_SHAPES.map((expr, k) => ({ name: `ck_shape_${k}`, expr })),
        indexes: INDEX_SHAPES.map((ix, k) => ({ name: `ix_shape_${k}`, ...ix })),
      },
      'billing.Invoices': {
        checks: [{ name: 'ck_Invoice_Amount', expr: '"Amount" >= 0' }],
        foreignKeys: [
          { name: 'fk_Invoice_Shape', columns: ['shape_id'], references: { table: 'shapes', columns: ['id'] }, onDelete: 'cascade' },
        ],
        indexes: [{ name: 'ix_Invoices_Amount', columns: ['Amount'], where: '"Amount" > 0' }],
      },
    },
  }),
);

describeEachDatabase(['postgres', 'pglite'], 'zero false diffs over the expression corpus', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(readFileSync(new URL('../fixtures/shapes.sql', import.meta.url), 'utf8'));
  });
  afterAll(async () => target?.dispose());

  test(`the corpus has at least 40 shapes (${CHECK_SHAPES.length} checks, ${INDEX_SHAPES.length} index predicates)`, () => {
    expect(CHECK_SHAPES.length + INDEX_SHAPES.length).toBeGreaterThanOrEqual(40);
  });

  test('after apply, plan is empty', async () => {
    const first = await preparePlan(target.dialect, manifest, 'shapes');
    expect(first.plan.steps.length).toBeGreaterThan(CHECK_SHAPES.length);
    await applyManifest(target.dialect, manifest, {
      manifestPath: 'shapes',
      lockTimeoutMs: 100,
      lockRetries: 10,
      retryBudgetMs: 10_000,
      lockWaitMs: 1000,
      allowNotValid: false,
      confirm: async () => true,
    });
    const again = await preparePlan(target.dialect, manifest, 'shapes');
    expect(again.plan.steps.map((s) => `${s.action} ${s.name}`)).toEqual([]);
    // the plan above took every canonical form from apply's cache: without it, normalization must agree too
    await target.sql('DELETE FROM schema_diff.normalized');
    const normalized = await preparePlan(target.dialect, manifest, 'shapes');
    expect(normalized.plan.steps.map((s) => `${s.action} ${s.name}`)).toEqual([]);
  });

  test('a changed expression is a replace, not an add', async () => {
    const changed = checkManifest({
      tables: { shapes: { checks: [{ name: 'ck_shape_0', expr: 'n > 0' }] } },
    });
    const { plan } = await preparePlan(target.dialect, changed, 'shapes');
    // the other shapes, applied above and left out here, are dropped (schema-diff made them): not this test's concern
    expect(plan.steps.filter((s) => !s.action.startsWith('drop_')).map((s) => `${s.action} ${s.name}`)).toEqual([
      'replace_check ck_shape_0',
      'validate_constraint ck_shape_0',
    ]);
    expect(plan.steps[0].before).toContain('>= (0)::numeric');
    expect(plan.steps[0].after).toContain('> (0)::numeric');
  });
});
