import type { Catalog, Check, DesiredTable, ForeignKey, Index, Table, TableRef } from '../schema/types.js';
import { findTable, freeze, qualifiedName, tableKey } from '../schema/types.js';
import { effectsOf, type Change, type Diff, type DropReason, type ObjectEffect, type ObjectKind, type Unmanaged } from './changes.js';
import { sameConstraintTiming, sameForeignKeyBehaviour, sameForeignKeyShape, sameIndexShape } from './diff.js';

/**
 * What the journal says about ownership, in the few fields this needs (a
 * dialect's HistoryRun has them): runs in order, each step with its table,
 * whether a rollback undid it, and the effects it recorded.
 */
export interface JournalRun {
  readonly id: number;
  readonly kind: string;
  readonly steps: ReadonlyArray<JournalStep>;
}

export interface JournalStep {
  readonly table: string;
  readonly undoneBy: number | null;
  readonly effects?: readonly ObjectEffect[];
  /** For steps journaled before effects were (legacyEffects): the action, the object's name, the recorded change. */
  readonly action?: string;
  readonly name?: string;
  readonly origin?: unknown;
  readonly after?: string | null;
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
  /**
   * A step journaled before effects were, which kept no definition: its action
   * and the definition text it left (Step.after), from which a plan may prove
   * the live object unchanged (run/legacy-ownership.ts). Absent otherwise.
   */
  readonly legacy?: { readonly action: string; readonly after: string };
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
      if (step.effects) for (const e of step.effects) replay(owned, run.id, step.table, e);
      else for (const e of legacyEffects(step)) replay(owned, run.id, step.table, e, legacyRecord(step));
    }
  }
  return owned;
}

const LEGACY_CREATES: Readonly<Record<string, ObjectKind>> = { add_check: 'check', add_foreign_key: 'foreign_key', create_index: 'index' };
const LEGACY_DROPS: Readonly<Record<string, ObjectKind>> = {
  drop_check: 'check',
  drop_foreign_key: 'foreign_key',
  drop_index: 'index',
  drop_unique_constraint: 'index',
};

/**
 * What a step journaled before Step.effects existed did to ownership, where
 * its action says so without doubt: an add_check, add_foreign_key or
 * create_index step created the object of its name on its table. Its
 * definition is the one its recorded change (Step.origin, PostgreSQL) asked
 * for, when the journal kept one that names that object; otherwise none is
 * known until the plan proves the live object still as that step left it
 * (run/legacy-ownership.ts); unproven, it is never dropped on the journal's word.
 * A replace or rename of those days is followed only through its recorded
 * change; without one, what it renamed stays unknown, so not ours.
 */
export function legacyEffects(step: JournalStep): ObjectEffect[] {
  const { action, name } = step;
  if (typeof action !== 'string' || typeof name !== 'string') return [];
  if (Object.hasOwn(LEGACY_DROPS, action)) return [{ kind: LEGACY_DROPS[action], name, effect: 'dropped' }];
  const fromOrigin = recordedEffects(step.origin, action, name);
  if (fromOrigin) return fromOrigin;
  return Object.hasOwn(LEGACY_CREATES, action) ? [{ kind: LEGACY_CREATES[action], name, effect: 'created' }] : [];
}

/** The effects of the change a step recorded (untrusted: used only if it is a change of the step's action that names the step's object). */
function recordedEffects(origin: unknown, action: string, name: string): ObjectEffect[] | null {
  if (!origin || typeof origin !== 'object' || (origin as { kind?: unknown }).kind !== action) return null;
  try {
    const effects = effectsOf(origin as Change);
    const wellFormed = effects.every((e) => typeof e.name === 'string' && (e.from === undefined || typeof e.from === 'string'));
    return wellFormed && effects.some((e) => e.name === name) ? effects : null;
  } catch {
    return null;
  }
}

function legacyRecord(step: JournalStep): Owned['legacy'] {
  return typeof step.action === 'string' && typeof step.after === 'string' ? { action: step.action, after: step.after } : undefined;
}

function replay(owned: Map<string, Owned>, runId: number, table: string, e: ObjectEffect, legacy?: Owned['legacy']): void {
  const key = keyOf(e.kind, table, e.name);
  const entry: Owned = { kind: e.kind, table, name: e.name, definition: e.definition, runId, ...(legacy && !e.definition ? { legacy } : {}) };
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
 * so never pruned; a UNIQUE constraint schema-diff created is dropped when removed.
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
    else if (ours) unmanaged.push({ ...u, note: leftAloneNote(ours, '--prune drops it') });
    else unmanaged.push(u);
  }
  const currentNames = currentIndexNamesByTable(diff.changes);
  for (const table of desired) {
    const live = findTable(catalog, table.ref);
    if (live) ownedUniqueConstraintRemovals(live, table, currentNames.get(tableKey(live.ref)) ?? [], owned, drops, unmanaged);
  }
  return freeze({ changes: [...diff.changes, ...drops], unmanaged, warnings: diff.warnings });
}

/**
 * UNIQUE constraints are never in the unmanaged list (nor pruned: --prune
 * drops plain indexes only), but one schema-diff created (`constraint: true`)
 * and the manifest no longer lists is dropped like any object it owns. An
 * index the manifest still describes (by name, or matched by shape: a change
 * names it as its current side) is not removed.
 */
function ownedUniqueConstraintRemovals(
  live: Table,
  want: DesiredTable,
  currentNames: readonly string[],
  owned: ReadonlyMap<string, Owned>,
  drops: Change[],
  unmanaged: Unmanaged[],
): void {
  const mentioned = new Set([...want.indexes.map((ix) => ix.name), ...currentNames]);
  // a name the database gives (SQLite's autoindex) is the table's own: it goes only with the table's definition
  for (const ix of live.indexes.filter((i) => i.uniqueConstraint && !i.fixedName && !mentioned.has(i.name))) {
    const ours = ownedAs(owned, 'index', live.ref, ix.name);
    if (!ours) continue;
    // it must have been made a constraint by schema-diff too: one the user made of our plain index is the user's
    const madeConstraint = (ours.definition as Index | undefined)?.uniqueConstraint === true;
    if (madeConstraint && sameDefinition('index', ours.definition, ix)) {
      drops.push({ kind: 'drop_index', table: live.ref, current: ix, why: 'removed' });
    } else {
      unmanaged.push({
        kind: 'index',
        table: live.ref,
        name: ix.name,
        definition: `unique constraint (${ix.keys.map((k) => ('column' in k ? k.column : k.expr)).join(', ')})`,
        note: `UNIQUE constraint ${leftAloneNote(ours, 'drop it by hand if it should go')}`,
      });
    }
  }
}

/** The names changes give as their current side, by table: grouped once, not searched per table. */
function currentIndexNamesByTable(changes: readonly Change[]): ReadonlyMap<string, string[]> {
  const names = new Map<string, string[]>();
  for (const c of changes) {
    if (!('current' in c) || !c.current) continue;
    const key = tableKey(c.table);
    const list = names.get(key);
    if (list) list.push(c.current.name);
    else names.set(key, [c.current.name]);
  }
  return names;
}

/** Why an object schema-diff created is not dropped: changed since, or journaled before definitions were recorded. */
function leftAloneNote(ours: Owned, remedy: string): string {
  const why = ours.definition === undefined ? 'in a journal row that did not record its definition, so a change by hand cannot be ruled out' : 'and changed by hand since';
  return `created by schema-diff (apply run ${ours.runId}) ${why}: left alone (${remedy})`;
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
    return sameIndexShape(recorded as Index, live as Index) && sameConstraintTiming(live as Index, recorded as Index);
  } catch {
    return false;
  }
}
