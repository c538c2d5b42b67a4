import { scanExpression } from '../../src/dialect/postgres/expr-columns.js';
import { expressionProblem } from '../../src/dialect/sqlite/check-manifest.js';
import { fragmentProblems } from '../../src/dialect/fragments.js';

/**
 * The single-expression rule, on each dialect's own lexer: a manifest
 * fragment may not close a parenthesis it did not open, end the statement,
 * leave a comment, string or quoted name open, or be two things at top level.
 */
const postgres = (text: string) => scanExpression(text).problem;

const HOSTILE: ReadonlyArray<[string, string]> = [
  ['true); COMMIT; DROP TABLE victim; --', 'unbalanced ")"'],
  ['total > 0) , CHECK (1', 'unbalanced ")"'],
  ['a) or (b', 'unbalanced ")"'],
  [')(', 'unbalanced ")"'],
  ['(x > 0', 'unbalanced "("'],
  ['x > 0; DROP TABLE victim', 'contains ";"'],
  ['x > 0;', 'contains ";"'],
  ['x > 0 /* unterminated', 'unterminated comment'],
  ['x > 0 -- tail', 'a -- comment must end with a line break'],
  ["status = 'open", 'unterminated string'],
  ['"open > 0', 'unterminated quoted identifier'],
  ['lower(email), status', 'contains "," outside parentheses'],
  ['', 'empty'],
  ['  -- only a comment\n', 'empty'],
];

const FINE = [
  'x > 0',
  "status IN ('a)', 'b;', '--', '/*')",
  "note <> 'it''s; fine'",
  '"odd""name)" > 0',
  '((x > 0) AND (y > 0 OR (z IS NULL)))',
  'x > 0 -- a comment ended by a line break; ) (\n',
  '/* why ) ; */ x < 1000',
  'coalesce(a, b, 0) > 0',
  'x IN (1, 2, 3)',
];

describe('PostgreSQL: scanExpression decides what is one expression', () => {
  test.each(HOSTILE)('%j is refused: %s', (text, problem) => expect(postgres(text)).toBe(problem));
  test.each(FINE)('%j is one expression', (text) => expect(postgres(text)).toBeNull());
  test.each([
    ['$$a); DROP TABLE victim; --$$ <> name', null],
    ['$tag$ ) ; $$ $tag$ <> name', null],
    ['$$ open', 'unterminated dollar-quoted string'],
    ["E'it\\'s); DROP TABLE victim; --' <> name", null],
    ["E'open\\'", 'unterminated string'],
    ['/* outer /* nested */ still a comment ) ; */ x > 0', null],
    ['/* outer /* nested */ x > 0', 'unterminated comment'],
    ['arr[1] > 0', null],
    ['arr[1) > 0', 'unbalanced ")"'],
    ['(arr]', 'unbalanced "]"'],
    ['x::numeric(10, 2) > 0', null],
  ])('%j: %s', (text, problem) => expect(postgres(text)).toBe(problem));
});

describe('SQLite: expressionProblem reads with the SQLite tokenizer', () => {
  test.each(HOSTILE)('%j is refused: %s', (text, problem) => {
    const expected = problem === 'unterminated quoted identifier' ? 'unterminated identifier' : problem;
    expect(expressionProblem(text)).toBe(expected);
  });
  test.each(FINE)('%j is one expression', (text) => expect(expressionProblem(text)).toBeNull());
  test.each([
    ['[odd ) name] > 0', null],
    ['`odd ; name` > 0', null],
    ['[open > 0', 'unterminated [identifier]'],
    ["x'AB' <> b", null],
    ["x'AB", 'unterminated blob literal'],
    ['/**/ x > 0', null],
    ['x > 0 /*/', 'unterminated comment'],
    ['i > -1 -- a trailing comment\n', null],
  ])('%j: %s', (text, problem) => expect(expressionProblem(text)).toBe(problem));
});

/**
 * Where the lexer once disagreed with PostgreSQL's scan.l, and a fragment it
 * called one expression added ALTER TABLE subcommands (`…) , DROP COLUMN secret ,
 * ADD CHECK (…`): it must now see what PostgreSQL sees.
 */
describe('PostgreSQL: scanExpression reads as scan.l does', () => {
  const DROP = ') , DROP COLUMN secret , ADD CHECK (';
  test.each([
    // a -- comment ends at a carriage return too: the ) after it is code
    [`true -- x\r${DROP}true --\n`, 'unbalanced ")"'],
    // a dollar-quote tag may hold any byte >= 0x80: $é$ opens a string, and the ' inside it is not a quote
    [`$é$'$é$ IS NOT NULL${DROP}$é$'$é$ IS NOT NULL`, 'unbalanced ")"'],
    [`$é$ a ) b $é$ <> name`, null],
    // U+00A0 and U+2028 are identifier characters, not white space: \u00a0$$ is one name, not a name and a dollar quote
    [`true AND \u00a0$$ ${DROP} x\u00a0$$ IS NULL`, 'unbalanced ")"'],
    [`true AND \u2028$$ ${DROP} x\u2028$$ IS NULL`, 'unbalanced ")"'],
    // a number run into a name or string is an error in PostgreSQL 15+, and E'…' after it on older servers
    [`1e'\\' ${DROP} \\'' = 'x'`, 'a number runs into a name or string'],
    ['1e5 > x AND 0x1F > 2 AND 1_000 < 0o17', null],
  ])('%j: %s', (text, problem) => expect(postgres(text)).toBe(problem));
});

describe('every dialect: a control character other than \\n and \\t is refused before any lexer reads a fragment', () => {
  const desired = (expr: string) =>
    [{ ref: { schema: 'public', name: 't' }, path: 'tables.t', foreignKeys: [], indexes: [], checks: [{ name: 'ck', table: { schema: 'public', name: 't' }, expr, source: expr, validated: true, severity: 'critical' as const, path: 'tables.t.checks[0]' }] }];
  test.each([
    ['true -- x\r) , DROP COLUMN secret , ADD CHECK (true --\n', '\\r'],
    ['x > 0\u000b', '\\x0b'],
    ['x > 0\u0000', '\\x00'],
    ['x > 0 \u0085', '\\x85'],
    ['x > 0 \u202e', '\\u202e'],
  ])('%j is refused, naming %s', (text, shown) => {
    for (const problemOf of [postgres, expressionProblem]) {
      expect(fragmentProblems(desired(text), problemOf)).toEqual([`tables.t.checks[0].expr: not a single SQL expression (contains the control character ${shown})`]);
    }
  });
  test('line feeds and tabs are fine', () => {
    expect(fragmentProblems(desired('x > 0\t-- why\nAND y > 0'), postgres)).toEqual([]);
  });
});
