/**
 * A tokenizer for SQLite's SQL, faithful to the rules of SQLite's own
 * (tokenize.c): string literals with doubled quotes, identifiers quoted with
 * "…", `…` or […], both kinds of comment, blobs, numbers, parameters. Every
 * token keeps its offsets in the source, so that a CREATE TABLE can be edited
 * in place and everything not edited survives byte for byte.
 */

export type TokenKind =
  | 'word' // a bare identifier or keyword
  | 'quoted' // "x", `x` or [x]: always an identifier (or, in SQLite's lenient mode, a string)
  | 'string' // 'x'
  | 'number'
  | 'blob' // x'AB'
  | 'param' // ?, ?1, :a, @a, $a
  | 'op' // punctuation and operators
  | 'space'
  | 'comment';

export interface Token {
  readonly kind: TokenKind;
  /** The token as written. */
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** For word and quoted: the identifier's name; for string: its content; else the text. */
  readonly value: string;
}

export class TokenizeError extends Error {}

const OPERATORS = ['->>', '||', '<=', '>=', '<>', '!=', '==', '<<', '>>', '->', '(', ')', ',', ';', '.', '+', '-', '*', '/', '%', '<', '>', '=', '&', '|', '~'];

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
const isDigit = (c: string) => c >= '0' && c <= '9';
/** SQLite treats every byte >= 0x80 as an identifier character. */
const isIdStart = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c > '\x7f';
const isIdChar = (c: string) => isIdStart(c) || isDigit(c) || c === '$';

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, end: number, value?: string) => {
    const text = sql.slice(i, end);
    tokens.push({ kind, text, start: i, end, value: value ?? text });
    i = end;
  };
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1] ?? '';
    if (isSpace(c)) {
      let j = i + 1;
      while (j < sql.length && isSpace(sql[j])) j++;
      push('space', j);
    } else if (c === '-' && next === '-') {
      const nl = sql.indexOf('\n', i);
      push('comment', nl < 0 ? sql.length : nl);
    } else if (c === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      push('comment', close < 0 ? sql.length : close + 2);
    } else if (c === "'") {
      const end = closeQuoted(sql, i, "'");
      push('string', end, sql.slice(i + 1, end - 1).replace(/''/g, "'"));
    } else if (c === '"' || c === '`') {
      const end = closeQuoted(sql, i, c);
      push('quoted', end, sql.slice(i + 1, end - 1).split(c + c).join(c));
    } else if (c === '[') {
      const close = sql.indexOf(']', i + 1);
      if (close < 0) throw new TokenizeError(`unterminated [identifier] at offset ${i}`);
      push('quoted', close + 1, sql.slice(i + 1, close));
    } else if ((c === 'x' || c === 'X') && next === "'") {
      const close = sql.indexOf("'", i + 2);
      if (close < 0) throw new TokenizeError(`unterminated blob literal at offset ${i}`);
      push('blob', close + 1);
    } else if (isDigit(c) || (c === '.' && isDigit(next))) {
      push('number', numberEnd(sql, i));
    } else if (c === '?') {
      let j = i + 1;
      while (j < sql.length && isDigit(sql[j])) j++;
      push('param', j);
    } else if (c === ':' || c === '@' || c === '$' || c === '#') {
      let j = i + 1;
      while (j < sql.length && (isIdChar(sql[j]) || (sql[j] === ':' && sql[j + 1] === ':'))) j += sql[j] === ':' ? 2 : 1;
      if (j === i + 1) throw new TokenizeError(`unrecognized token "${c}" at offset ${i}`);
      push('param', j);
    } else if (isIdStart(c)) {
      let j = i + 1;
      while (j < sql.length && isIdChar(sql[j])) j++;
      push('word', j);
    } else {
      const op = OPERATORS.find((o) => sql.startsWith(o, i));
      if (!op) throw new TokenizeError(`unrecognized token "${c}" at offset ${i}`);
      push('op', i + op.length);
    }
  }
  return tokens;
}

/** The offset just past a quoted token whose quote character is doubled inside it. */
function closeQuoted(sql: string, start: number, quote: string): number {
  let j = start + 1;
  for (;;) {
    const k = sql.indexOf(quote, j);
    if (k < 0) throw new TokenizeError(`unterminated ${quote === "'" ? 'string' : 'identifier'} at offset ${start}`);
    if (sql[k + 1] === quote) {
      j = k + 2;
      continue;
    }
    return k + 1;
  }
}

function numberEnd(sql: string, start: number): number {
  let j = start;
  const digits = (hex = false) => {
    while (j < sql.length && (isDigit(sql[j]) || sql[j] === '_' || (hex && /[a-fA-F]/.test(sql[j])))) j++;
  };
  if (sql[j] === '0' && (sql[j + 1] === 'x' || sql[j + 1] === 'X')) {
    j += 2;
    digits(true);
    return j;
  }
  digits();
  if (sql[j] === '.') {
    j++;
    digits();
  }
  if ((sql[j] === 'e' || sql[j] === 'E') && (isDigit(sql[j + 1] ?? '') || (/[+-]/.test(sql[j + 1] ?? '') && isDigit(sql[j + 2] ?? '')))) {
    j += 2;
    digits();
  }
  return j;
}

/** Tokens without whitespace and comments: what the grammar sees. */
export function significant(tokens: readonly Token[]): Token[] {
  return tokens.filter((t) => t.kind !== 'space' && t.kind !== 'comment');
}

/** True for a bare word equal (case-insensitively) to one of the keywords given. */
export function isWord(t: Token | undefined, ...words: string[]): boolean {
  return t !== undefined && t.kind === 'word' && words.includes(t.text.toUpperCase());
}

export function isOp(t: Token | undefined, op: string): boolean {
  return t !== undefined && t.kind === 'op' && t.text === op;
}

/** An identifier: a bare word, a quoted name, or (SQLite is lenient) a string literal in a name position. */
export function isName(t: Token | undefined): boolean {
  return t !== undefined && (t.kind === 'word' || t.kind === 'quoted' || t.kind === 'string');
}

/** Index of the `)` matching the `(` at index `open` in a list of significant tokens. */
export function matchParen(sig: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < sig.length; i++) {
    if (isOp(sig[i], '(')) depth++;
    else if (isOp(sig[i], ')') && --depth === 0) return i;
  }
  throw new TokenizeError(`unbalanced parentheses at offset ${sig[open]?.start ?? 0}`);
}

/** Splits significant tokens between `open` and `close` at the commas of depth one. */
export function splitTopLevel(sig: readonly Token[], open: number, close: number): Array<{ from: number; to: number; comma: number | null }> {
  const parts: Array<{ from: number; to: number; comma: number | null }> = [];
  let depth = 0;
  let from = open + 1;
  let comma: number | null = null;
  for (let i = open + 1; i < close; i++) {
    if (isOp(sig[i], '(')) depth++;
    else if (isOp(sig[i], ')')) depth--;
    else if (depth === 0 && isOp(sig[i], ',')) {
      parts.push({ from, to: i, comma });
      comma = i;
      from = i + 1;
    }
  }
  if (from < close) parts.push({ from, to: close, comma });
  return parts;
}

/** ASCII-only case folding: how SQLite compares identifiers. */
export function foldCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export function sameName(a: string, b: string): boolean {
  return foldCase(a) === foldCase(b);
}
