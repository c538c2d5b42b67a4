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
    };

export type ChangeKind = Change['kind'];

/** A catalog object that the manifest does not mention: left alone, listed for the reader. */
export interface Unmanaged {
  readonly kind: 'check' | 'foreign_key' | 'index';
  readonly table: TableRef;
  readonly name: string;
  readonly definition: string;
}

export interface Diff {
  readonly changes: readonly Change[];
  readonly unmanaged: readonly Unmanaged[];
}
