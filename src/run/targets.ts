import type { ViolationTarget } from '../dialect/dialect.js';
import type { Change } from '../diff/changes.js';
import type { DesiredCheck, DesiredForeignKey, DesiredIndex, DesiredTable } from '../schema/types.js';

type Desired = DesiredCheck | DesiredForeignKey | DesiredIndex;

export function checkTarget(c: DesiredCheck): ViolationTarget {
  return { kind: 'check', name: c.name, table: c.table, expr: c.expr, severity: c.severity };
}

export function foreignKeyTarget(fk: DesiredForeignKey): ViolationTarget {
  return {
    kind: 'foreign_key',
    name: fk.name,
    table: fk.table,
    columns: fk.columns,
    refTable: fk.refTable,
    refColumns: fk.refColumns,
    severity: fk.severity,
  };
}

export function uniqueTarget(ix: DesiredIndex): ViolationTarget {
  return {
    kind: 'unique',
    name: ix.name,
    table: ix.table,
    keys: ix.keys,
    where: ix.where,
    ...(ix.nullsNotDistinct ? { nullsNotDistinct: true } : {}),
    severity: ix.severity,
  };
}

function targetOf(d: Desired): ViolationTarget | null {
  if ('expr' in d) return checkTarget(d);
  if ('refTable' in d) return foreignKeyTarget(d);
  return d.unique ? uniqueTarget(d) : null;
}

/** Every object of the manifest that rows can violate (validate's default scope). */
export function targetsOfManifest(desired: readonly DesiredTable[]): ViolationTarget[] {
  return desired.flatMap((t) =>
    [...t.checks, ...t.foreignKeys, ...t.indexes].map(targetOf).filter((x): x is ViolationTarget => x !== null),
  );
}

/** The objects a plan will check existing rows against: new, replaced or not-yet-validated ones. */
export function targetsOfChanges(changes: readonly Change[]): ViolationTarget[] {
  const out: ViolationTarget[] = [];
  for (const c of changes) {
    switch (c.kind) {
      case 'add_check':
      case 'replace_check':
      case 'validate_check':
      case 'add_foreign_key':
      case 'replace_foreign_key':
      case 'validate_foreign_key':
      case 'create_index':
      case 'replace_index':
      case 'replace_unique_constraint': {
        const t = targetOf(c.desired);
        if (t) out.push(t);
        break;
      }
      case 'rename_foreign_key':
      case 'rename_index':
      case 'add_unique_constraint':
      case 'drop_check':
      case 'drop_foreign_key':
      case 'drop_index':
      case 'comment_constraint':
      case 'comment_index':
        break;
      default: {
        const never: never = c;
        throw new Error(`unhandled change ${JSON.stringify(never)}`);
      }
    }
  }
  return out;
}
