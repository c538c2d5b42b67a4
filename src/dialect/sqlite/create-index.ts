import type { IndexKey } from '../../schema/types.js';
import { normalizeExpression, soleColumn } from './expression.js';
import { isOp, isWord, matchParen, significant, splitTopLevel, tokenize, TokenizeError } from './tokenizer.js';

/**
 * The key parts and partial predicate of a CREATE INDEX text, in canonical
 * form: a part that is just a column is a column key; anything else (an
 * expression, or a column with COLLATE or DESC) is an expression key. ASC is
 * the default and is dropped.
 */
export function parseCreateIndex(text: string, columns: readonly string[]): { keys: IndexKey[]; where: string | null } {
  const sig = significant(tokenize(text));
  const on = sig.findIndex((t) => isWord(t, 'ON'));
  const open = sig.findIndex((t, i) => i > on && isOp(t, '('));
  if (on < 0 || open < 0) throw new TokenizeError(`not a CREATE INDEX statement: ${text.slice(0, 60)}`);
  const close = matchParen(sig, open);
  const keys = splitTopLevel(sig, open, close).map(({ from, to }): IndexKey => {
    let end = to;
    if (isWord(sig[end - 1], 'ASC')) end--;
    const part = text.slice(sig[from].start, sig[end - 1].end);
    const column = soleColumn(part, columns);
    return column !== null ? { column } : { expr: normalizeExpression(part, columns) };
  });
  const where = isWord(sig[close + 1], 'WHERE') ? normalizeExpression(text.slice(sig[close + 1].end), columns) : null;
  return { keys, where };
}
