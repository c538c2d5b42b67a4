import { quoteIdent, SQLITE_KEYWORDS } from './quote.js';
import { foldCase, isOp, matchParen, significant, tokenize, type Token } from './tokenizer.js';

/**
 * SQLite keeps a CHECK or index predicate exactly as typed, so the two sides of
 * a comparison are brought to one canonical spelling, token by token:
 * keywords and function names upper case, column names as declared (SQLite
 * resolves them case-insensitively) and quoted only where needed, one space
 * between tokens except around ( ) , . and after a unary sign, `==` as `=` and
 * `!=` as `<>`, redundant outer parentheses removed. String literals are left
 * alone, and so is a "double-quoted" word that names no column: SQLite would
 * read it as a string. The result is valid SQL with the same meaning, and
 * normalizing it again changes nothing.
 */
export function normalizeExpression(expr: string, columns: readonly string[]): string {
  const byFolded = new Map(columns.map((c) => [foldCase(c), c]));
  const sig = stripOuterParens(significant(tokenize(expr)));
  const words = sig.map((_t, i) => canonicalToken(sig, i, byFolded));
  let out = '';
  for (let i = 0; i < sig.length; i++) {
    if (i > 0 && spaceBetween(sig, i, words)) out += ' ';
    out += words[i];
  }
  return out;
}

function stripOuterParens(sig: Token[]): Token[] {
  while (sig.length >= 2 && isOp(sig[0], '(') && matchParen(sig, 0) === sig.length - 1) sig = sig.slice(1, -1);
  return sig;
}

function canonicalToken(sig: readonly Token[], i: number, columns: ReadonlyMap<string, string>): string {
  const t = sig[i];
  const callsFunction = isOp(sig[i + 1], '(');
  const qualifies = isOp(sig[i + 1], '.');
  switch (t.kind) {
    case 'word': {
      if (callsFunction) return t.text.toUpperCase();
      if (qualifies) return quoteIdent(foldCase(t.value));
      const column = OPERATOR_WORDS.has(t.text.toUpperCase()) ? undefined : columns.get(foldCase(t.value));
      if (column !== undefined) return quoteIdent(column);
      return t.text.toUpperCase();
    }
    case 'quoted': {
      const column = columns.get(foldCase(t.value));
      if (column !== undefined && !callsFunction) return quoteIdent(column);
      if (qualifies) return quoteIdent(foldCase(t.value));
      return `"${t.value.replace(/"/g, '""')}"`;
    }
    case 'number':
      return t.text.toLowerCase().replace(/_/g, '');
    case 'blob':
      return t.text.toUpperCase();
    case 'op':
      return t.text === '==' ? '=' : t.text === '!=' ? '<>' : t.text;
    default:
      return t.text;
  }
}

/** Reserved words of expressions: never a column name, whatever the table calls its columns. */
const OPERATOR_WORDS = new Set(
  'AND OR NOT IS IN NULL LIKE GLOB REGEXP MATCH BETWEEN CASE WHEN THEN ELSE END CAST AS COLLATE ESCAPE EXISTS ISNULL NOTNULL DISTINCT SELECT FROM WHERE TRUE FALSE CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP'.split(' '),
);

/** Keywords that are written like function calls: no space before their parenthesis. */
const CALL_KEYWORDS = new Set(['CAST', 'REPLACE', 'RAISE', 'IIF']);

function spaceBetween(sig: readonly Token[], i: number, words: readonly string[]): boolean {
  const prev = sig[i - 1];
  const cur = sig[i];
  if (isOp(prev, '(') || isOp(prev, '.') || isOp(prev, '~')) return false;
  if (isOp(cur, ')') || isOp(cur, ',') || isOp(cur, '.')) return false;
  if (isOp(cur, '(') && isCallee(prev, words[i - 1])) return false;
  if ((isOp(prev, '-') || isOp(prev, '+')) && isUnary(sig, i - 1, words)) return false;
  return true;
}

function isCallee(t: Token, word: string): boolean {
  if (t.kind === 'quoted') return true;
  return t.kind === 'word' && (!SQLITE_KEYWORDS.has(word) || CALL_KEYWORDS.has(word));
}

/** A sign is unary at the start, after an opening parenthesis or comma, after an operator, or after a keyword. */
function isUnary(sig: readonly Token[], i: number, words: readonly string[]): boolean {
  if (i === 0) return true;
  const before = sig[i - 1];
  if (before.kind === 'op') return !isOp(before, ')');
  return before.kind === 'word' && SQLITE_KEYWORDS.has(words[i - 1]) && !['NULL', 'CURRENT_DATE', 'CURRENT_TIME', 'CURRENT_TIMESTAMP'].includes(words[i - 1]);
}

/** The columns an expression mentions (for samples of violating rows). */
export function columnsIn(expr: string, columns: readonly string[]): string[] {
  const byFolded = new Map(columns.map((c) => [foldCase(c), c]));
  const found = new Set<string>();
  for (const t of significant(tokenize(expr))) {
    const c = (t.kind === 'word' || t.kind === 'quoted') && byFolded.get(foldCase(t.value));
    if (c) found.add(c);
  }
  return [...found];
}

/** `x`, `"x"` or `[x]` alone: an index key that is just a column. */
export function soleColumn(expr: string, columns: readonly string[]): string | null {
  const sig = stripOuterParens(significant(tokenize(expr)));
  if (sig.length !== 1 || (sig[0].kind !== 'word' && sig[0].kind !== 'quoted')) return null;
  return columns.find((c) => foldCase(c) === foldCase(sig[0].value)) ?? null;
}
