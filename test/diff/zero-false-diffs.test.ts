import { readFileSync } from 'node:fs';
import { defineManifest } from '../../src/manifest/define.js';
import { checkManifest } from '../../src/manifest/check.js';
import type { AnyDB, IndexSpec } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { describeEachDatabase } from '../helpers/each.js';
import type { TestTarget } from '../helpers/targets.js';

/**
 * Zero false diffs: expressions written the way people write them, compared
 * after PostgreSQL has parsed and printed them back. After apply, plan must be
 * empty for every one of them.
 */
export const CHECK_SHAPES: readonly string[] = [
  'n >= 0',
  'd >= 0',
  'i >= 0',
  'n BETWEEN 1 AND 5',
  'd between 0 and 100',
  'i BETWEEN SYMMETRIC 5 AND 1',
  "v LIKE '%@%.%'",
  "t ILIKE 'a%'",
  "t NOT LIKE '%bad%'",
  "v IN ('a', 'b', 'c')",
  "v NOT IN ('x','y')",
  'i IN (1,2,3)',
  'i = ANY (ARRAY[1, 2, 3])',
  'COALESCE(n, 0) >= 0',
  'ABS(n - (i + s)) <= 0.01',
  '((n + i) * 2 - 1) / 3 > 0',
  'LENGTH(TRIM(v)) > 0',
  'char_length(t) < 100',
  '"MixedCase" > 0',
  '(((i > 0)))',
  'i    >    0   AND   n > 0',
  'i > 0 OR i IS NULL',
  'NOT (i < 0)',
  't IS NOT NULL',
  "t <> ''",
  'n::integer >= 0',
  'CAST(n AS integer) >= 0',
  "ts > '2020-01-01'",
  "dt >= DATE '2020-01-01'",
  'flag IS TRUE OR flag IS FALSE',
  'lower(v) = v',
  "v ~ '^[A-Z]{3}$'",
  'i % 2 = 0',
  's BETWEEN -5 AND 5',
  'b > 1000000000000',
  'n >= 0.5',
  'd > 1e-3',
  'CASE WHEN i > 0 THEN n > 0 ELSE true END',
  "j ->> 'k' IS NOT NULL",
  'array_length(arr, 1) > 0',
  "UPPER(v) SIMILAR TO '[A-Z]+'",
  'greatest(i, 0) = i',
  'n = round(n, 2)',
  "position('@' in v) > 1",
  "substring(v from 1 for 1) <> ' '",
  'extract(year from dt) > 2000',
  "t IS DISTINCT FROM 'x'",
  'n > 0 AND (d > 0 OR i > 0)',
  "coalesce(trim(both from v), '') <> ''",
  "TRIM(v) != ''",
  'd >= 0::double precision',
  'i::numeric(10,2) = n',
];

const INDEX_SHAPES: readonly Omit<IndexSpec<AnyDB, string>, 'name'>[] = [
  { columns: ['v'], where: 'v IS NOT NULL', unique: true },
  { columns: ['i'], where: 'flag' },
  { columns: ['t', 'i'], where: "i > 0 AND t <> ''" },
  { columns: ['v'], where: "v IN ('a','b')" },
  { columns: [{ expr: 'lower(v)' }] },
  { columns: [{ expr: 'n * 2' }, 'i'] },
  { columns: ['"MixedCase"'.replace(/"/g, '')], where: '"MixedCase" BETWEEN 1 AND 10' },
  { columns: ['ts'], where: "ts > '2024-01-01'" },
  // predicates in the spellings people write (parsed as CHECKs beside a shared index: see normalize-batch.ts)
  { columns: ['i'], where: 'NOT flag' },
  { columns: ['i'], where: 'i % 2 = 0' },
  { columns: ['v'], where: "coalesce(v, '') <> ''" },
  { columns: ['v'], where: "v LIKE 'a%'" },
  { columns: ['ts'], where: 'ts IS NULL OR i > 3' },
  { columns: ['t'], where: 'true' },
  { columns: ['v'], where: "lower(v) = 'x'" },
  { columns: ['i'], where: 'i BETWEEN 1 AND 5', unique: true },
  { columns: ['v'], where: "v::text = 'a'" },
  { columns: ['i'], where: '(i > 0) = true' },
  { columns: ['n'], where: 'n > 0.5' },
  { columns: ['t'], where: "t = ANY (ARRAY['a', 'b'])" },
  { columns: ['i'], where: 'i IN (1, 2, 3)' },
  { columns: [{ expr: 'lower(v)', desc: true }, { expr: "coalesce(t, '')" }, 'i'], where: 'i > 0' },
  // key and index options, as the manifest writes them
  { columns: [{ column: 'i', desc: true, nulls: 'last' }, { column: 'n', nulls: 'first' }] },
  { columns: [{ column: 'i', desc: true, nulls: 'first' }] },
  { columns: ['i'], unique: true, include: ['t', 'v'] },
  { columns: ['t'], unique: true, nullsNotDistinct: true },
  { columns: [{ column: 't', collate: 'C' }, { expr: 'lower(v)', collate: 'POSIX' }] },
  { columns: [{ column: 't', opclass: 'TEXT_PATTERN_OPS' }, { column: 'v', opclass: 'varchar_pattern_ops' }] },
  { columns: [{ column: 'i', opclass: 'int4_ops' }, { column: 't', opclass: 'text_ops' }], with: { fillfactor: 70 } },
  { columns: ['b'], with: { fillfactor: '90', deduplicate_items: false } },
];

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
