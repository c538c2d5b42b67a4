import { parseCreateIndex } from '../../src/dialect/sqlite/create-index.js';
import { significant, tokenize, TokenizeError } from '../../src/dialect/sqlite/tokenizer.js';

const kinds = (sql: string) => significant(tokenize(sql)).map((t) => `${t.kind}:${t.value}`);

describe('SQLite tokenizer', () => {
  test('string literals with doubled quotes, and the three identifier quotings', () => {
    expect(kinds(`'it''s' "a ""b""" \`c\`\`d\` [e f]`)).toEqual(["string:it's", 'quoted:a "b"', 'quoted:c`d', 'quoted:e f']);
  });

  test('a keyword, a comma or a parenthesis inside quotes or comments is not one', () => {
    const sql = `CHECK (a = 'x, CHECK (y)') -- CHECK (z)\n/* REFERENCES t ( */ , "CHECK"`;
    expect(kinds(sql)).toEqual(['word:CHECK', 'op:(', 'word:a', 'op:=', "string:x, CHECK (y)", 'op:)', 'op:,', 'quoted:CHECK']);
  });

  test('every byte is covered: tokens joined give the text back', () => {
    const sql = "CREATE TABLE t (\n  a INT -- c\n, b TEXT DEFAULT 'x' /* y */)\n";
    expect(tokenize(sql).map((t) => t.text).join('')).toBe(sql);
  });

  test('numbers, blobs, parameters and multi-character operators', () => {
    expect(kinds(`1 2.5 .5 1e10 1.5E-3 0x1F 1_000 x'0A' X'ff' ? ?1 :a @b $c a||b a<>b a!=b a==b a<=b a->>'$.x' a->'$' a<<2`)).toEqual([
      'number:1', 'number:2.5', 'number:.5', 'number:1e10', 'number:1.5E-3', 'number:0x1F', 'number:1_000', "blob:x'0A'", "blob:X'ff'",
      'param:?', 'param:?1', 'param::a', 'param:@b', 'param:$c',
      'word:a', 'op:||', 'word:b', 'word:a', 'op:<>', 'word:b', 'word:a', 'op:!=', 'word:b', 'word:a', 'op:==', 'word:b',
      'word:a', 'op:<=', 'word:b', 'word:a', 'op:->>', "string:$.x", 'word:a', 'op:->', 'string:$', 'word:a', 'op:<<', 'number:2',
    ]);
  });

  test('non-ASCII identifiers are identifiers, as in SQLite', () => {
    expect(kinds('precio_año > 0 AND ñandú = 1')).toEqual(['word:precio_año', 'op:>', 'number:0', 'word:AND', 'word:ñandú', 'op:=', 'number:1']);
  });

  test('an unterminated string or identifier is an error, not a guess', () => {
    expect(() => tokenize("a = 'x")).toThrow(TokenizeError);
    expect(() => tokenize('"a')).toThrow(TokenizeError);
    expect(() => tokenize('[a')).toThrow(TokenizeError);
  });
});

describe('CREATE INDEX parts', () => {
  const columns = ['email', 'Status', 'created_at'];
  test('plain columns, quoted columns, expressions, COLLATE and DESC, partial predicates', () => {
    expect(parseCreateIndex('CREATE UNIQUE INDEX ix ON t ("email" ASC, status) WHERE [Status] = \'A\'', columns)).toEqual({
      keys: [{ column: 'email' }, { column: 'Status' }],
      where: "Status = 'A'",
    });
    expect(parseCreateIndex('create index if not exists main.ix on t (lower(email), created_at DESC, email collate nocase)', columns)).toEqual({
      keys: [{ expr: 'LOWER(email)' }, { column: 'created_at', desc: true }, { column: 'email', collate: 'NOCASE' }],
      where: null,
    });
  });
});
