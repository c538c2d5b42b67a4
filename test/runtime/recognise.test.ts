import { defineManifest } from '../../src/manifest/define.js';
import { codeFromName, explainViolation, recogniseViolation } from '../../src/runtime/index.js';

/** Pure cases beside the real driver errors of explain.test.ts: shapes that are awkward to provoke. */
const sqliteError = (code: string, message: string) => Object.assign(new Error(message), { code });

const manifest = defineManifest({
  tables: {
    t: {
      checks: [{ expr: 'a > 0', description: 'A must be positive' }],
      indexes: [{ name: 'ux_t_lower_b', columns: [{ expr: 'lower(b)' }], unique: true, code: 'B_TAKEN' }],
    },
  },
});

test('codes derived from names', () => {
  expect(codeFromName('ck_order_total_positive')).toBe('ORDER_TOTAL_POSITIVE');
  expect(codeFromName('fk_orders_buyer_id')).toBe('ORDERS_BUYER_ID');
  expect(codeFromName('uq_sku.v2')).toBe('SKU_V2');
  expect(codeFromName('2fa_required')).toBe('C_2FA_REQUIRED');
});

test("an unnamed SQLite CHECK is found by the expression SQLite quotes; an expression index by its name", () => {
  expect(explainViolation(sqliteError('SQLITE_CONSTRAINT_CHECK', 'CHECK constraint failed: a > 0'), manifest)).toMatchObject({
    constraint: null,
    table: 't',
    kind: 'check',
    message: 'A must be positive',
    code: 'T_CHECK',
    httpStatus: 422,
  });
  expect(explainViolation(sqliteError('SQLITE_CONSTRAINT_UNIQUE', "UNIQUE constraint failed: index 'ux_t_lower_b'"), manifest)).toMatchObject({
    constraint: 'ux_t_lower_b',
    code: 'B_TAKEN',
    httpStatus: 409,
  });
});

test('what is no violation of a manifest rule is null', () => {
  expect(recogniseViolation(null)).toBeNull();
  expect(recogniseViolation('CHECK constraint failed')).toBeNull();
  expect(explainViolation(sqliteError('SQLITE_CONSTRAINT_NOTNULL', 'NOT NULL constraint failed: t.a'), manifest)).toBeNull();
  expect(explainViolation(sqliteError('SQLITE_CONSTRAINT_CHECK', 'CHECK constraint failed: b > 0'), manifest)).toBeNull();
  expect(explainViolation(Object.assign(new Error('x'), { code: '23514', constraint: 'ck_other', table: 't' }), manifest)).toBeNull();
  // a cause that loops back does not hang
  const a: { cause?: unknown } = {};
  const b = { cause: a };
  a.cause = b;
  expect(recogniseViolation(a)).toBeNull();
});
