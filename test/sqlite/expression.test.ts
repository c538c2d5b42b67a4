import Database from 'better-sqlite3';
import { normalizeExpression } from '../../src/dialect/sqlite/expression.js';

const COLUMNS = ['subtotal', 'tax_amount', 'Total Amount', 'status', 'key', 'email', 'qty', 'price', 'Name'];
const n = (expr: string) => normalizeExpression(expr, COLUMNS);

/** Pairs written differently that SQLite reads the same: they must normalize to one string. */
const SAME: Array<[string, string]> = [
  ['subtotal >= 0', '((subtotal>=0))'],
  ['subtotal >= 0', 'SUBTOTAL   >=\n 0'],
  ['subtotal >= 0', '"subtotal" >= 0'],
  ['subtotal >= 0', '[subtotal] >= 0 -- non-negative'],
  ['subtotal >= 0', '`Subtotal` /* c */ >= 0'],
  ['qty BETWEEN 1 AND 5', 'qty between 1 and 5'],
  ['LENGTH(TRIM(status)) > 0', 'length( trim( status ) )>0'],
  ['ABS("Total Amount" - (subtotal + tax_amount)) <= 0.01', 'abs([total amount]-(subtotal+tax_amount))<=0.01'],
  ["email LIKE '%@%.%'", "email like '%@%.%'"],
  ['price IS NULL OR price >= 0', 'price is null or price>=0'],
  ['qty <> 0', 'qty != 0'],
  ['qty = 1', 'qty == 1'],
  ["status IN ('A', 'B')", "status in ('A','B')"],
  ['qty > -1', 'qty>-1'],
  ['-qty < 0', '- qty<0'],
  ['"key" > 0', 'key > 0'],
  ['"key" > 0', '[KEY] > 0'],
  ['CAST(price AS REAL) > 1e3', 'cast (price as real) > 1E3'],
  ['COALESCE(price, 0) >= 0', 'coalesce(price,0)>=0'],
  ['Name IS NOT NULL', 'name is not null'],
  ['NOT qty = 0', 'not qty=0'],
  ["X'0A' IS NOT NULL", "x'0a' is not null"],
];

/** Pairs that look alike but mean different things: they must stay apart. */
const DIFFERENT: Array<[string, string]> = [
  ["status = 'A'", "status = 'a'"],
  ["status = 'A'", 'status = "A"'], // "A" names no column: SQLite reads it as a string, but only by leniency
  ['(qty + 1) * 2', 'qty + 1 * 2'],
  ['qty - 1 > 0', 'qty > 0'],
  ["email LIKE 'a%'", "email GLOB 'a%'"],
  ['price >= 0', 'price > 0'],
];

describe('token-level normalization of expressions', () => {
  test.each(SAME)('%s  ≡  %s', (a, b) => {
    expect(n(b)).toBe(n(a));
  });

  test.each(DIFFERENT)('%s  ≢  %s', (a, b) => {
    expect(n(a)).not.toBe(n(b));
  });

  test('is idempotent: a normalized expression normalizes to itself', () => {
    for (const [a, b] of [...SAME, ...DIFFERENT]) {
      expect(n(n(a))).toBe(n(a));
      expect(n(n(b))).toBe(n(b));
    }
  });

  test('keeps the meaning: SQLite evaluates the original and the normalized form alike on sample rows', () => {
    const db = new Database(':memory:');
    db.exec(`CREATE TABLE t (subtotal, tax_amount, "Total Amount", status, "key", email, qty, price, Name);
      INSERT INTO t VALUES (1, 0.19, 1.19, 'A', 3, 'a@b.co', 2, 0.5, 'x'), (-1, NULL, 0, 'b', -1, 'nope', 0, NULL, NULL), (0, 0, 0.02, 'B', 0, '', -3, -0.0, '');`);
    for (const [a, b] of [...SAME, ...DIFFERENT]) {
      for (const e of [a, b]) {
        const evaluate = (x: string) => {
          try {
            return db.prepare(`SELECT (${x}\n) AS v FROM t ORDER BY rowid`).all();
          } catch (err) {
            return (err as Error).message; // this build refuses "double-quoted" strings: both forms must fail alike
          }
        };
        expect(evaluate(n(e))).toEqual(evaluate(e));
      }
    }
    db.close();
  });

  test('a column name matches whatever its case; reserved words never become columns', () => {
    expect(normalizeExpression('"and" AND x', ['and', 'X'])).toBe('"and" AND X');
    expect(normalizeExpression('LENGTH(length) > 0', ['length'])).toBe('LENGTH(length) > 0');
  });
});
