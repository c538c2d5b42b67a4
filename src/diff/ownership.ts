import type { Catalog, Check, DesiredTable, ForeignKey, Index, Table, TableRef } from '../schema/types.js';
import { findTable, freeze, qualifiedName } from '../schema/types.js';
import type { Change, Diff, DropReason, ObjectEffect, ObjectKind, Unmanaged } from './changes.js';
import { sameForeignKeyBehaviour, sameForeignKeyShape, sameIndexShape } from './diff.js';

/**
 * What the journal says about ownership, in the few fields this needs (a
 * dialect's HistoryRun has them): runs in order, each step with its table,
 * whether a rollback undid it, and the effects it recorded.
 */
export interface JournalRun {
  readonly id: number;
  readonly kind: string;
  readonly steps: ReadonlyArray<{
    readonly table: string;
    readonly undoneBy: number | null;
    readonly effects?: readonly ObjectEffect[];
  }>;
}

/** An object schema-diff created and still owns, with its definition as the journal last recorded it. */
export interface Owned {
  readonly kind: ObjectKind;
  /** schema.table, as the journal stores it. */
  readonly table: string;
  readonly name: string;
  readonly definition: Check | ForeignKey | Index | undefined;
  /** The apply run that last created, renamed or changed it. */
  readonly runId: number;
}

const keyOf = (kind: ObjectKind, table: string, name: string) => `${kind}\u0000${table}\u0000${name}`;

/**
 * Replays the journal: an object is ours from the step that created it,
 * follows its renames, and stops being ours when dropped or forgotten. Steps a
 * rollback undid count as never run. An object schema-diff renamed or replaced
 * is ours only if the one before it was: never what the user made.
 */
export function ownedObjects(runs: readonly JournalRun[]): Map<string, Owned> {
  const owned = new Map<string, Owned>();
  for (const run of [...runs].sort((a, b) => a.id - b.id)) {
    if (run.kind !== 'apply' && run.kind !== 'forget') continue;
    for (const step of run.steps) {
      if (step.undoneBy !== null) continue;
      for (const e of step.effects ?? []) replay(owned, run.id, step.table, e);
    }
  }
  return owned;
}

function replay(owned: Map<string, Owned>, runId: number, table: string, e: ObjectEffect): void {
  const key = keyOf(e.kind, table, e.name);
  const entry = { kind: e.kind, table, name: e.name, definition: e.definition, runId };
  switch (e.effect) {
    case 'created':
      owned.set(key, entry);
      break;
    case 'renamed': {
      const from = keyOf(e.kind, table, e.from ?? '');
      if (owned.has(from)) {
        owned.delete(from);
        owned.set(key, entry);
      }
      break;
    }
    case 'changed':
      if (owned.has(key)) owned.set(key, entry);
      break;
    case 'dropped':
    case 'forgotten':
      owned.delete(key);
      break;
    case 'commented':
      break;
  }
}

/**
 * The comments schema-diff wrote from manifest descriptions and that are still
 * its own, by object (ownedComment looks one up): set by a step not undone,
 * following renames, gone with the object or once cleared or forgotten.
 * Independent of who owns the object: a description on a constraint the
 * user made is schema-diff's comment all the same.
 */
export function ownedComments(runs: readonly JournalRun[]): Map<string, string> {
  const comments = new Map<string, string>();
  for (const run of [...runs].sort((a, b) => a.id - b.id)) {
    if (run.kind !== 'apply' && run.kind !== 'forget') continue;
    for (const step of run.steps) {
      if (step.undoneBy !== null) continue;
      for (const e of step.effects ?? []) replayComment(comments, step.table, e);
    }
  }
  return comments;
}

function replayComment(comments: Map<string, string>, table: string, e: ObjectEffect): void {
  const key = keyOf(e.kind, table, e.name);
  if (e.effect === 'dropped' || e.effect === 'forgotten') {
    comments.delete(key);
    return;
  }
  if (e.effect === 'renamed') {
    const from = keyOf(e.kind, table, e.from ?? '');
    const moved = comments.get(from);
    comments.delete(from);
    if (moved !== undefined) comments.set(key, moved);
  }
  if (typeof e.comment === 'string' && e.comment !== '') comments.set(key, e.comment);
  else if (e.comment === null || e.comment === '') comments.delete(key);
}

/** The comment schema-diff wrote on that object and still answers for, if any. */
export function ownedComment(comments: ReadonlyMap<string, string>, kind: ObjectKind, table: TableRef, name: string): string | undefined {
  return comments.get(keyOf(kind, qualifiedName(table), name));
}

/** The owned object of that kind and name on that table, if any. */
export function ownedAs(owned: ReadonlyMap<string, Owned>, kind: ObjectKind, table: TableRef, name: string): Owned | undefined {
  return owned.get(keyOf(kind, qualifiedName(table), name));
}

export interface RemovalOptions {
  /** The manifest is the whole truth for the tables it names: drop every unmentioned CHECK, FK and plain index there. */
  readonly prune?: boolean;
}

/**
 * Adds to a diff the drops that removal asks for, on the tables the manifest
 * names only. Without --prune an object is dropped when schema-diff owns it
 * and it is still as schema-diff left it; one changed by hand since is left
 * alone and listed, as is everything schema-diff never made. Constraint-backed
 * indexes (primary keys, UNIQUE constraints) are never in the unmanaged list,
 * so never dropped.
 */
export function withRemovals(
  diff: Diff,
  desired: readonly DesiredTable[],
  catalog: Catalog,
  owned: ReadonlyMap<string, Owned>,
  options: RemovalOptions = {},
): Diff {
  const drops: Change[] = [];
  const unmanaged: Unmanaged[] = [];
  for (const u of diff.unmanaged) {
    const live = findTable(catalog, u.table);
    const object = live && objectOf(live, u.kind, u.name);
    if (!live || !desired.some((t) => qualifiedName(t.ref) === qualifiedName(u.table)) || !object) {
      unmanaged.push(u);
      continue;
    }
    const ours = ownedAs(owned, u.kind, u.table, u.name);
    const unchanged = ours !== undefined && sameDefinition(u.kind, ours.definition, object);
    const why: DropReason | null = ours && unchanged ? 'removed' : options.prune ? 'prune' : null;
    if (why) drops.push(dropOf(u.kind, u.table, object, why));
    else if (ours) unmanaged.push({ ...u, note: `created by schema-diff (apply run ${ours.runId}) and changed by hand since: left alone (--prune drops it)` });
    else unmanaged.push(u);
  }
  return freeze({ changes: [...diff.changes, ...drops], unmanaged, warnings: diff.warnings });
}

function objectOf(table: Table, kind: ObjectKind, name: string): Check | ForeignKey | Index | undefined {
  const list: readonly (Check | ForeignKey | Index)[] = kind === 'check' ? table.checks : kind === 'foreign_key' ? table.foreignKeys : table.indexes;
  return list.find((o) => o.name === name);
}

function dropOf(kind: ObjectKind, table: TableRef, current: Check | ForeignKey | Index, why: DropReason): Change {
  if (kind === 'check') return { kind: 'drop_check', table, current: current as Check, why };
  if (kind === 'foreign_key') return { kind: 'drop_foreign_key', table, current: current as ForeignKey, why };
  return { kind: 'drop_index', table, current: current as Index, why };
}

/**
 * Whether the object is still as schema-diff left it, by the differ's own
 * idea of "the same". The recorded definition comes from the journal, which
 * is data, not code: anything malformed in it simply is not the same.
 */
export function sameDefinition(kind: ObjectKind, recorded: unknown, live: Check | ForeignKey | Index): boolean {
  if (!recorded || typeof recorded !== 'object') return false;
  try {
    if (kind === 'check') return (recorded as Check).expr === (live as Check).expr;
    if (kind === 'foreign_key') {
      const fk = recorded as ForeignKey;
      return sameForeignKeyShape(fk, live as ForeignKey) && sameForeignKeyBehaviour(fk, live as ForeignKey);
    }
    return sameIndexShape(recorded as Index, live as Index);
  } catch {
    return false;
  }
}
