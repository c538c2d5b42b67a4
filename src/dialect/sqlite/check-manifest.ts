import type { DesiredTable } from '../../schema/types.js';
import { fragmentProblems, refuseManifest } from '../fragments.js';
import { isOp, tokenize, TokenizeError } from './tokenizer.js';

/**
 * Proves that every SQL fragment of the manifest is one SQLite expression
 * before any of it is spliced into a CREATE TABLE (a rebuild) or CREATE INDEX:
 * there, `total > 0) , CHECK (1` would add a constraint nobody reviewed.
 * SQLite has one index access method, btree.
 */
export function checkManifestSqlite(desired: readonly DesiredTable[]): void {
  const problems = fragmentProblems(desired, expressionProblem);
  for (const ix of desired.flatMap((t) => t.indexes)) {
    if (ix.method !== 'btree') problems.push(`${ix.path}.method: index ${ix.name}: unknown access method ${JSON.stringify(ix.method)} (SQLite has: btree)`);
  }
  refuseManifest(problems);
}

/** Why a text is not a single expression as SQLite's tokenizer reads it, or null. */
export function expressionProblem(text: string): string | null {
  let tokens;
  try {
    tokens = tokenize(text);
  } catch (e) {
    return e instanceof TokenizeError ? e.message.replace(/ at offset \d+$/, '') : String(e);
  }
  let depth = 0;
  let significant = 0;
  for (const t of tokens) {
    if (t.kind === 'comment') {
      if (t.text.startsWith('/*') && !(t.text.length >= 4 && t.text.endsWith('*/'))) return 'unterminated comment';
      // rendered SQL goes on after the expression (`)` of a CHECK): a comment left open would swallow it
      if (t.text.startsWith('--') && text[t.end] !== '\n') return 'a -- comment must end with a line break';
      continue;
    }
    if (t.kind === 'space') continue;
    significant++;
    if (isOp(t, '(')) depth++;
    else if (isOp(t, ')') && --depth < 0) return 'unbalanced ")"';
    else if (isOp(t, ';')) return 'contains ";"';
    else if (isOp(t, ',') && depth === 0) return 'contains "," outside parentheses';
  }
  if (depth > 0) return 'unbalanced "("';
  return significant === 0 ? 'empty' : null;
}
