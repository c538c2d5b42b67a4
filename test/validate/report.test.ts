import type { ViolationCount, ViolationTarget } from '../../src/dialect/dialect.js';
import { fixSqlTemplates } from '../../src/cli/fix-sql.js';
import { formatReportText } from '../../src/cli/commands/validate.js';
import { buildReport, scoreOf } from '../../src/run/validate.js';
import type { Catalog, Table } from '../../src/schema/types.js';

const orders = { schema: 'public', name: 'orders' };
const users = { schema: 'public', name: 'users' };
const table = (ref: typeof orders, rows: number, columns: [string, boolean][]): Table => ({
  ref,
  columns: columns.map(([name, nullable]) => ({ name, type: 'text', nullable })),
  primaryKey: ['id'],
  checks: [],
  foreignKeys: [],
  indexes: [],
  rowEstimate: rows,
});
const catalog: Catalog = {
  dialect: 'postgres',
  tables: [
    table(orders, 90, [['id', false], ['total', false], ['buyer_id', true], ['order number', false]]),
    table(users, 10, [['id', false]]),
  ],
};
const meta = { dialect: 'postgres' as const, target: 'postgres://db', checkedAt: '2025-01-01T00:00:00.000Z' };

const targets: ViolationTarget[] = [
  { kind: 'check', name: 'ck_total', table: orders, expr: 'total > 0 -- money', severity: 'critical' },
  { kind: 'foreign_key', name: 'fk_buyer', table: orders, columns: ['buyer_id'], refTable: users, refColumns: ['id'], severity: 'warning' },
  { kind: 'unique', name: 'ix_number', table: orders, keys: [{ column: 'order number' }], where: null, severity: 'critical' },
  { kind: 'check', name: 'ck_ratio', table: orders, expr: '1 / total > 0', severity: 'critical' },
];
const counts: ViolationCount[] = [
  { name: 'ck_total', table: orders, kind: 'check', severity: 'critical', violations: 3, rows: 100, sample: [{ id: 1, total: '0' }, { id: 2, total: '-1' }] },
  { name: 'fk_buyer', table: orders, kind: 'foreign_key', severity: 'warning', violations: 1, rows: 100, sample: [{ id: 7, buyer_id: 'x' }] },
  { name: 'ix_number', table: orders, kind: 'unique', severity: 'critical', violations: 0, groups: 0, rows: 100, sample: [] },
  { name: 'ck_ratio', table: orders, kind: 'check', severity: 'critical', violations: 0, rows: 100, sample: [], error: 'division by zero' },
];

describe('score', () => {
  test('100 × passing row × constraint checks, rounded down: 100 only when every check passes', () => {
    expect(scoreOf(0, 0)).toBe(100);
    expect(scoreOf(338, 66)).toBe(80.47);
    expect(scoreOf(3_000_000, 1)).toBe(99.99);
    expect(scoreOf(10, 10)).toBe(0);
  });

  test('failed expressions are left out; a dialect that gives no row count falls back to the catalog estimate', () => {
    const report = buildReport(counts, catalog, meta);
    expect(report.totals).toEqual({
      constraints: 4,
      tables: 1,
      violated: 2,
      errors: 1,
      critical: 2,
      warning: 1,
      violations: 4,
      checks: 300,
      passed: 296,
    });
    expect(report.score).toBe(98.66);
    const estimated = buildReport(counts.map(({ rows: _rows, ...c }) => c), catalog, meta);
    expect(estimated.constraints.map((c) => c.rows)).toEqual([90, 90, 90, 90]);
  });

  test('warning-only violations leave the database ready', () => {
    const report = buildReport([counts[1], counts[2]], catalog, meta);
    expect(report.ready).toBe(true);
    expect(report.totals).toMatchObject({ critical: 0, warning: 1 });
  });
});

describe('text and --fix-sql output', () => {
  const report = buildReport(counts, catalog, meta);

  test('a table of constraint, table, kind, severity, violations and sample ids, then summary and score', () => {
    const text = formatReportText({ report, catalog });
    expect(text[0]).toMatch(/^constraint\s+table\s+kind\s+severity\s+violations\s+sample ids$/);
    expect(text[2]).toMatch(/^ck_total\s+public\.orders\s+check\s+critical\s+3\s+1, 2, …$/);
    expect(text[3]).toMatch(/^fk_buyer\s+public\.orders\s+foreign key\s+warning\s+1\s+7$/);
    expect(text[5]).toMatch(/^ck_ratio\s+public\.orders\s+check\s+critical\s+error\s+division by zero$/);
    expect(text.slice(-3)).toEqual([
      '4 constraint(s) on 1 table(s): 2 violated, 1 failed to evaluate, 2 critical, 1 warning; 4 violating row(s)',
      'data-quality score: 98.66 / 100 (296 of 300 row × constraint checks pass)',
      'NOT READY: 2 critical constraint(s) violated or failing; fix the rows before apply (--fix-sql shows where to start)',
    ]);
  });

  test('every line of --fix-sql is a comment, one template per violated or failing constraint', () => {
    const sql = fixSqlTemplates({ report, targets, catalog });
    const lines = sql.trimEnd().split('\n');
    expect(lines.every((l) => l === '' || l.startsWith('--'))).toBe(true);
    expect(sql).toContain('--   UPDATE public.orders SET total = total /* corrected value */ WHERE (total > 0) IS FALSE;');
    expect(sql).toContain('--   DELETE FROM public.orders WHERE (total > 0) IS FALSE;');
    // buyer_id is nullable: orphans can be detached
    expect(sql).toContain(
      '--   UPDATE public.orders SET buyer_id = NULL WHERE public.orders.buyer_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.users p WHERE p.id = public.orders.buyer_id);',
    );
    expect(sql).toContain('-- ck_ratio on public.orders (critical): the expression fails on some row: division by zero');
    expect(sql).not.toContain('ix_number'); // not violated
  });

  test('unique templates quote odd names and keep the first row of each key', () => {
    const dup: ViolationCount = { ...counts[2], violations: 2, groups: 1, sample: [{ id: 1, 'order number': 'A' }] };
    const sql = fixSqlTemplates({ report: buildReport([dup], catalog, meta), targets, catalog });
    expect(sql).toContain(
      '--   DELETE FROM public.orders WHERE (id) IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY "order number" ORDER BY id) AS n FROM public.orders WHERE "order number" IS NOT NULL) d WHERE n > 1);',
    );
  });
});
