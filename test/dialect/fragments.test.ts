import { scanExpression } from '../../src/dialect/postgres/expr-columns.js';
import { expressionProblem } from '../../src/dialect/sqlite/check-manifest.js';

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
