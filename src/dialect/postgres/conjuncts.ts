/*
 * One CHECK per scratch table holding every probe expression as a conjunct,
 * `CHECK (true AND (e1) AND (e2) …)`, instead of one CHECK per expression:
 * a plan that parses 6,000 expressions then writes a few dozen pg_constraint
 * rows instead of 6,000 (each a dead row once the transaction rolls back, and
 * introspection scans them until vacuum), and its pg_depend rows once per
 * column instead of once per expression and column; pg_get_constraintdef
 * also builds its deparse context once per scratch table, not once per CHECK.
 *
 * Why each conjunct reads back exactly as a CHECK of its own would:
 * - the grammar flattens `a AND b` only into a left operand that is already
 *   an AND; the leading `true` is that operand, so each parenthesized
 *   expression, even one that is itself an AND, stays one argument;
 * - each argument of AND is coerced to boolean and gets its collations
 *   resolved alone, as CHECK does with its one expression;
 * - pg_get_constraintdef prints an AND as `(arg AND arg …)`, each argument as
 *   it prints a CHECK's expression (no parentheses added, the same indent
 *   level; a CASE starts on a new line in both, the space before it dropped).
 * Both the stored tree (its top-level AND's arguments) and the printed text
 * are split, and they must agree in number: anything else and the batch is
 * parsed again one CHECK per expression.
 */

/** The name of the one CHECK of a shared scratch table. */
export const CONJUNCTS_CHECK = 'sd_checks';

/** The CHECK constraint clause holding every expression, in order, after a leading `true`. */
export function conjunctsCheckSql(sources: readonly string[]): string {
  return `CONSTRAINT ${CONJUNCTS_CHECK} CHECK (true${sources.map((s) => ` AND (${s})`).join('')})`;
}

/**
 * The arguments of the printed AND, `(true AND a AND b)` → ['a', 'b'], as
 * pg_get_constraintdef printed each: split at ` AND` outside literals,
 * quoted names and brackets. null when the text is not such an AND.
 */
export function conjunctTexts(expr: string): string[] | null {
  if (!expr.startsWith('(') || !expr.endsWith(')')) return null;
  const inner = expr.slice(1, -1);
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i];
    if (ch === "'" || ch === '"') {
      i = quotedEnd(inner, i);
      if (i < 0) return null;
    } else if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') {
      depth--;
      if (depth < 0) return null;
    } else if (depth === 0 && inner.startsWith(' AND', i) && (inner[i + 4] === ' ' || inner[i + 4] === '\n')) {
      parts.push(inner.slice(start, i));
      // ` AND ` before an operand; ` AND` then a newline before a CASE, which starts on its own line alone too
      start = inner[i + 4] === ' ' ? i + 5 : i + 4;
      i = start - 1;
    }
  }
  if (depth !== 0) return null;
  parts.push(inner.slice(start));
  if (parts[0] !== 'true') return null;
  return parts.slice(1);
}

/**
 * Where a literal or quoted name that opens at `open` closes: a doubled quote
 * is one quote; in an E'' literal (printed only with standard_conforming_strings
 * off) a backslash escapes the next character. -1 when it never closes.
 */
function quotedEnd(text: string, open: number): number {
  const quote = text[open];
  const escapes = quote === "'" && (text[open - 1] === 'E' || text[open - 1] === 'e');
  for (let i = open + 1; i < text.length; i++) {
    if (escapes && text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] !== quote) continue;
    if (text[i + 1] === quote) {
      i++;
      continue;
    }
    return i;
  }
  return -1;
}

/**
 * The argument trees of a stored AND, `{BOOLEXPR :boolop and :args ({…} {…}) :location n}`,
 * without the leading `true`. null when the tree is not such an AND or its
 * first argument is not the boolean constant true.
 */
export function conjunctTrees(tree: string): string[] | null {
  const head = '{BOOLEXPR :boolop and :args (';
  if (!tree.startsWith(head)) return null;
  const nodes = topLevelNodes(tree.slice(head.length, tree.length - 1), true);
  if (nodes.length < 1 || !/^\{CONST :consttype 16 .*:constisnull false .*:constvalue 1 \[ 1 /s.test(nodes[0])) return null;
  return nodes.slice(1);
}

/**
 * The elements of a stored list of expression trees, `({FUNCEXPR …} {OPEXPR …})`,
 * in order: split at brace depth zero. Braces inside a token are escaped with
 * a backslash by PostgreSQL's outToken. With `untilClose`, stops at the first
 * `)` outside any node (the end of the list the text starts inside of).
 */
export function topLevelNodes(list: string, untilClose = false): string[] {
  const nodes: string[] = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < list.length; i++) {
    const ch = list[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}') {
      depth--;
      if (depth === 0) nodes.push(list.slice(start, i + 1));
    } else if (untilClose && depth === 0 && ch === ')') break;
  }
  return nodes;
}

/** The column numbers of the Vars in a stored expression tree (varno 1 is the one table; 0 is the whole row). */
export function varattnos(tree: string): number[] {
  return [...tree.matchAll(/:varattno (-?\d+)/g)].map((m) => Number(m[1]));
}
