import type {
  Catalog,
  Check,
  DesiredCheck,
  DesiredForeignKey,
  DesiredIndex,
  DesiredTable,
  ForeignKey,
  Index,
  IndexKey,
  Table,
  TableRef,
} from '../schema/types.js';
import { findTable, freeze, sameTable } from '../schema/types.js';
import type { Change, Diff, ObjectKind, Unmanaged } from './changes.js';
import { foreignKeysWithoutIndex } from './fk-indexes.js';

export interface DiffOptions {
  /** The database keeps comments (Dialect.comments): descriptions are compared with them. Absent: false. */
  readonly comments?: boolean;
  /**
   * The comment schema-diff wrote on a live object from a description and
   * still answers for (diff/ownership.ts ownedComments), if any: cleared when
   * the description leaves the manifest.
   */
  readonly ourComment?: (kind: ObjectKind, table: TableRef, name: string) => string | undefined;
}

/**
 * Compares the desired state (already normalized by the dialect) with the
 * catalog. Pure: both sides are plain data, expressions are compared as the
 * database prints them. CHECKs are matched by name; foreign keys and indexes
 * by structure, so a renamed or re-actioned object is replaced, never doubled.
 */
export function diffSchemas(desired: readonly DesiredTable[], catalog: Catalog, options: DiffOptions = {}): Diff {
  const changes: Change[] = [];
  const unmanaged: Unmanaged[] = [];
  for (const want of desired) {
    const live = findTable(catalog, want.ref);
    if (!live) continue; // reported earlier as an unknown table
    const kept: KeptObject[] = [];
    const usedChecks = diffChecks(want.checks, live, changes, kept);
    const usedFks = diffForeignKeys(want.foreignKeys, live, changes, kept);
    const usedIndexes = diffIndexes(want.indexes, live, changes, kept);
    if (options.comments) changes.push(...commentChanges(kept, live.ref, options));
    unmanaged.push(...unmanagedOf(live, usedChecks, usedFks, usedIndexes));
  }
  return freeze({ changes, unmanaged, warnings: foreignKeysWithoutIndex(desired, catalog) });
}

/** A desired object the plan keeps in place (maybe renamed or validated), with the live one it is: its comment is compared. */
interface KeptObject {
  readonly kind: ObjectKind;
  readonly desired: DesiredCheck | DesiredForeignKey | DesiredIndex;
  readonly current: Check | ForeignKey | Index;
}

/**
 * Comment changes of the objects kept. A description in the manifest is the
 * comment (an empty one is none: PostgreSQL stores '' as no comment); without
 * one the comment is not managed and left as it is, unless it is one
 * schema-diff wrote and nobody changed since: then the description was
 * removed, and the comment goes with it.
 */
function commentChanges(kept: readonly KeptObject[], table: TableRef, options: DiffOptions): Change[] {
  const out: Change[] = [];
  for (const { kind, desired, current } of kept) {
    const live = current.description ?? null;
    let wanted: string | null;
    if (desired.description !== undefined) wanted = desired.description === '' ? null : desired.description;
    else if (live !== null && options.ourComment?.(kind, table, current.name) === live) wanted = null;
    else continue;
    if (wanted === live) continue;
    const onConstraint = kind !== 'index' || !!(current as Index).uniqueConstraint;
    out.push({
      kind: onConstraint ? 'comment_constraint' : 'comment_index',
      table,
      object: kind,
      name: desired.name,
      description: wanted,
      previous: live,
      path: desired.path,
    });
  }
  return out;
}

function diffChecks(wanted: readonly DesiredCheck[], live: Table, changes: Change[], kept: KeptObject[]): Set<string> {
  const used = new Set<string>();
  for (const desired of wanted) {
    // an unnamed CHECK (SQLite) is its expression: one of another name that says the same is it
    const current =
      live.checks.find((c) => c.name === desired.name) ??
      (desired.unnamed ? live.checks.find((c) => !used.has(c.name) && c.expr === desired.expr) : undefined);
    const table = live.ref;
    if (!current) changes.push({ kind: 'add_check', table, desired });
    else if (current.expr !== desired.expr || !!current.noInherit !== !!desired.noInherit) changes.push({ kind: 'replace_check', table, desired, current });
    else if (!current.validated) changes.push({ kind: 'validate_check', table, desired, current });
    if (current) used.add(current.name);
    // a replaced CHECK is made anew: its step writes the comment
    if (current && current.expr === desired.expr && !!current.noInherit === !!desired.noInherit) kept.push({ kind: 'check', desired, current });
  }
  return used;
}

export function sameForeignKeyShape(a: ForeignKey, b: ForeignKey, pk: readonly string[] = []): boolean {
  const refA = a.refColumns.length ? a.refColumns : pk;
  const refB = b.refColumns.length ? b.refColumns : pk;
  return sameTable(a.refTable, b.refTable) && sameList(a.columns, b.columns) && sameList(refA, refB);
}

export function sameForeignKeyBehaviour(a: ForeignKey, b: ForeignKey): boolean {
  return (
    a.onDelete === b.onDelete &&
    a.onUpdate === b.onUpdate &&
    a.deferrable === b.deferrable &&
    a.initiallyDeferred === b.initiallyDeferred &&
    a.match === b.match &&
    sameList(a.onDeleteColumns ?? [], b.onDeleteColumns ?? [])
  );
}

function diffForeignKeys(wanted: readonly DesiredForeignKey[], live: Table, changes: Change[], kept: KeptObject[]): Set<string> {
  const used = new Set<string>();
  for (const desired of wanted) {
    const candidates = live.foreignKeys.filter((fk) => !used.has(fk.name) && sameForeignKeyShape(fk, desired));
    const current =
      candidates.find((fk) => fk.name === desired.name) ??
      candidates.find((fk) => sameForeignKeyBehaviour(fk, desired)) ??
      candidates[0] ??
      // same name, other shape: the manifest redefines it
      live.foreignKeys.find((fk) => !used.has(fk.name) && fk.name === desired.name);
    const table = live.ref;
    if (!current) {
      changes.push({ kind: 'add_foreign_key', table, desired });
      continue;
    }
    used.add(current.name);
    if (!sameForeignKeyShape(current, desired) || !sameForeignKeyBehaviour(current, desired)) {
      changes.push({ kind: 'replace_foreign_key', table, desired, current });
      continue;
    }
    if (current.name !== desired.name && !desired.unnamed) {
      // an unnamed key (SQLite) is its structure: a named one of the same shape and behaviour is it
      changes.push({ kind: 'rename_foreign_key', table, desired, current });
    } else if (!current.validated) {
      changes.push({ kind: 'validate_foreign_key', table, desired, current });
    }
    kept.push({ kind: 'foreign_key', desired, current });
  }
  return used;
}

/** Same index as far as the database enforces and stores it; whether a UNIQUE constraint uses it is not part of its shape. */
export function sameIndexShape(a: Index, b: Index): boolean {
  return (
    a.unique === b.unique &&
    a.method === b.method &&
    (a.where ?? null) === (b.where ?? null) &&
    a.keys.length === b.keys.length &&
    a.keys.every((k, i) => sameKey(k, b.keys[i])) &&
    sameList(a.include ?? [], b.include ?? []) &&
    !!a.nullsNotDistinct === !!b.nullsNotDistinct &&
    sameOptions(a.with, b.with)
  );
}

/**
 * A UNIQUE constraint in the database is checked when the manifest asks
 * (DEFERRABLE, INITIALLY DEFERRED; a bare unique index in the manifest asks
 * for row by row). A plain unique index has no timing: the constraint made
 * over it takes the manifest's.
 */
export function sameConstraintTiming(current: Index, desired: Index): boolean {
  if (!current.uniqueConstraint) return true;
  return !!current.deferrable === !!desired.deferrable && !!current.initiallyDeferred === !!desired.initiallyDeferred;
}

function sameKey(a: IndexKey, b: IndexKey): boolean {
  const sameTarget = 'column' in a && 'column' in b ? a.column === b.column : 'expr' in a && 'expr' in b && a.expr === b.expr;
  return (
    sameTarget &&
    !!a.desc === !!b.desc &&
    a.nulls === b.nulls &&
    a.collate === b.collate &&
    a.opclass?.name === b.opclass?.name &&
    sameOptions(a.opclass?.params, b.opclass?.params)
  );
}

function sameOptions(a: Readonly<Record<string, string>> = {}, b: Readonly<Record<string, string>> = {}): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

/**
 * Whether a UNIQUE constraint can use the index (PostgreSQL's ADD CONSTRAINT
 * … USING INDEX): a btree on plain columns in default order, not partial.
 */
export function fitsUniqueConstraint(ix: Index): boolean {
  return (
    ix.unique &&
    ix.method === 'btree' &&
    ix.where === null &&
    ix.keys.every((k) => 'column' in k && !k.desc && !k.nulls && !k.collate && !k.opclass)
  );
}

/**
 * Indexes are matched by name, then by shape. A UNIQUE constraint's index
 * takes part (a manifest unique index may describe it); those of primary keys
 * and exclusion constraints never do.
 */
function diffIndexes(wanted: readonly DesiredIndex[], live: Table, changes: Change[], kept: KeptObject[]): Set<string> {
  const used = new Set<string>();
  const ours = live.indexes.filter((ix) => !ix.constraintBacked || ix.uniqueConstraint);
  for (const desired of wanted) {
    const table = live.ref;
    const sameName = ours.find((ix) => ix.name === desired.name);
    if (sameName && sameName.valid && sameIndexShape(sameName, desired) && sameConstraintTiming(sameName, desired)) {
      used.add(sameName.name);
      // a new UNIQUE constraint: its step writes the comment
      if (desired.uniqueConstraint && !sameName.uniqueConstraint) changes.push({ kind: 'add_unique_constraint', table, desired, current: sameName });
      else kept.push({ kind: 'index', desired, current: sameName });
      continue;
    }
    const twin = ours.find(
      (ix) =>
        ix.valid &&
        !used.has(ix.name) &&
        ix.name !== desired.name &&
        sameIndexShape(ix, desired) &&
        sameConstraintTiming(ix, desired) &&
        (!desired.uniqueConstraint || ix.uniqueConstraint),
    );
    if (twin && !sameName) {
      used.add(twin.name);
      // a name the database gives (SQLite's UNIQUE autoindex) cannot change: the constraint already is that index
      if (!twin.fixedName) changes.push({ kind: 'rename_index', table, desired, current: twin });
      kept.push({ kind: 'index', desired, current: twin });
    } else if (sameName) {
      // other shape, or INVALID after a failed concurrent build: rebuild it
      used.add(sameName.name);
      const constraint = sameName.uniqueConstraint || desired.uniqueConstraint;
      changes.push({ kind: constraint ? 'replace_unique_constraint' : 'replace_index', table, desired, current: sameName });
    } else {
      changes.push({ kind: 'create_index', table, desired });
    }
  }
  return used;
}

function unmanagedOf(live: Table, checks: Set<string>, fks: Set<string>, indexes: Set<string>): Unmanaged[] {
  const table = live.ref;
  return [
    ...live.checks.filter((c) => !checks.has(c.name)).map((c) => ({ kind: 'check' as const, table, name: c.name, definition: `CHECK (${c.expr})` })),
    ...live.foreignKeys
      .filter((f) => !fks.has(f.name))
      .map((f) => ({
        kind: 'foreign_key' as const,
        table,
        name: f.name,
        definition: `(${f.columns.join(', ')}) → ${f.refTable.name}(${f.refColumns.join(', ')}) on delete ${f.onDelete}`,
      })),
    ...live.indexes
      .filter((i) => !i.constraintBacked && !indexes.has(i.name))
      .map((i) => ({
        kind: 'index' as const,
        table,
        name: i.name,
        definition: `${i.unique ? 'unique ' : ''}(${i.keys.map((k) => ('column' in k ? k.column : k.expr)).join(', ')})${i.where ? ` where ${i.where}` : ''}`,
      })),
  ];
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
