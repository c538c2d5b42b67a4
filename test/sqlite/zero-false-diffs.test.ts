import { checkManifest } from '../../src/manifest/check.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { testApplyOptions } from '../helpers/options.js';
import { sqliteTarget } from '../helpers/targets.js';

/**
 * Zero false diffs on SQLite: SQLite keeps CHECK text as written, so the
 * comparison rests on token-level normalization. Each shape is written the
 * way people write it (case, spacing, parentheses, quoting); after apply,
 * plan must be empty.
 */
const SHAPES: readonly string[] = [
  'n >= 0',
  'N >= 0',
  'd between 0 and 100',
  'i BETWEEN 1 AND 5',
  "v LIKE '%@%.%'",
  "v like '%@%'",
  "t NOT LIKE '%bad%'",
  "v IN ('a', 'b', 'c')",
  "v not in ('x','y')",
  'i IN (1,2,3)',
  'COALESCE(n, 0) >= 0',
  'coalesce(n,0)>=0 AND i>0',
  'ABS(n - (i + d)) <= 0.01',
  '((n + i) * 2 - 1) / 3 > 0',
  'LENGTH(TRIM(v)) > 0',
  'length( trim( v ) ) > 0',
  '"MixedCase" > 0',
  '[MixedCase] < 1000',
  '`MixedCase` <> 5',
  '(((i > 0)))',
  'i    >    0   AND   n > 0',
  'i > 0 OR i IS NULL',
  'NOT (i < 0)',
  't IS NOT NULL',
  "t <> ''",
  "t != ''",
  'CAST(n AS INTEGER) >= 0',
  "ts > '2020-01-01'",
  'lower(v) = v',
  'i % 2 = 0',
  "CASE WHEN i > 0 THEN n > 0 ELSE 1 END",
  "typeof(n) IN ('integer', 'real', 'null')",
  'n = round(n, 2)',
  "instr(v, '@') > 1",
  "substr(v, 1, 1) <> ' '",
  "t IS NOT 'x'",
  'n > 0 AND (d > 0 OR i > 0)',
  "v GLOB '[A-Z]*'",
  "i > -1 -- a trailing comment\n",
  "/* why */ i < 1000000",
];

const SCHEMA = `CREATE TABLE shapes (
  id INTEGER PRIMARY KEY,
  n NUMERIC(10,2), d REAL, i INTEGER, t TEXT, v VARCHAR(20), "MixedCase" INTEGER, ts DATETIME
);`;

const manifest = checkManifest({
  tables: {
    shapes: {
      checks: SHAPES.map((expr, k) => ({ name: `ck_shape_${k}`, expr })),
      indexes: [
        { name: 'ix_shape_v', columns: ['v'], unique: true, where: 'v IS NOT NULL' },
        { name: 'ix_shape_i', columns: ['i', 't'], where: "i > 0 AND t <> ''" },
        { name: 'ix_shape_lower', columns: [{ expr: 'lower(v)' }] },
        { name: 'ix_shape_mixed', columns: ['MixedCase'], where: '"MixedCase" BETWEEN 1 AND 10' },
        { name: 'ix_shape_desc', columns: [{ column: 'i', desc: true }, { column: 't', collate: 'nocase' }] },
        { name: 'ix_shape_lower_desc', columns: [{ expr: 'lower(v)', desc: true, collate: 'RTRIM' }] },
      ],
    },
  },
});

describe('zero false diffs over an SQLite expression corpus', () => {
  test(`after apply of ${SHAPES.length} CHECK shapes and 6 indexes, plan is empty`, async () => {
    const target = await sqliteTarget(SCHEMA);
    try {
      const first = await preparePlan(target.dialect, manifest, 'shapes');
      expect(first.plan.steps.length).toBeGreaterThan(0);
      await applyManifest(target.dialect, manifest, { ...testApplyOptions, manifestPath: 'shapes', backup: false });
      const again = await preparePlan(target.dialect, manifest, 'shapes');
      expect(again.plan.steps.map((s) => `${s.action} ${s.name}`)).toEqual([]);
      const changed = checkManifest({ tables: { shapes: { checks: [{ name: 'ck_shape_0', expr: 'n > 0' }] } } });
      const { plan } = await preparePlan(target.dialect, changed, 'shapes');
      expect(plan.steps.map((s) => s.action)).toEqual(['rebuild_table']);
    } finally {
      await target.dispose();
    }
  });
});
