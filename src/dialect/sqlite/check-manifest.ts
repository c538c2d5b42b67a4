import type { DesiredTable } from '../../schema/types.js';
import { fragmentProblems, refuseManifest, wordProblems } from '../fragments.js';
import { isOp, tokenize, TokenizeError } from './tokenizer.js';

/**
 * Proves that every SQL fragment of the manifest is one SQLite expression
 * before any of it is spliced into a CREATE TABLE (a rebuild) or CREATE INDEX:
 * there, `total > 0) , CHECK (1` would add a constraint nobody reviewed.
 * SQLite has one index access method, btree.
 */
export function checkManifestSqlite(desired: readonly DesiredTable[]): void {
  const problems = [...fragmentProblems(desired, expressionProblem), ...wordProblems(desired)];
  for (const ix of desired.flatMap((t) => t.indexes)) {
    if (ix.method !== 'btree') problems.push(`${ix.path}.method: index ${ix.name}: unknown access method ${JSON.stringify(ix.method)} (SQLite has: btree)`);
  }
  problems.push(...unsupportedOptions(desired));
  refuseManifest(problems);
}

/** Options PostgreSQL stores and SQLite has no place for: refused by name, never silently dropped. */
function unsupportedOptions(desired: readonly DesiredTable[]): string[] {
  const problems: string[] = [];
  const no = (path: string, what: string) => problems.push(`${path}: SQLite has no ${what}`);
  for (const t of desired) {
    for (const c of t.checks) if (c.noInherit) no(`${c.path}.noInherit`, 'NO INHERIT (it has no table inheritance)');
    for (const fk of t.foreignKeys) {
      if (fk.match !== 'simple') no(`${fk.path}.match`, 'MATCH FULL (it parses MATCH and ignores it)');
      if (fk.onDeleteColumns?.length) no(`${fk.path}.onDelete.columns`, 'ON DELETE SET NULL (columns)');
    }
    for (const ix of t.indexes) {
      if (ix.include?.length) no(`${ix.path}.include`, 'INCLUDE columns');
      if (ix.nullsNotDistinct) no(`${ix.path}.nullsNotDistinct`, 'NULLS NOT DISTINCT (NULLs are always distinct in a unique index)');
      if (ix.with && Object.keys(ix.with).length) no(`${ix.path}.with`, 'index storage parameters');
      if (ix.uniqueConstraint) {
        no(`${ix.path}.constraint`, 'way to add a UNIQUE constraint to a table in place; a unique index enforces the same, and a foreign key may reference its columns');
      }
      ix.keys.forEach((k, i) => {
        if (k.nulls) no(`${ix.path}.columns[${i}].nulls`, 'NULLS FIRST/LAST in an index');
        if (k.opclass) no(`${ix.path}.columns[${i}].opclass`, 'operator classes');
      });
    }
  }
  return problems;
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
