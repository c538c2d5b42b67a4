import { referencedColumns, scanExpression } from '../../src/dialect/postgres/expr-columns.js';

const ORDERS = ['id', 'subtotal', 'tax_amount', 'total_amount', 'status', 'name', 'Qty', 'text', 'created_at'];

describe('referencedColumns: the columns an expression reads, from the table\'s own column list', () => {
  test.each([
    ['subtotal >= 0', ['subtotal']],
    ['ABS(total_amount - (subtotal + tax_amount)) <= 0.01', ['total_amount', 'subtotal', 'tax_amount']],
    ['LENGTH(TRIM(name)) > 0', ['name']],
    // unquoted names fold to lower case; quoted ones keep their case
    ['SUBTOTAL > 0 AND "Qty" > 0 AND qty > 0', ['subtotal', 'Qty']],
    // words inside strings, dollar quotes and comments are not columns
    ["status <> 'total_amount' AND status <> E'it\\'s subtotal'", ['status']],
    ['status <> $$tax_amount$$ AND status <> $t$ name $t$', ['status']],
    ['subtotal > 0 -- total_amount later\n AND /* tax_amount /* nested */ name */ id > 0', ['subtotal', 'id']],
    // function names, type names and qualifiers are not columns
    ['name(subtotal) > 0', ['subtotal']],
    ['total_amount::text <> \'\' AND CAST(subtotal AS text) <> \'\'', ['total_amount', 'subtotal']],
    ['orders.status = \'x\'', ['status']],
    ['created_at > now() - interval \'1 day\'', ['created_at']],
    ['true', []],
  ])('%s', (expr, columns) => {
    expect(referencedColumns(expr, ORDERS)).toEqual(columns);
  });
});

describe('scanExpression: one expression, or why not', () => {
  test.each([
    ['subtotal >= 0', null],
    ["status IN ('a)', 'b;')", null],
    ['x > 0 -- trailing ) and ;\n', null],
    ['x > 0 -- swallows what follows', 'a -- comment must end with a line break'],
    ['"odd""name)" > 0', null],
    ['arr[1] > 0', null],
    ['true) OR (true', 'unbalanced ")"'],
    ['(true', 'unbalanced "("'],
    ['true; DROP TABLE orders', 'contains ";"'],
    ["status = 'open", 'unterminated string'],
    ['x > 0 /* open', 'unterminated comment'],
    ['"open > 0', 'unterminated quoted identifier'],
    ['$$ open', 'unterminated dollar-quoted string'],
  ])('%s', (expr, problem) => {
    expect(scanExpression(expr).problem).toBe(problem);
  });
});
