import { conjunctsCheckSql, conjunctTexts, conjunctTrees, topLevelNodes, varattnos } from '../../src/dialect/postgres/conjuncts.js';

describe('a batch of CHECKs as the conjuncts of one, split back apart', () => {
  test('the probe CHECK leads with true and parenthesizes each expression', () => {
    expect(conjunctsCheckSql(['a > 0', 'b AND c'])).toBe('CONSTRAINT sd_checks CHECK (true AND (a > 0) AND (b AND c))');
  });

  test('the printed AND splits at its own ANDs only: not inside literals, quoted names, parentheses or brackets', () => {
    const printed = `(true AND (a > 0) AND (t <> 'x AND y'::text) AND ("odd AND name" > 1) AND ((i > 0) AND (n > 0)) AND (ARRAY[(a AND b)] <> ARRAY[true]))`;
    expect(conjunctTexts(printed)).toEqual(['(a > 0)', "(t <> 'x AND y'::text)", '("odd AND name" > 1)', '((i > 0) AND (n > 0))', '(ARRAY[(a AND b)] <> ARRAY[true])']);
  });

  test('a CASE starts on a line of its own, as it does when printed alone', () => {
    const printed = '(true AND\nCASE\n    WHEN (a > 1) THEN true\n    ELSE false\nEND AND (b > 0))';
    expect(conjunctTexts(printed)).toEqual(['\nCASE\n    WHEN (a > 1) THEN true\n    ELSE false\nEND', '(b > 0)']);
  });

  test("doubled quotes and E'' escapes do not end a literal early", () => {
    expect(conjunctTexts(`(true AND (v = 'it''s AND'::text) AND (w = E'\\\\'' AND '::text))`)).toEqual(["(v = 'it''s AND'::text)", "(w = E'\\\\'' AND '::text)"]);
  });

  test('anything else is not split: the batch is then parsed one CHECK each', () => {
    expect(conjunctTexts('(a > 0)')).toBeNull();
    expect(conjunctTexts('(false AND (a > 0))')).toBeNull();
    expect(conjunctTexts("(true AND (v = 'open))")).toBeNull();
    expect(conjunctTexts('(true AND (a > 0)))')).toBeNull();
    expect(conjunctTexts('true AND (a > 0)')).toBeNull();
  });

  const trueConst = '{CONST :consttype 16 :consttypmod -1 :constcollid 0 :constlen 1 :constbyval true :constisnull false :location 7 :constvalue 1 [ 1 0 0 0 0 0 0 0 ]}';
  const var1 = '{VAR :varno 1 :varattno 3 :vartype 23 :vartypmod -1 :varcollid 0 :varlevelsup 0 :varnosyn 1 :varattnosyn 3 :location 20}';
  const op = `{OPEXPR :opno 521 :opfuncid 147 :opresulttype 16 :opretset false :opcollid 0 :inputcollid 0 :args (${var1} {CONST :consttype 23 :consttypmod -1 :constcollid 0 :constlen 4 :constbyval true :constisnull false :location 24 :constvalue 4 [ 0 0 0 0 0 0 0 0 ]}) :location 22}`;

  test('the stored AND gives one tree per expression after the leading true, and each tree its columns', () => {
    const tree = `{BOOLEXPR :boolop and :args (${trueConst} ${op} {VAR :varno 1 :varattno 5 :vartype 16 :vartypmod -1 :varcollid 0 :varlevelsup 0 :varnosyn 1 :varattnosyn 5 :location 30}) :location 12}`;
    const args = conjunctTrees(tree) as string[];
    expect(args).toHaveLength(2);
    expect(varattnos(args[0])).toEqual([3]);
    expect(varattnos(args[1])).toEqual([5]);
  });

  test('a stored tree that is not an AND led by the constant true is not split', () => {
    expect(conjunctTrees(op)).toBeNull();
    const falseConst = trueConst.replace(':constvalue 1 [ 1 ', ':constvalue 1 [ 0 ');
    expect(conjunctTrees(`{BOOLEXPR :boolop and :args (${falseConst} ${op}) :location 12}`)).toBeNull();
    expect(conjunctTrees(`{BOOLEXPR :boolop or :args (${trueConst} ${op}) :location 12}`)).toBeNull();
  });

  test('escaped braces inside a token do not open or close a node', () => {
    expect(topLevelNodes('({A :x \\{} {B :y \\}})')).toEqual(['{A :x \\{}', '{B :y \\}}']);
  });
});
