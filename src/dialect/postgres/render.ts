import { isCommentChange, type Change } from '../../diff/changes.js';
import { refuseIndexNameCollisions } from '../../diff/index-names.js';
import type { Step } from '../../plan/types.js';
import type { Catalog, Check, ForeignKey, TableRef } from '../../schema/types.js';
import { qualifiedName, sameTable } from '../../schema/types.js';
import type { RenderOptions } from '../dialect.js';
import { from, scratchName, type Draft } from './render/common.js';
import { renameConstraintStep, addCheckStep, replaceCheckStep, addForeignKeyStep, replaceForeignKeyStep, validateStep } from './render/constraint-steps.js';
import { dropCheckStep, dropForeignKeyStep, dropIndexStep, refuseDroppingBoundIndex } from './render/drop-steps.js';
import { createIndexStep, refuseDeferringForeignKeyIndex, addUniqueConstraintStep, replaceUniqueConstraintStep, newIndexNames, refuseDroppingForeignKeyIndex, leftoverScratch, replaceIndexStep, renameIndexStep, becomesUniqueConstraint } from './render/index-steps.js';
import { commentAfter, commentStep, manifestComment, onConstraint, onIndex, setComment, withComments } from './render/comment-steps.js';

/**
 * Turns changes into online steps, in the order that keeps writers moving:
 * 1. indexes, CONCURRENTLY (no write lock), before the foreign keys that use them;
 *    new non-unique ones first: existing rows cannot be refused by them, so
 *    apply may build them while it still checks those rows (run/apply.ts);
 * 2. renames, then every CHECK and FK added NOT VALID, each in its own short
 *    transaction under lock_timeout (catalog-only, milliseconds of lock);
 * 3. one VALIDATE per table for all its new constraints: a single scan under
 *    SHARE UPDATE EXCLUSIVE, which writers do not wait for;
 * 4. drops last, once everything new protects the data: constraints (each in a
 *    short statement under lock_timeout, parent locked before child), then
 *    indexes CONCURRENTLY (a foreign key gone first may have used one).
 * A new or rebuilt object gets its comment (the manifest's description) in
 * the step that makes it; a kept one in a comment step after the renames.
 */
export function renderPostgres(changes: readonly Change[], catalog: Catalog, options: RenderOptions = {}): Step[] {
  if (!options.definitionsOnly) refuseIndexNameCollisions(newIndexNames(changes, catalog), catalog);
  const plainIndexSteps: Draft[] = [];
  const indexSteps: Draft[] = [];
  const renameSteps: Draft[] = [];
  const commentSteps: Draft[] = [];
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
      case 'create_index': {
        const ix = change.desired;
        (ix.unique ? indexSteps : plainIndexSteps).push(journaled(change, withComments(createIndexStep(ix, leftoverScratch(ix, catalog)), setComment(onIndex(ix, !!ix.uniqueConstraint), commentAfter(ix.description)), [])));
        break;
      }
      case 'replace_index': {
        const { desired, current } = change;
        if (!options.definitionsOnly) refuseDroppingForeignKeyIndex(desired, current, catalog);
        const draft = replaceIndexStep(desired, current, leftoverScratch(desired, catalog));
        // an INVALID index is not put back by the inverse, so neither is its comment
        const restore = current.valid ? setComment(onIndex(current, false), current.description) : [];
        indexSteps.push(journaled(change, withComments(draft, setComment(onIndex(desired, false), commentAfter(desired.description, current)), restore)));
        break;
      }
      case 'rename_index':
        renameSteps.push(from(change, renameIndexStep(change.desired, change.current)));
        break;
      case 'add_unique_constraint': {
        // the constraint is new, the index it takes is not: the inverse builds a plain twin, which gets the index's comment back
        const { desired, current } = change;
        if (!options.definitionsOnly) refuseDeferringForeignKeyIndex(desired, current, catalog);
        const forward = setComment(onIndex(desired, true), commentAfter(desired.description, current));
        renameSteps.push(journaled(change, withComments(addUniqueConstraintStep(desired), forward, setComment(onIndex(current, false), current.description))));
        break;
      }
      case 'replace_unique_constraint': {
        const { desired, current } = change;
        if (!options.definitionsOnly) refuseDroppingForeignKeyIndex(desired, current, catalog);
        const draft = replaceUniqueConstraintStep(desired, current, leftoverScratch(desired, catalog));
        const forward = setComment(onIndex(desired, becomesUniqueConstraint(desired, current)), commentAfter(desired.description, current));
        const restore = setComment(onIndex(current, !!current.uniqueConstraint), current.description);
        indexSteps.push(journaled(change, withComments(draft, forward, restore)));
        break;
      }
      case 'rename_foreign_key':
        renameSteps.push(from(change, renameConstraintStep(change.table, change.current.name, change.desired.name)));
        break;
      case 'add_check':
        constraintSteps.push(journaled(change, withComments(addCheckStep(change.desired), setComment(onConstraint(change.desired), commentAfter(change.desired.description)), [])));
        validateLater(change.table, change.desired.name);
        break;
      case 'replace_check':
        constraintSteps.push(journaled(change, withConstraintComments(replaceCheckStep(change.desired, change.current), change.desired, change.current)));
        validateLater(change.table, change.desired.name);
        break;
      case 'validate_check':
        validateLater(change.table, change.desired.name);
        break;
      case 'add_foreign_key':
        constraintSteps.push(journaled(change, withComments(addForeignKeyStep(change.desired), setComment(onConstraint(change.desired), commentAfter(change.desired.description)), [])));
        validateLater(change.table, change.desired.name, change.desired.refTable);
        break;
      case 'replace_foreign_key':
        constraintSteps.push(journaled(change, withConstraintComments(replaceForeignKeyStep(change.desired, change.current), change.desired, change.current)));
        validateLater(change.table, change.desired.name, change.desired.refTable);
        break;
      case 'validate_foreign_key':
        validateLater(change.table, change.desired.name, change.desired.refTable);
        break;
      case 'comment_constraint':
      case 'comment_index':
        commentSteps.push(from(change, commentStep(change)));
        break;
      case 'drop_check':
        dropConstraintSteps.push(from(change, withComments(dropCheckStep(change.current, change.why), [], setComment(onConstraint(change.current), change.current.description))));
        break;
      case 'drop_foreign_key':
        dropConstraintSteps.push(from(change, withComments(dropForeignKeyStep(change.current, change.why), [], setComment(onConstraint(change.current), change.current.description))));
        break;
      case 'drop_index':
        refuseDroppingBoundIndex(change.current, changes, catalog);
        // a UNIQUE constraint's comment is the constraint's: its inverse adds the constraint back, then the comment
        dropIndexSteps.push(from(change, withComments(dropIndexStep(change.current, change.why), [], setComment(onIndex(change.current, !!change.current.uniqueConstraint), change.current.description))));
        break;
      default: {
        const never: never = change;
        throw new Error(`unhandled change ${JSON.stringify(never)}`);
      }
    }
  }
  const validateSteps = [...toValidate.values()].map((v) => ({ ...validateStep(v.table, v.names, v.parents), touches: [v.table, ...v.parents].map(qualifiedName) }));
  // drops say nothing of what they touch: they run alone, last, once everything new protects the data
  const touching = (s: Draft): Draft => (s.touches || !s.origin ? s : { ...s, touches: touchesOf(s.origin as Change) });
  return [
    ...[...plainIndexSteps, ...indexSteps, ...renameSteps, ...commentSteps, ...constraintSteps].map(touching),
    ...validateSteps,
    ...dropConstraintSteps,
    ...dropIndexSteps,
  ].map((s, i) => ({ id: i + 1, ...s }));
}

/**
 * What a change's step locks or needs (Step.touches): its table; a foreign
 * key's referenced tables too (its statements lock the parent, and it needs
 * the parent's key, which an index step on that table may be building); an
 * index step's names too, the scratch name of a swap included (index names
 * are per schema: a rename on one table may free the name a build on another takes).
 */
function touchesOf(change: Change): string[] {
  const own = qualifiedName(change.table);
  const indexNames = (...names: string[]) => names.map((n) => `index ${qualifiedName({ schema: change.table.schema, name: n })}`);
  switch (change.kind) {
    case 'add_foreign_key':
      return [own, qualifiedName(change.desired.refTable)];
    case 'replace_foreign_key':
    case 'rename_foreign_key':
    case 'validate_foreign_key':
      return [...new Set([own, qualifiedName(change.desired.refTable), qualifiedName(change.current.refTable)])];
    case 'create_index':
      return [own, ...indexNames(change.desired.name, scratchName(change.desired.name))];
    case 'replace_index':
    case 'rename_index':
    case 'add_unique_constraint':
    case 'replace_unique_constraint':
      return [own, ...new Set(indexNames(change.desired.name, scratchName(change.desired.name), change.current.name))];
    case 'comment_index':
      return [own, ...indexNames(change.name)];
    default:
      return [own];
  }
}

/** A CHECK or foreign key made anew by a replace: the new one gets its comment, the inverse gives the old one its own back. */
function withConstraintComments(draft: Draft, desired: Check | ForeignKey, current: Check | ForeignKey): Draft {
  return withComments(draft, setComment(onConstraint(desired), commentAfter(desired.description, current)), setComment(onConstraint(current), current.description));
}

/**
 * from(), and on the effects of a step that writes the manifest's description
 * as the new object's comment, that comment (ObjectEffect.comment): the next
 * plan clears it once the description leaves the manifest.
 */
function journaled(change: Change, draft: Draft): Draft {
  const step = from(change, draft);
  const comment = manifestComment(change);
  if (comment === undefined || !step.effects || isCommentChange(change)) return step;
  return { ...step, effects: step.effects.map((e) => (e.effect === 'dropped' ? e : { ...e, comment })) };
}

// Rendered pieces other modules use (execute, script, history, unfinished swaps).
export { foreignKeyClause, legacyIsValidation, scratchName, takesTableLock, validateSql } from './render/common.js';
