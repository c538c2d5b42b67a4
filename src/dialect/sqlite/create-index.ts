import type { IndexKey } from '../../schema/types.js';
import { normalizeExpression, soleColumn } from './expression.js';
import { isName, isOp, isWord, matchParen, significant, splitTopLevel, tokenize, TokenizeError } from './tokenizer.js';

/**
 * The key parts and partial predicate of a CREATE INDEX text, in canonical
 * form: a part that is just a column is a column key, anything else an
 * expression key; a trailing DESC and COLLATE become the key's options (ASC is
 * the default and is dropped; a collation name is folded to upper case, as
 * SQLite compares them).
 */
export function parseCreateIndex(text: string, columns: readonly string[]): { keys: IndexKey[]; where: string | null } {
  const sig = significant(tokenize(text));
  const on = sig.findIndex((t) => isWord(t, 'ON'));
  const open = sig.findIndex((t, i) => i > on && isOp(t, '('));
  if (on < 0 || open < 0) throw new TokenizeError(`not a CREATE INDEX statement: ${text.slice(0, 60)}`);
  const close = matchParen(sig, open);
  const keys = splitTopLevel(sig, open, close).map(({ from, to }): IndexKey => {
    let end = to;
    const desc = isWord(sig[end - 1], 'DESC');
    if (desc || isWord(sig[end - 1], 'ASC')) end--;
    const collated = end - from > 2 && isWord(sig[end - 2], 'COLLATE') && isName(sig[end - 1]);
    const collate = collated ? sig[end - 1].value.toUpperCase() : undefined;
    if (collated) end -= 2;
    const part = text.slice(sig[from].start, sig[end - 1].end);
    const column = soleColumn(part, columns);
    const options = { ...(desc ? { desc: true } : {}), ...(collate !== undefined ? { collate } : {}) };
    return column !== null ? { column, ...options } : { expr: normalizeExpression(part, columns), ...options };
  });
  const where = isWord(sig[close + 1], 'WHERE') ? normalizeExpression(text.slice(sig[close + 1].end), columns) : null;
  return { keys, where };
}
