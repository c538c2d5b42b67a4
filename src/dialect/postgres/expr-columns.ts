/**
 * A small lexer for PostgreSQL expressions, enough to know which columns an
 * expression reads (for validate's sample rows) and that it is one expression
 * (validate wraps the user's SQL in `( … ) IS FALSE`; it must not be able to
 * close that parenthesis or start a second statement). Strings, dollar quotes,
 * quoted identifiers and comments are skipped as PostgreSQL's own lexer does.
 */

interface Word {
  /** As PostgreSQL resolves it: unquoted words fold to lower case. */
  readonly name: string;
  readonly quoted: boolean;
  /** What comes right before and after it, ignoring whitespace and comments. */
  readonly before: string;
  readonly after: string;
}

export interface ExpressionScan {
  readonly words: readonly Word[];
  /** Why the text is not a single expression, or null. */
  readonly problem: string | null;
}

// As PostgreSQL's scan.l reads them: white space is exactly these bytes (\v since
// PostgreSQL 16; before, a token of its own: a separator either way), and every
// byte >= 0x80 is an identifier character, so U+00A0 or U+2028 is part of a
// name there, not white space as JavaScript's \s would have it. Non-ASCII text
// is UTF-8 on the wire: every non-ASCII UTF-16 unit stands for such bytes.
const SPACE = /[ \t\n\r\f\v]/;
const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
/** A dollar-quote tag's first character (dolq_start) and the rest (dolq_cont: no `$`). */
const DOLQ_START = /[A-Za-z_\u0080-\uffff]/;
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

export function scanExpression(text: string): ExpressionScan {
  const words: { name: string; quoted: boolean; before: string; at: number }[] = [];
  const tokens: string[] = [];
  const open: string[] = [];
  let problem: string | null = null;
  let i = 0;
  const fail = (why: string) => {
    problem ??= why;
  };
  while (i < text.length) {
    const ch = text[i];
    const next = text[i + 1];
    if (SPACE.test(ch)) {
      i++;
    } else if (ch === '-' && next === '-') {
      // scan.l: a comment is "--" and everything up to a \n or a \r
      const end = text.slice(i).search(/[\n\r]/);
      // rendered SQL goes on after the expression (`) NOT VALID`): a comment left open would swallow it
      if (end < 0) fail('a -- comment must end with a line break');
      i = end < 0 ? text.length : i + end + 1;
    } else if (ch === '/' && next === '*') {
      i = skipBlockComment(text, i, fail);
    } else if (ch === "'" || (/[eEbBxXnN]/.test(ch) && next === "'")) {
      i = skipString(text, ch === "'" ? i : i + 1, /[eE]/.test(ch), fail);
      tokens.push("'");
    } else if ((ch === 'u' || ch === 'U') && next === '&' && (text[i + 2] === "'" || text[i + 2] === '"')) {
      if (text[i + 2] === "'") {
        i = skipString(text, i + 2, false, fail);
        tokens.push("'");
      } else {
        const [name, end] = readQuoted(text, i + 2, fail);
        words.push({ name, quoted: true, before: tokens.at(-1) ?? '', at: tokens.length });
        tokens.push('ident');
        i = end;
      }
    } else if (ch === '$' && (next === '$' || DOLQ_START.test(next ?? '')) && dollarTag(text, i)) {
      i = skipDollarQuote(text, i, fail);
      tokens.push("'");
    } else if (ch === '"') {
      const [name, end] = readQuoted(text, i, fail);
      words.push({ name, quoted: true, before: tokens.at(-1) ?? '', at: tokens.length });
      tokens.push('ident');
      i = end;
    } else if (IDENT_START.test(ch)) {
      let end = i + 1;
      while (end < text.length && IDENT_PART.test(text[end])) end++;
      const name = text.slice(i, end).toLowerCase();
      words.push({ name, quoted: false, before: tokens.at(-1) ?? '', at: tokens.length });
      tokens.push(name);
      i = end;
    } else if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(next ?? ''))) {
      while (i < text.length && /[0-9.eE_xXoOa-fA-F]/.test(text[i])) i++;
      // PostgreSQL 15+ refuses a number run into a name ("trailing junk"); older ones read `1e'…'` as 1 and an
      // E'…' string with backslash escapes, which this lexer would not: refused here either way
      if (i < text.length && (IDENT_PART.test(text[i]) || text[i] === "'" || text[i] === '"')) fail('a number runs into a name or string');
      tokens.push('0');
    } else {
      if (ch === '(' || ch === '[') open.push(ch);
      if (ch === ')' || ch === ']') {
        if (open.pop() !== (ch === ')' ? '(' : '[')) fail(`unbalanced "${ch}"`);
      }
      if (ch === ';') fail('contains ";"');
      if (ch === ',' && open.length === 0) fail('contains "," outside parentheses');
      if (ch === ':' && next === ':') {
        tokens.push('::');
        i += 2;
        continue;
      }
      tokens.push(ch);
      i++;
    }
  }
  if (open.length > 0) fail(`unbalanced "${open[open.length - 1]}"`);
  if (tokens.length === 0) fail('empty');
  const resolved = words.map((w) => ({ name: w.name, quoted: w.quoted, before: w.before, after: tokens[w.at + 1] ?? '' }));
  return { words: resolved, problem };
}

/**
 * The columns of `columns` an expression reads, in order of first use. A word
 * is not a column when it is a function name (before "("), a type (after "::"
 * or AS), or a qualifier (before ".").
 */
export function referencedColumns(text: string, columns: readonly string[]): string[] {
  const known = new Set(columns);
  const out: string[] = [];
  for (const w of scanExpression(text).words) {
    if (w.after === '(' || w.after === '.' || w.before === '::' || w.before === 'as') continue;
    if (known.has(w.name) && !out.includes(w.name)) out.push(w.name);
  }
  return out;
}

function skipBlockComment(text: string, start: number, fail: (why: string) => void): number {
  let depth = 0;
  for (let i = start; i < text.length - 1; i++) {
    if (text[i] === '/' && text[i + 1] === '*') {
      depth++;
      i++;
    } else if (text[i] === '*' && text[i + 1] === '/') {
      depth--;
      i++;
      if (depth === 0) return i + 1;
    }
  }
  fail('unterminated comment');
  return text.length;
}

/** From the opening quote; returns the index after the closing one. */
function skipString(text: string, quote: number, backslashes: boolean, fail: (why: string) => void): number {
  for (let i = quote + 1; i < text.length; i++) {
    if (backslashes && text[i] === '\\') i++;
    else if (text[i] === "'") {
      if (text[i + 1] === "'") i++;
      else return i + 1;
    }
  }
  fail('unterminated string');
  return text.length;
}

function readQuoted(text: string, quote: number, fail: (why: string) => void): [string, number] {
  let name = '';
  for (let i = quote + 1; i < text.length; i++) {
    if (text[i] === '"') {
      if (text[i + 1] === '"') {
        name += '"';
        i++;
      } else return [name, i + 1];
    } else name += text[i];
  }
  fail('unterminated quoted identifier');
  return [name, text.length];
}

function dollarTag(text: string, start: number): string | null {
  const m = DOLLAR_TAG.exec(text.slice(start));
  return m ? m[0] : null;
}

function skipDollarQuote(text: string, start: number, fail: (why: string) => void): number {
  const tag = dollarTag(text, start) as string;
  const end = text.indexOf(tag, start + tag.length);
  if (end < 0) {
    fail('unterminated dollar-quoted string');
    return text.length;
  }
  return end + tag.length;
}
