import type {
  Check,
  DesiredCheck,
  DesiredForeignKey,
  DesiredIndex,
  ForeignKey,
  Index,
  TableRef,
} from '../schema/types.js';

/**
 * What must change for the database to match the manifest: one value per
 * operation, each carrying both sides so that a renderer can build the SQL and
 * its inverse without going back to the catalog.
 */
export type Change =
  | { readonly kind: 'add_check'; readonly table: TableRef; readonly desired: DesiredCheck }
  | { readonly kind: 'replace_check'; readonly table: TableRef; readonly desired: DesiredCheck; readonly current: Check }
  | { readonly kind: 'validate_check'; readonly table: TableRef; readonly desired: DesiredCheck; readonly current: Check }
  | { readonly kind: 'add_foreign_key'; readonly table: TableRef; readonly desired: DesiredForeignKey }
  | {
      readonly kind: 'replace_foreign_key';
      readonly table: TableRef;
      readonly desired: DesiredForeignKey;
      readonly current: ForeignKey;
    }
  | {
      readonly kind: 'rename_foreign_key';
      readonly table: TableRef;
      readonly desired: DesiredForeignKey;
      readonly current: ForeignKey;
    }
  | {
      readonly kind: 'validate_foreign_key';
      readonly table: TableRef;
      readonly desired: DesiredForeignKey;
      readonly current: ForeignKey;
    }
  | { readonly kind: 'create_index'; readonly table: TableRef; readonly desired: DesiredIndex }
  | { readonly kind: 'replace_index'; readonly table: TableRef; readonly desired: DesiredIndex; readonly current: Index }
  | { readonly kind: 'rename_index'; readonly table: TableRef; readonly desired: DesiredIndex; readonly current: Index }
  /** The index is there as the manifest wants it; a UNIQUE constraint is to use it (`constraint: true`). */
  | { readonly kind: 'add_unique_constraint'; readonly table: TableRef; readonly desired: DesiredIndex; readonly current: Index }
  /** A UNIQUE constraint's index of another shape, or an index to become one: built anew beside it, then swapped. */
  | {
      readonly kind: 'replace_unique_constraint';
      readonly table: TableRef;
      readonly desired: DesiredIndex;
      readonly current: Index;
    }

  /** An object the plan keeps (or only renames) whose comment is to change: set to the manifest's description, or cleared. */
  | CommentChange

  | { readonly kind: 'drop_check'; readonly table: TableRef; readonly current: Check; readonly why: DropReason }
  | { readonly kind: 'drop_foreign_key'; readonly table: TableRef; readonly current: ForeignKey; readonly why: DropReason }
  | { readonly kind: 'drop_index'; readonly table: TableRef; readonly current: Index; readonly why: DropReason };

/**
 * The database comment of an object (PostgreSQL COMMENT ON), a metadata-only
 * change: `comment_constraint` for a CHECK, a foreign key or a UNIQUE
 * constraint, `comment_index` for a plain index. Objects the plan creates or
 * rebuilds get theirs in the step that makes them, never through this.
 */
export interface CommentChange {
  readonly kind: 'comment_constraint' | 'comment_index';
  readonly table: TableRef;
  /** Which manifest object it is (a UNIQUE constraint is an index there). */
  readonly object: ObjectKind;
  /** The object's name once the plan's renames have run. */
  readonly name: string;
  /** The comment to set; null clears it (a description schema-diff wrote, removed from the manifest). */
  readonly description: string | null;
  /** The comment it has now, which the inverse puts back; null: none. */
  readonly previous: string | null;
  /** Where in the manifest the object is. */
  readonly path: string;
}

/**
 * Why an object is dropped: `removed`, schema-diff created it (the journal
 * says so) and the manifest no longer lists it; `prune`, the manifest is the
 * whole truth for its table (--prune).
 */
export type DropReason = 'removed' | 'prune';

/** Why a drop is in the plan, in words (Step.reason), the same on every dialect. */
export function dropReason(why: DropReason, what: string): string {
  return why === 'removed'
    ? `was in the manifest, removed: schema-diff created this ${what}, so it drops it`
    : `${what} not in the manifest, and --prune makes the manifest the whole truth for this table`;
}

/** The changes that add or change an object the manifest describes (every kind but the drops and the comments). */
export type DesiredChange = Exclude<Change, { kind: 'drop_check' | 'drop_foreign_key' | 'drop_index' | 'comment_constraint' | 'comment_index' }>;

export function isCommentChange(c: Change): c is CommentChange {
  return c.kind === 'comment_constraint' || c.kind === 'comment_index';
}
export type DropChange = Extract<Change, { kind: 'drop_check' | 'drop_foreign_key' | 'drop_index' }>;

export function isDropChange(c: Change): c is DropChange {
  return c.kind === 'drop_check' || c.kind === 'drop_foreign_key' || c.kind === 'drop_index';
}

export type ObjectKind = 'check' | 'foreign_key' | 'index';

/**
 * What a step did to one object, as far as ownership goes (diff/ownership.ts):
 * `created` it, `renamed` (or replaced) `from` into it, `changed` its
 * definition, `dropped` it, `forgotten` (schema-diff forget: no longer ours,
 * the database untouched), or `commented` (set its comment, whoever owns it).
 * The journal keeps these with each step.
 */
export interface ObjectEffect {
  readonly kind: ObjectKind;
  readonly name: string;
  readonly effect: 'created' | 'renamed' | 'changed' | 'dropped' | 'forgotten' | 'commented';
  readonly from?: string;
  /** The object as the step left it (created, renamed, changed): a later plan compares the database's with it. */
  readonly definition?: Check | ForeignKey | Index;
  /**
   * The comment the step wrote from the manifest's description (null: cleared
   * it); absent when it wrote none. A later plan clears only a comment that is
   * still this one, once the description leaves the manifest.
   */
  readonly comment?: string | null;
}

export type ChangeKind = Change['kind'];

/** The ownership effects of one change: each dialect's renderer puts them on the step that carries it. */
export function effectsOf(change: Change): ObjectEffect[] {
  switch (change.kind) {
    case 'add_check':
      return [{ kind: 'check', name: change.desired.name, effect: 'created', definition: definitionOf(change.desired) }];
    case 'add_foreign_key':
      return [{ kind: 'foreign_key', name: change.desired.name, effect: 'created', definition: definitionOf(change.desired) }];
    case 'create_index':
      return [{ kind: 'index', name: change.desired.name, effect: 'created', definition: definitionOf(change.desired) }];
    case 'replace_check':
    case 'replace_foreign_key':
    case 'rename_foreign_key':
    case 'replace_index':
    case 'rename_index':
    case 'add_unique_constraint':
    case 'replace_unique_constraint': {
      const kind: ObjectKind = change.kind.endsWith('check') ? 'check' : change.kind.endsWith('foreign_key') ? 'foreign_key' : 'index';
      const definition = definitionOf(change.desired);
      const { name } = change.desired;
      // a replaced object keeps whoever owned it: ours only if the one it replaces was ours
      return change.current.name === name
        ? [{ kind, name, effect: 'changed', definition }]
        : [{ kind, name, effect: 'renamed', from: change.current.name, definition }];
    }
    case 'validate_check':
    case 'validate_foreign_key':
      return [];
    case 'comment_constraint':
    case 'comment_index':
      return [{ kind: change.object, name: change.name, effect: 'commented', comment: change.description }];
    case 'drop_check':
      return [{ kind: 'check', name: change.current.name, effect: 'dropped' }];
    case 'drop_foreign_key':
      return [{ kind: 'foreign_key', name: change.current.name, effect: 'dropped' }];
    case 'drop_index':
      return [{ kind: 'index', name: change.current.name, effect: 'dropped' }];
    default: {
      const never: never = change;
      throw new Error(`unhandled change ${JSON.stringify(never)}`);
    }
  }
}

/** The catalog-comparable part of a desired object: what the manifest said for how it is written and why, left out. */
function definitionOf(o: Check | ForeignKey | Index): Check | ForeignKey | Index {
  const { source: _s, path: _p, severity: _v, description: _d, ...rest } = o as Check & { source?: unknown; path?: unknown; severity?: unknown; description?: unknown };
  return rest;
}

/** A catalog object that the manifest does not mention: left alone, listed for the reader. */
export interface Unmanaged {
  readonly kind: 'check' | 'foreign_key' | 'index';
  readonly table: TableRef;
  readonly name: string;
  readonly definition: string;
  /** Why it is left alone when schema-diff might have dropped it (created by it, changed by hand since). */
  readonly note?: string;
}

/**
 * Something a reviewer should know that is no step: the plan is still right,
 * but the database will behave worse than the manifest's author may think.
 */
export interface PlanWarning {
  /** The hazard, as steps carry theirs (`--fail-on` sees both). */
  readonly hazard: 'FK_WITHOUT_INDEX';
  /** schema.table */
  readonly table: string;
  /** The manifest object concerned. */
  readonly object: string;
  /** Where in the manifest it is. */
  readonly path: string;
  readonly message: string;
  /** What to add to the manifest, when there is a fix. */
  readonly suggestion?: { readonly index: { readonly name: string; readonly columns: readonly string[] } };
}

export interface Diff {
  readonly changes: readonly Change[];
  readonly unmanaged: readonly Unmanaged[];
  readonly warnings: readonly PlanWarning[];
}
