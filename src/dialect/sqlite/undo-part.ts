import type { Change, ObjectEffect } from '../../diff/changes.js';
import type { Step } from '../../plan/types.js';
import type { Catalog, Check, DesiredCheck, DesiredForeignKey, ForeignKey, Table } from '../../schema/types.js';
import { findTable, qualifiedName, unnamedForeignKeyName } from '../../schema/types.js';
import type { HistoryStep } from '../dialect.js';
import { fragmentProblem } from '../fragments.js';
import { journalError } from '../history-runs.js';
import { expressionProblem } from './check-manifest.js';
import { parseCreateTable, type ParsedTable } from './create-table.js';
import { checksOf, type RawTable } from './introspect.js';
import type { SqliteOrigin } from './inverse.js';
import { renderSqlite } from './render.js';
import type { SchemaEditPolicy } from './schema-edit.js';
import { sameName } from './tokenizer.js';

/**
 * Undoes some objects of a table step (edit_table or rebuild_table) that
 * changed several at once, the others left as they are: each object goes back
 * to its state in the CREATE TABLE text the table had before the step (the
 * step's recorded way back, already checked by inverseOfSqlite), as a change
 * of the table as it is now, rendered like any planned change: the same edit
 * in place or rebuild, guards, foreign_key_check and row checks, and an
 * inverse that restores the exact text it starts from. So undoing the parts
 * first and then the step whole returns the table to its text before the step.
 * null when an object cannot be undone apart (an index the step replaced or
 * dropped: its old text is not in the table's).
 */
export function undoPartSqlite(
  step: HistoryStep,
  objects: readonly string[],
  catalog: Catalog,
  raw: ReadonlyMap<string, RawTable>,
  edit: SchemaEditPolicy,
): Omit<Step, 'id'> | null {
  const origin = step.origin as SqliteOrigin | null | undefined;
  if ((step.action !== 'edit_table' && step.action !== 'rebuild_table') || (origin?.kind !== 'edit' && origin?.kind !== 'rebuild')) return null;
  const table = findTable(catalog, { schema: 'main', name: step.table.slice(step.table.indexOf('.') + 1) });
  if (!table) return null;
  const before = constraintsOfText(origin.back.toText, table, catalog, (problem) => journalError(step.runId, step.seq, problem));
  const changes: Change[] = [];
  for (const effect of (step.effects ?? []).filter((e) => objects.includes(e.name))) {
    const change = undoChange(effect, table, before);
    if (!change) return null;
    changes.push(change);
  }
  if (changes.length === 0) return null;
  const steps = renderSqlite(changes, catalog, raw, {}, edit);
  if (steps.length !== 1) return null;
  const { id: _id, ...draft } = steps[0];
  return { ...draft, reason: howUndone(draft) };
}

/** The reason a planned step gives speaks of the manifest; an undo says how it is done. */
function howUndone(draft: Omit<Step, 'id'>): string {
  if (draft.action === 'edit_table') {
    return `the CREATE TABLE text of ${draft.table} replaced in sqlite_schema with only these taken back (no row is rewritten; one scan checks every row)`;
  }
  if (draft.action === 'rebuild_table') {
    return `${draft.table} rebuilt with only these taken back, with apply's checks (its text, indexes and triggers as expected, every row copied, no new foreign key violation)`;
  }
  return `the index dropped from ${draft.table}`;
}

interface TextConstraints {
  readonly checks: readonly DesiredCheck[];
  readonly foreignKeys: readonly DesiredForeignKey[];
}

/** The change that takes one object of the step back to its state before it, from the table as it is now. */
function undoChange(e: ObjectEffect, table: Table, before: TextConstraints): Change | null {
  const ref = table.ref;
  if (e.kind === 'index') {
    const current = table.indexes.find((i) => i.name === e.name);
    return e.effect === 'created' && current ? { kind: 'drop_index', table: ref, current, why: 'removed' } : null;
  }
  if (e.kind === 'check') {
    const current = table.checks.find((c) => c.name === e.name);
    const old = before.checks.find((c) => c.name === e.name);
    if (e.effect === 'created' && current) return { kind: 'drop_check', table: ref, current, why: 'removed' };
    if (e.effect === 'changed' && current && old) return { kind: 'replace_check', table: ref, desired: old, current };
    if (e.effect === 'dropped' && !current && old) return { kind: 'add_check', table: ref, desired: old };
    return null;
  }
  const current = table.foreignKeys.find((f) => f.name === e.name);
  const old = before.foreignKeys.find((f) => f.name === (e.effect === 'renamed' ? e.from : e.name));
  if (e.effect === 'created' && current) return { kind: 'drop_foreign_key', table: ref, current, why: 'removed' };
  if ((e.effect === 'changed' || e.effect === 'renamed') && current && old) return { kind: 'replace_foreign_key', table: ref, desired: old, current };
  if (e.effect === 'dropped' && !current && old) return { kind: 'add_foreign_key', table: ref, desired: old };
  return null;
}

/**
 * The CHECKs and foreign keys of a CREATE TABLE text the table had, named as
 * introspection names them (an unnamed one by its expression or structure),
 * each as a change could ask for it. A CHECK keeps its expression as written
 * there, proven to be one expression first: it is spliced into the new text.
 * A foreign key is rendered from its parts, every name quoted.
 */
function constraintsOfText(text: string, table: Table, catalog: Catalog, fail: (problem: string) => Error): TextConstraints {
  let parsed: ParsedTable;
  try {
    parsed = parseCreateTable(text);
  } catch {
    throw fail(`its recorded definition of ${qualifiedName(table.ref)} does not parse`);
  }
  const path = (name: string) => `${qualifiedName(table.ref)}.${name}`;
  const { checks, checkText } = checksOf(parsed, table.ref, table.columns.map((c) => c.name));
  const desiredChecks = checks.map((c: Check): DesiredCheck => {
    const written = checkText.get(c.name)?.expr ?? c.expr;
    const problem = fragmentProblem(written, expressionProblem);
    if (problem !== null) throw fail(`its recorded definition has a CHECK that is not a single SQL expression (${problem})`);
    return { ...c, expr: written, source: written, severity: 'critical', path: path(c.name) };
  });
  const foreignKeys: DesiredForeignKey[] = [];
  for (const f of parsed.foreignKeys) {
    const parent = catalog.tables.find((t) => sameName(t.ref.name, f.refTable));
    const columns = f.columns.map((c) => table.columns.find((k) => sameName(k.name, c))?.name ?? c);
    const refColumns = f.refColumns.length ? f.refColumns.map((c) => parent?.columns.find((k) => sameName(k.name, c))?.name ?? c) : [...(parent?.primaryKey ?? [])];
    const parentName = parent?.ref.name ?? f.refTable;
    let name = f.name ?? unnamedForeignKeyName(columns, parentName, refColumns);
    for (let n = 2; foreignKeys.some((k) => k.name === name); n++) name = `${name.replace(/ #\d+$/, '')} #${n}`;
    const fk: ForeignKey = {
      name,
      ...(f.name === null ? { unnamed: true } : {}),
      table: table.ref,
      columns,
      refTable: { schema: 'main', name: parentName },
      refColumns,
      onDelete: f.onDelete,
      onUpdate: f.onUpdate,
      deferrable: f.deferrable,
      initiallyDeferred: f.initiallyDeferred,
      match: 'simple',
      validated: true,
    };
    foreignKeys.push({ ...fk, severity: 'critical', path: path(name) });
  }
  return { checks: desiredChecks, foreignKeys };
}
