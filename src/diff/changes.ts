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
  | { readonly kind: 'rename_index'; readonly table: TableRef; readonly desired: DesiredIndex; readonly current: Index };

export type ChangeKind = Change['kind'];

/** A catalog object that the manifest does not mention: left alone, listed for the reader. */
export interface Unmanaged {
  readonly kind: 'check' | 'foreign_key' | 'index';
  readonly table: TableRef;
  readonly name: string;
  readonly definition: string;
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
