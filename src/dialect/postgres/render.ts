import { type Change } from '../../diff/changes.js';
import { refuseIndexNameCollisions } from '../../diff/index-names.js';
import type { Step } from '../../plan/types.js';
import type { Catalog, TableRef } from '../../schema/types.js';
import { qualifiedName, sameTable } from '../../schema/types.js';
import type { RenderOptions } from '../dialect.js';
import { from, type Draft } from './render/common.js';
import { renameConstraintStep, addCheckStep, replaceCheckStep, addForeignKeyStep, replaceForeignKeyStep, validateStep } from './render/constraint-steps.js';
import { dropCheckStep, dropForeignKeyStep, dropIndexStep, refuseDroppingBoundIndex } from './render/drop-steps.js';
import { createIndexStep, addUniqueConstraintStep, replaceUniqueConstraintStep, newIndexNames, refuseDroppingForeignKeyIndex, leftoverScratch, replaceIndexStep, renameIndexStep } from './render/index-steps.js';

/**
 * Turns changes into online steps, in the order that keeps writers moving:
 * 1. indexes, CONCURRENTLY (no write lock), before the foreign keys that use them;
 * 2. renames, then every CHECK and FK added NOT VALID, each in its own short
 *    transaction under lock_timeout (catalog-only, milliseconds of lock);
 * 3. one VALIDATE per table for all its new constraints: a single scan under
 *    SHARE UPDATE EXCLUSIVE, which writers do not wait for;
 * 4. drops last, once everything new protects the data: constraints (each in a
 *    short statement under lock_timeout, parent locked before child), then
 *    indexes CONCURRENTLY (a foreign key gone first may have used one).
 */
export function renderPostgres(changes: readonly Change[], catalog: Catalog, options: RenderOptions = {}): Step[] {
  if (!options.definitionsOnly) refuseIndexNameCollisions(newIndexNames(changes, catalog), catalog);
  const indexSteps: Draft[] = [];
  const renameSteps: Draft[] = [];
  const constraintSteps: Draft[] = [];
  const dropConstraintSteps: Draft[] = [];
  const dropIndexSteps: Draft[] = [];
  const toValidate = new Map<string, { table: TableRef; names: string[]; parents: TableRef[] }>();
  const validateLater = (table: TableRef, name: string, parent?: TableRef) => {
    if (options.skipValidation?.has(name)) return;
    const key = qualifiedName(table);
    const entry = toValidate.get(key) ?? { table, names: [], parents: [] };
    entry.names.push(name);
    if (parent && !entry.parents.some((p) => sameTable(p, parent))) entry.parents.push(parent);
    toValidate.set(key, entry);
  };

  for (const change of changes) {
    switch (change.kind) {
      case 'create_index':
        indexSteps.push(from(change, createIndexStep(change.desired)));
        break;
      case 'replace_index':
        if (!options.definitionsOnly) refuseDroppingForeignKeyIndex(change.desired, change.current, catalog);
        indexSteps.push(from(change, replaceIndexStep(change.desired, change.current, leftoverScratch(change.desired, catalog))));
        break;
      case 'rename_index':
        renameSteps.push(from(change, renameIndexStep(change.desired, change.current)));
        break;
      case 'add_unique_constraint':
        renameSteps.push(from(change, addUniqueConstraintStep(change.desired)));
        break;
      case 'replace_unique_constraint':
        if (!options.definitionsOnly) refuseDroppingForeignKeyIndex(change.desired, change.current, catalog);
        indexSteps.push(from(change, replaceUniqueConstraintStep(change.desired, change.current, leftoverScratch(change.desired, catalog))));
        break;
      case 'rename_foreign_key':
        renameSteps.push(from(change, renameConstraintStep(change.table, change.current.name, change.desired.name)));
        break;
      case 'add_check':
        constraintSteps.push(from(change, addCheckStep(change.desired)));
        validateLater(change.table, change.desired.name);
        break;
      case 'replace_check':
        constraintSteps.push(from(change, replaceCheckStep(change.desired, change.current)));
        validateLater(change.table, change.desired.name);
        break;
      case 'validate_check':
        validateLater(change.table, change.desired.name);
        break;
      case 'add_foreign_key':
        constraintSteps.push(from(change, addForeignKeyStep(change.desired)));
        validateLater(change.table, change.desired.name, change.desired.refTable);
        break;
      case 'replace_foreign_key':
        constraintSteps.push(from(change, replaceForeignKeyStep(change.desired, change.current)));
        validateLater(change.table, change.desired.name, change.desired.refTable);
        break;
      case 'validate_foreign_key':
        validateLater(change.table, change.desired.name, change.desired.refTable);
        break;
      case 'drop_check':
        dropConstraintSteps.push(from(change, dropCheckStep(change.current, change.why)));
        break;
      case 'drop_foreign_key':
        dropConstraintSteps.push(from(change, dropForeignKeyStep(change.current, change.why)));
        break;
      case 'drop_index':
        refuseDroppingBoundIndex(change.current, changes, catalog);
        dropIndexSteps.push(from(change, dropIndexStep(change.current, change.why)));
        break;
      default: {
        const never: never = change;
        throw new Error(`unhandled change ${JSON.stringify(never)}`);
      }
    }
  }
  const validateSteps = [...toValidate.values()].map((v) => validateStep(v.table, v.names, v.parents));
  return [...indexSteps, ...renameSteps, ...constraintSteps, ...validateSteps, ...dropConstraintSteps, ...dropIndexSteps].map((s, i) => ({ id: i + 1, ...s }));
}

// Rendered pieces other modules use (execute, script, history, unfinished swaps).
export { foreignKeyClause, legacyIsValidation, scratchName, takesTableLock, validateSql } from './render/common.js';
