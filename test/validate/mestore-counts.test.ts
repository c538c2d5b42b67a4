import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { validateManifest, type ReportEntry, type ValidationReport } from '../../src/run/validate.js';
import { describeEachDatabase } from '../helpers/each.js';
import type { TestTarget } from '../helpers/targets.js';

const fixture = readFileSync(join(process.cwd(), 'test/fixtures/validate-mestore.sql'), 'utf8');
const U = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const P = (n: number) => `10000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** Per constraint: violations (unique: and duplicated keys) and the ids of the default 5 samples, from the fixture's comments. */
const EXPECTED: Record<string, { violations: number; groups?: number; ids: readonly (string | number)[] }> = {
  ck_order_subtotal_non_negative: { violations: 1, ids: [4] },
  ck_order_tax_non_negative: { violations: 2, ids: [5, 6] },
  ck_order_shipping_non_negative: { violations: 0, ids: [] },
  ck_order_discount_non_negative: { violations: 3, ids: [6, 7, 8] },
  ck_order_total_positive: { violations: 5, ids: [4, 6, 8, 9, 11] },
  ck_order_total_calculation: { violations: 4, ids: [6, 7, 8, 10] },
  ck_order_shipping_name_not_empty: { violations: 2, ids: [9, 10] },
  ck_order_shipping_phone_not_empty: { violations: 1, ids: [10] },
  fk_orders_buyer_id: { violations: 3, ids: [9, 10, 11] },
  ck_order_item_quantity_positive: { violations: 2, ids: [4, 5] },
  ck_order_item_unit_price_positive: { violations: 1, ids: [6] },
  ck_order_item_total_calculation: { violations: 1, ids: [7] },
  ck_order_item_product_name_not_empty: { violations: 0, ids: [] },
  ck_order_item_product_sku_not_empty: { violations: 3, ids: [5, 6, 7] },
  fk_order_items_product_id: { violations: 1, ids: [7] },
  ck_payment_amount_positive: { violations: 3, ids: [4, 5, 6] },
  ck_payment_currency_format: { violations: 2, ids: [4, 5] },
  ck_payment_method_type_not_empty: { violations: 1, ids: [5] },
  ck_payment_status_not_empty: { violations: 0, ids: [] },
  fk_payments_transaction_id: { violations: 1, ids: [6] },
  ix_payments_wompi_transaction_id_unique: { violations: 2, groups: 1, ids: [1, 4, 5] },
  ix_payments_wompi_payment_id_unique: { violations: 0, groups: 0, ids: [] },
  ck_product_precio_venta_non_negative: { violations: 2, ids: [P(5), P(6)] },
  ck_product_precio_costo_non_negative: { violations: 1, ids: [P(6)] },
  ck_product_comision_non_negative: { violations: 0, ids: [] },
  ck_product_peso_non_negative: { violations: 3, ids: [P(6), P(7), P(8)] },
  ck_product_sku_not_empty: { violations: 2, ids: [P(5), P(6)] },
  ck_product_name_not_empty: { violations: 1, ids: [P(7)] },
  fk_products_vendedor_id: { violations: 2, ids: [P(6), P(7)] },
  ck_user_email_format: { violations: 2, ids: [U(6), U(7)] },
  ck_user_security_clearance_range: { violations: 3, ids: [U(6), U(7), U(8)] },
  ck_user_performance_score_range: { violations: 1, ids: [U(7)] },
  ck_user_failed_logins_non_negative: { violations: 5, ids: [U(6), U(7), U(8), U(9), U(10)] },
  ck_user_otp_attempts_non_negative: { violations: 0, ids: [] },
  ck_user_reset_attempts_non_negative: { violations: 1, ids: [U(8)] },
  fk_order_transactions_order_id: { violations: 0, ids: [] },
  fk_order_transactions_payment_method_id: { violations: 2, ids: [5, 6] },
  // gw-1001 three times (1, 4, 5), gw-2 twice (6, 7); two NULL gateway ids do not clash
  ix_order_transactions_gateway_id_unique: { violations: 3, groups: 2, ids: [1, 4, 5, 6, 7] },
  fk_payment_methods_buyer_id: { violations: 0, ids: [] },
};

const ROWS: Record<string, number> = {
  'public.users': 10,
  'public.products': 8,
  'public.orders': 11,
  'public.order_items': 8,
  'public.payment_methods': 2,
  'public.order_transactions': 8,
  'public.payments': 7,
};

const byName = (report: ValidationReport) => new Map(report.constraints.map((c) => [c.name, c]));
const entry = (report: ValidationReport, name: string) => byName(report).get(name) as ReportEntry;

describeEachDatabase(['postgres', 'pglite'], 'validate on MeStore rows with known violations', (make) => {
  let target: TestTarget;
  let report: ValidationReport;
  beforeAll(async () => {
    target = await make(baselineSchema('postgres') + demoRows() + fixture);
    report = (await validateManifest(target.dialect, mestore, { samples: 5, jobs: 2 })).report;
  });
  afterAll(async () => target?.dispose());

  test('every object rows can break is checked: 29 CHECKs, 7 foreign keys, 3 unique indexes, in manifest order', () => {
    expect(report.constraints.map((c) => c.name)).toEqual(Object.keys(EXPECTED));
    const kinds = report.constraints.map((c) => c.kind);
    expect(kinds.filter((k) => k === 'check')).toHaveLength(29);
    expect(kinds.filter((k) => k === 'foreign_key')).toHaveLength(7);
    expect(kinds.filter((k) => k === 'unique')).toHaveLength(3);
  });

  test.each(Object.entries(EXPECTED))('%s: exact violation count', (name, want) => {
    const got = entry(report, name);
    expect(got.error).toBeUndefined();
    expect(got.violations).toBe(want.violations);
    if (got.kind === 'unique') expect(got.groups).toBe(want.groups);
    else expect(got).not.toHaveProperty('groups');
    expect(got.rows).toBe(ROWS[got.table]);
  });

  test.each(Object.entries(EXPECTED))('%s: samples are the first offending rows by primary key', (name, want) => {
    expect(entry(report, name).sample.map((r) => r.id)).toEqual(want.ids);
  });

  test('NULL results pass: NULL clearance, NULL score, NULL prices, NULL external ids are not counted', () => {
    expect(entry(report, 'ck_user_security_clearance_range').sample.map((r) => r.id)).not.toContain(U(9));
    expect(entry(report, 'ck_user_performance_score_range').sample.map((r) => r.id)).not.toContain(U(8));
    expect(entry(report, 'ck_product_precio_venta_non_negative').sample.map((r) => r.id)).not.toContain(P(7));
    expect(entry(report, 'fk_order_transactions_payment_method_id').sample.map((r) => r.id)).not.toContain(4);
  });

  test('a sample holds the primary key and the columns the constraint reads, with their values', () => {
    expect(entry(report, 'ck_order_total_calculation').sample[0]).toEqual({
      id: 6,
      total_amount: '0.00',
      subtotal: '10.00',
      tax_amount: '-2.00',
      shipping_cost: '0.00',
      discount_amount: '-1.00',
    });
    expect(entry(report, 'ck_user_security_clearance_range').sample).toEqual([
      { id: U(6), security_clearance_level: 9 },
      { id: U(7), security_clearance_level: 0 },
      { id: U(8), security_clearance_level: -1 },
    ]);
    expect(entry(report, 'fk_orders_buyer_id').sample).toEqual([
      { id: 9, buyer_id: 'ghost-buyer-a' },
      { id: 10, buyer_id: 'ghost-buyer-b' },
      { id: 11, buyer_id: 'ghost-buyer-c' },
    ]);
    expect(entry(report, 'ix_payments_wompi_transaction_id_unique').sample).toEqual([
      { id: 1, wompi_transaction_id: 'wompi-tx-1' },
      { id: 4, wompi_transaction_id: 'wompi-tx-1' },
      { id: 5, wompi_transaction_id: 'wompi-tx-1' },
    ]);
    // email is a column; LIKE's pattern is a string, not one
    expect(Object.keys(entry(report, 'ck_user_email_format').sample[0])).toEqual(['id', 'email']);
  });

  test('totals and score: share of row × constraint checks that pass', () => {
    const checks = report.constraints.reduce((n, c) => n + ROWS[c.table], 0);
    const violations = Object.values(EXPECTED).reduce((n, e) => n + e.violations, 0);
    expect(checks).toBe(338);
    expect(violations).toBe(66);
    expect(report.totals).toEqual({
      constraints: 39,
      tables: 7,
      violated: 31,
      errors: 0,
      critical: 31,
      warning: 0,
      violations: 66,
      checks: 338,
      passed: 272,
    });
    expect(report.score).toBe(80.47); // floor(272 / 338 × 10000) / 100
    expect(report.ready).toBe(false);
  });

  test('the report is plain JSON with the documented shape', () => {
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    expect(Object.keys(report)).toEqual(['version', 'dialect', 'target', 'checkedAt', 'constraints', 'totals', 'score', 'ready']);
    expect(report.version).toBe(1);
    expect(report.dialect).toBe('postgres');
    for (const c of report.constraints) {
      const keys = ['name', 'table', 'kind', 'severity', 'violations', ...(c.kind === 'unique' ? ['groups'] : []), 'rows', 'sample', ...(c.description ? ['description'] : [])];
      expect(Object.keys(c)).toEqual(keys);
    }
  });

  test('--samples N limits the sample rows; 0 gives none but the same counts', async () => {
    const two = (await validateManifest(target.dialect, mestore, { samples: 2, jobs: 1 })).report;
    expect(entry(two, 'ck_order_total_positive').sample.map((r) => r.id)).toEqual([4, 6]);
    expect(entry(two, 'ix_order_transactions_gateway_id_unique').sample.map((r) => r.id)).toEqual([1, 4]);
    const none = (await validateManifest(target.dialect, mestore, { samples: 0, jobs: 2 })).report;
    expect(none.constraints.every((c) => c.sample.length === 0)).toBe(true);
    expect(none.constraints.map((c) => c.violations)).toEqual(report.constraints.map((c) => c.violations));
  });

  test('--only and --table narrow the check; together they intersect', async () => {
    const only = await validateManifest(target.dialect, mestore, {
      samples: 1,
      jobs: 2,
      only: ['ck_order_total_positive', 'fk_payments_transaction_id'],
    });
    expect(only.report.constraints.map((c) => [c.name, c.violations])).toEqual([
      ['ck_order_total_positive', 5],
      ['fk_payments_transaction_id', 1],
    ]);
    expect(only.report.totals.checks).toBe(11 + 7);
    const tables = await validateManifest(target.dialect, mestore, { samples: 1, jobs: 2, tables: ['public.payments', 'users'] });
    expect(new Set(tables.report.constraints.map((c) => c.table))).toEqual(new Set(['public.payments', 'public.users']));
    expect(tables.report.constraints).toHaveLength(7 + 6);
    const both = await validateManifest(target.dialect, mestore, { samples: 1, jobs: 2, tables: ['users'], only: ['ck_order_total_positive'] });
    expect(both.report.constraints).toEqual([]);
    expect(both.report.score).toBe(100);
  });

  test('unknown names are errors that suggest the likely one', async () => {
    await expect(validateManifest(target.dialect, mestore, { samples: 1, jobs: 1, only: ['ck_order_total_positiv'] })).rejects.toThrow(
      '--only ck_order_total_positiv: no such constraint or index in the manifest (did you mean ck_order_total_positive?)',
    );
    await expect(validateManifest(target.dialect, mestore, { samples: 1, jobs: 1, only: ['ix_orders_status_created'] })).rejects.toThrow(
      'a non-unique index, which no row can violate',
    );
    await expect(validateManifest(target.dialect, mestore, { samples: 1, jobs: 1, tables: ['order'] })).rejects.toThrow(
      '--table order: not a table of the manifest (did you mean orders?)',
    );
  });

  test('validate reads only: the data and the catalog are as they were', async () => {
    const before = await target.sql(`select count(*)::int as n from pg_constraint where connamespace = 'public'::regnamespace`);
    await validateManifest(target.dialect, mestore, { samples: 5, jobs: 2 });
    expect(await target.sql(`select count(*)::int as n from pg_constraint where connamespace = 'public'::regnamespace`)).toEqual(before);
    expect(await target.sql(`select count(*)::int as n from pg_namespace where nspname = 'schema_diff'`)).toEqual([{ n: 0 }]);
  });
});

describeEachDatabase(['postgres', 'pglite'], 'validate on clean MeStore rows', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(baselineSchema('postgres') + demoRows());
  });
  afterAll(async () => target?.dispose());

  test('zero violations everywhere, score 100, ready', async () => {
    const { report } = await validateManifest(target.dialect, mestore, { samples: 5, jobs: 2 });
    expect(report.constraints).toHaveLength(39);
    expect(report.constraints.filter((c) => c.violations > 0 || c.error)).toEqual([]);
    expect(report.score).toBe(100);
    expect(report.ready).toBe(true);
    expect(report.totals.checks).toBe(report.totals.passed);
  });
});
