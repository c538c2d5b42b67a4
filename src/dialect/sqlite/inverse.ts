import type { HistoryStep } from '../dialect.js';
import { fragmentProblem } from '../fragments.js';
import { journalError } from '../history-runs.js';
import { expressionProblem } from './check-manifest.js';
import { parseCreateTable } from './create-table.js';
import { parentKeyChecks, rebuildStatements, type RebuildSpec } from './rebuild.js';
import { dropIndexStatement } from './render.js';
import { onlyConstraintsDiffer, schemaEditStatements, type EditSpec } from './schema-edit.js';
import { isOp, isWord, sameName, significant, tokenize } from './tokenizer.js';

/** What the journal keeps of an SQLite step to render its inverse again (Step.origin). */
export type SqliteOrigin =
  /** An index step: drop the index it made, and put back the one it replaced (its CREATE INDEX text). */
  | { readonly kind: 'index'; readonly drop: string; readonly restore?: string; readonly children?: readonly string[] }
  /** A dropped index: put it back from its CREATE INDEX text, the children's keys checked after. */
  | { readonly kind: 'restore_index'; readonly restore: string; readonly children?: readonly string[] }
  /** A table rebuild: the rebuild back, as a spec. */
  | { readonly kind: 'rebuild'; readonly back: RebuildSpec }
  /** A definition replaced in sqlite_schema: the edit back, as a spec. */
  | { readonly kind: 'edit'; readonly back: EditSpec };

/**
 * The inverse of a journaled step, rendered again from its origin by the
 * functions that rendered it. Names are quoted by them; the only texts taken
 * as SQL are CREATE TABLE and CREATE INDEX definitions, each proven to be one
 * such statement on the step's own table. Triggers and the indexes the table
 * has now are not checked here: the rebuild's first statement refuses unless
 * they are exactly those in the database.
 */
export function inverseOfSqlite(step: HistoryStep): readonly string[] {
  const fail = (problem: string) => journalError(step.runId, step.seq, problem);
  const origin = step.origin as Partial<SqliteOrigin> | null | undefined;
  const table = step.table.includes('.') ? step.table.slice(step.table.indexOf('.') + 1) : step.table;
  const childrenOf = (o: { children?: unknown }) => {
    const children = o.children ?? [];
    if (!Array.isArray(children) || !children.every((c) => typeof c === 'string')) throw fail('its recorded child tables are not a list of names');
    return children as string[];
  };
  if (origin?.kind === 'index' && step.action !== 'rebuild_table') {
    if (typeof origin.drop !== 'string') throw fail('its recorded index has no name');
    if (origin.restore !== undefined && !isCreateOn(origin.restore, 'INDEX', table)) throw fail(`its recorded index to restore is not one CREATE INDEX on ${step.table}`);
    const children = childrenOf(origin);
    // the children's key check is rendered, each name quoted as a string, never spliced as SQL
    return [dropIndexStatement(origin.drop), ...(origin.restore !== undefined ? [origin.restore, ...parentKeyChecks(children)] : [])];
  }
  if (origin?.kind === 'restore_index' && step.action === 'drop_index') {
    if (!isCreateOn(origin.restore, 'INDEX', table)) throw fail(`its recorded index to restore is not one CREATE INDEX on ${step.table}`);
    return [origin.restore as string, ...parentKeyChecks(childrenOf(origin))];
  }
  if (origin?.kind === 'rebuild' && step.action === 'rebuild_table') {
    const back = origin.back;
    if (!back || typeof back !== 'object' || !sameName(String(back.table?.name), table)) throw fail(`its recorded rebuild is not of ${step.table}`);
    if (!isCreateOn(back.toText, 'TABLE', table)) throw fail(`its recorded definition is not one CREATE TABLE ${table}`);
    const problem = rebuildProblem(back as RebuildSpec);
    if (problem !== null) throw fail(`its recorded rebuild ${problem}`);
    if (!Array.isArray(back.indexesAfter) || !back.indexesAfter.every((i) => isCreateOn(i?.sql, 'INDEX', table))) {
      throw fail(`its recorded indexes are not each one CREATE INDEX on ${step.table}`);
    }
    try {
      return rebuildStatements(back);
    } catch {
      throw fail('its recorded rebuild cannot be rendered');
    }
  }
  if (origin?.kind === 'edit' && step.action === 'edit_table') {
    const back = origin.back;
    if (!back || typeof back !== 'object' || !sameName(String(back.table?.name), table)) throw fail(`its recorded edit is not of ${step.table}`);
    if (!isCreateOn(back.toText, 'TABLE', table) || !isCreateOn(back.fromText, 'TABLE', table)) throw fail(`its recorded definitions are not each one CREATE TABLE ${table}`);
    // the way back must itself be an edit of constraint clauses only, as the forward step was
    if (!onlyConstraintsDiffer(back.fromText, back.toText)) throw fail('its recorded definitions differ in more than CHECK and FOREIGN KEY clauses');
    if (!Array.isArray(back.indexes) || !back.indexes.every((i) => isCreateOn(i?.sql, 'INDEX', table))) {
      throw fail(`its recorded indexes are not each one CREATE INDEX on ${step.table}`);
    }
    try {
      return schemaEditStatements(back);
    } catch {
      throw fail('its recorded edit cannot be rendered');
    }
  }
  throw fail('no recorded origin to render its inverse from (a journal from before schema-diff kept one, or one changed by hand)');
}

/** One statement, `CREATE [UNIQUE] INDEX … ON table` or `CREATE TABLE table (…)`, and nothing after it. */
function isCreateOn(text: unknown, what: 'TABLE' | 'INDEX', table: string): boolean {
  if (typeof text !== 'string') return false;
  try {
    const sig = significant(tokenize(text));
    if (sig.some((t) => isOp(t, ';'))) return false;
    if (what === 'TABLE') {
      const parsed = parseCreateTable(text);
      return sameName(parsed.name, table) && !isWord(sig[1], 'TEMP', 'TEMPORARY');
    }
    let i = 0;
    if (!isWord(sig[i++], 'CREATE')) return false;
    if (isWord(sig[i], 'UNIQUE')) i++;
    if (!isWord(sig[i++], 'INDEX')) return false;
    const on = sig.findIndex((t, k) => k > i && isWord(t, 'ON'));
    if (on < 0) return false;
    const named = isOp(sig[on + 2], '.') ? sig[on + 3] : sig[on + 1];
    return named !== undefined && sameName(named.value, table);
  } catch {
    return false;
  }
}

/**
 * Why a journaled rebuild may not run, or null: a rebuild changes constraints
 * only, so the table it makes has the columns it has now (names, in order)
 * and copies every one of them but the generated; and each CHECK in it passes
 * the manifest's one-expression check. A forged origin and inverse that agree
 * could otherwise drop a column through rollback.
 */
function rebuildProblem(back: RebuildSpec): string | null {
  let from;
  let to;
  try {
    from = parseCreateTable(String(back.fromText));
    to = parseCreateTable(String(back.toText));
  } catch {
    return 'has a table definition that does not parse';
  }
  const columns = (t: typeof to) => t.elements.filter((e) => e.kind === 'column').map((e) => ({ name: String(e.column), text: t.text.slice(e.span.start, e.span.end) }));
  const before = columns(from);
  const after = columns(to);
  if (before.length !== after.length || before.some((c, i) => !sameName(c.name, after[i].name))) return 'does not keep the columns the table has';
  const copied = Array.isArray(back.copyColumns) ? back.copyColumns.map(String) : [];
  const lost = after.find((c) => !copied.some((k) => sameName(k, c.name)) && !significant(tokenize(c.text)).some((t) => isWord(t, 'AS', 'GENERATED')));
  if (lost) return `does not copy column ${lost.name}`;
  if (copied.some((k) => !after.some((c) => sameName(c.name, k)))) return 'copies a column the table does not have';
  for (const check of to.checks) {
    const why = fragmentProblem(check.expr, expressionProblem);
    if (why !== null) return `has a CHECK that is not a single SQL expression (${why})`;
  }
  return null;
}
