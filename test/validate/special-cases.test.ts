import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { validateManifest, type ReportEntry, type ValidationReport } from '../../src/run/validate.js';
import { describeEachDatabase } from '../helpers/each.js';
import type { TestTarget } from '../helpers/targets.js';

const fixture = readFileSync(join(process.cwd(), 'test/fixtures/validate-special.sql'), 'utf8');

const INJECTION = 'true) IS FALSE) AS x FROM "Sales"."OrderLines"; DROP TABLE "Sales".audit; SELECT ((true';

const manifest: LoadedManifest = {
  version: 1,
  tables: {
    'Sales.OrderLines': {
      checks: [
        { name: 'ck_qty_positive', expr: '"Qty" > 0' },
        { name: 'ck_unit_price', expr: '"Total" / "Qty" >= 1' },
        { name: 'ck_total_non_negative', expr: '"Total" >= 0', severity: 'warning' },
        { name: 'ck_email_lowercase', expr: '"Email" = lower("Email")' },
        { name: 'ck_qty_sane', expr: '"Qty" < 1000 -- "Total" may be large\n' },
      ],
      foreignKeys: [
        {
          name: 'fk_lines_region',
          columns: ['RegionCode', 'RegionCountry'],
          references: { table: 'Sales.Regions', columns: ['Code', 'Country'] },
        },
      ],
      indexes: [
        { name: 'ix_lines_email_lower', columns: [{ expr: 'lower("Email")' }], unique: true },
        { name: 'ix_lines_region_code', columns: ['RegionCode'], unique: true },
        { name: 'ix_lines_country_positive', columns: ['RegionCountry'], unique: true, where: '"Qty" > 0' },
      ],
    },
    'Sales.big': { checks: [{ name: 'ck_big_v', expr: 'v < 999' }] },
  },
};

const line = (order: number, no: number, rest: Record<string, unknown>) => ({ OrderId: order, LineNo: no, ...rest });

describeEachDatabase(['postgres', 'pglite'], 'validate: hard cases', (make) => {
  let target: TestTarget;
  let report: ValidationReport;
  const progress: string[] = [];
  const get = (name: string) => report.constraints.find((c) => c.name === name) as ReportEntry;
  beforeAll(async () => {
    target = await make(fixture);
    report = (await validateManifest(target.dialect, manifest, { samples: 5, jobs: 2, onProgress: (m) => progress.push(m) })).report;
  });
  afterAll(async () => target?.dispose());

  test('a schema-qualified table with quoted mixed-case names is found and reported as schema.table', () => {
    expect(get('ck_qty_positive')).toMatchObject({ table: 'Sales.OrderLines', violations: 2, rows: 6 });
    expect(get('ck_qty_positive').sample).toEqual([line(1, 2, { Qty: 0 }), line(1, 3, { Qty: -1 })]);
  });

  test('an expression that fails on one row is reported with the database message; the others on its table still count', () => {
    expect(get('ck_unit_price')).toMatchObject({ violations: 0, sample: [] });
    expect(get('ck_unit_price').error).toBe('division by zero');
    expect(get('ck_total_non_negative')).toMatchObject({ violations: 1, sample: [line(1, 3, { Total: '-3.00' })] });
    expect(get('ck_email_lowercase')).toMatchObject({ violations: 1, sample: [line(1, 2, { Email: 'A@x.com' })] });
  });

  test('a trailing -- comment is harmless, and a column named only in it is not sampled', () => {
    expect(get('ck_qty_sane')).toMatchObject({ violations: 1, sample: [line(2, 2, { Qty: 5000 })] });
  });

  test('validate runs no function that is not IMMUTABLE: a CHECK calling a writing function is refused before any row is read', async () => {
    const writes: LoadedManifest = { version: 1, tables: { 'Sales.OrderLines': { checks: [{ name: 'ck_no_writes', expr: '"Sales".sneaky("Qty")' }] } } };
    await expect(validateManifest(target.dialect, writes, { samples: 5, jobs: 2 })).rejects.toThrow(
      'manifest tables["Sales.OrderLines"].checks[0].expr: calls "Sales".sneaky(integer), which is VOLATILE: only IMMUTABLE functions and operators may appear here',
    );
    expect(await target.sql('select count(*)::int as n from "Sales".audit')).toEqual([{ n: 0 }]);
  });

  test('text that would close validate\'s parenthesis or start another statement is refused before anything runs', async () => {
    const hostile: LoadedManifest = { version: 1, tables: { 'Sales.OrderLines': { checks: [{ name: 'ck_injection', expr: INJECTION }] } } };
    await expect(validateManifest(target.dialect, hostile, { samples: 5, jobs: 2 })).rejects.toThrow(
      'manifest tables["Sales.OrderLines"].checks[0].expr: not a single SQL expression (unbalanced ")")',
    );
    expect(await target.sql(`select to_regclass('"Sales".audit') is not null as present`)).toEqual([{ present: true }]);
  });

  test('and validate\'s own wrapping still refuses such text when given it directly (defence in depth)', async () => {
    const table = { schema: 'Sales', name: 'OrderLines' };
    const [counted] = await target.dialect.countViolations(
      [{ kind: 'check', name: 'ck_injection', table, expr: INJECTION, severity: 'critical' }],
      { samples: 5, jobs: 1 },
    );
    expect(counted.error).toBe('not a single SQL expression (unbalanced ")"); not run');
    expect(await target.sql(`select to_regclass('"Sales".audit') is not null as present`)).toEqual([{ present: true }]);
  });

  test('composite foreign key, MATCH SIMPLE: a row with any NULL key column is no orphan; both columns must match', () => {
    expect(get('fk_lines_region')).toMatchObject({
      violations: 2,
      sample: [line(1, 2, { RegionCode: 'N', RegionCountry: 'PE' }), line(1, 3, { RegionCode: 'Z', RegionCountry: 'CO' })],
    });
  });

  test('unique indexes: NULL keys never clash, expression keys group as the index would, predicates are honoured', () => {
    expect(get('ix_lines_email_lower')).toMatchObject({
      violations: 1,
      groups: 1,
      sample: [line(1, 1, { Email: 'a@x.com' }), line(1, 2, { Email: 'A@x.com' })],
    });
    // N three times; the two NULL codes would make a second group if NULLs clashed
    expect(get('ix_lines_region_code')).toMatchObject({ violations: 2, groups: 1 });
    expect(get('ix_lines_region_code').sample.map((r) => [r.LineNo, r.RegionCode])).toEqual([
      [1, 'N'],
      [2, 'N'],
      [2, 'N'],
    ]);
    // CO three times, but only one of those rows has "Qty" > 0
    expect(get('ix_lines_country_positive')).toMatchObject({ violations: 0, groups: 0, sample: [] });
  });

  test('a big table: exact count, samples in key order, progress lines', () => {
    expect(get('ck_big_v')).toMatchObject({ table: 'Sales.big', violations: 120, rows: 120_000 });
    expect(get('ck_big_v').sample).toEqual([999, 1999, 2999, 3999, 4999].map((id) => ({ id, v: 999 })));
    expect(progress.some((m) => m.startsWith('Sales.big (~120,000 rows'))).toBe(true);
    expect(progress.some((m) => /^Sales\.big: 1 CHECK\(s\) in one pass done in \d+\.\d s$/.test(m))).toBe(true);
    expect(progress.some((m) => m.startsWith('Sales.OrderLines'))).toBe(false);
  });

  test('totals count failed expressions apart, and leave them out of the score', () => {
    expect(report.totals).toMatchObject({ constraints: 10, tables: 2, errors: 1, violated: 8, critical: 8, warning: 1, violations: 130 });
    expect(report.totals.checks).toBe(8 * 6 + 120_000);
    expect(report.score).toBe(99.89);
    expect(report.ready).toBe(false);
  });

  test('one job or two: the same report', async () => {
    const serial = (await validateManifest(target.dialect, manifest, { samples: 5, jobs: 1 })).report;
    expect(serial.constraints).toEqual(report.constraints);
  });
});
