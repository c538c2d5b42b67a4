import { dropReason, effectsOf, type Change, type DropReason } from '../../diff/changes.js';
import { fitsUniqueConstraint, sameIndexShape } from '../../diff/diff.js';
import { refuseIndexNameCollisions, type NewIndexName } from '../../diff/index-names.js';
import { SchemaDiffError } from '../../errors.js';
import type { Hazard, Step, StepAction } from '../../plan/types.js';
import type { Catalog, Check, DesiredCheck, DesiredIndex, ForeignKey, Index, TableRef } from '../../schema/types.js';
import { findTable, qualifiedName, sameTable } from '../../schema/types.js';
import type { RenderOptions } from '../dialect.js';
import { createIndexSql } from './index-sql.js';
import { quoteColumns, quoteIdent, quoteTable } from './quote.js';


type Draft = Omit<Step, 'id'>;

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

const ms = 'for milliseconds: catalog only, no scan';

/**
 * A step with the one change it renders: the journal keeps the change, rollback
 * renders the inverse from it again, and the change's effects on ownership.
 */
function from(change: Change, draft: Draft): Draft {
  const effects = effectsOf(change);
  return { ...draft, origin: change, ...(effects.length ? { effects } : {}) };
}

/** SQL for a check: as the manifest wrote it when it is desired, as the catalog prints it when it is live. */
function exprSql(c: Check): string {
  return 'source' in c ? (c as DesiredCheck).source : c.expr;
}

/** An index's keys and predicate for CREATE INDEX, by the same rule as exprSql. */
function indexSql(ix: Index): Index {
  return 'source' in ix ? { ...ix, ...(ix as DesiredIndex).source } : ix;
}

function step(
  action: StepAction,
  table: TableRef,
  name: string,
  fields: Omit<Draft, 'action' | 'table' | 'name' | 'objects'> & { objects?: readonly string[] },
): Draft {
  return { action, table: qualifiedName(table), name, objects: fields.objects ?? [name], ...fields };
}

function createIndexStep(ix: Index): Draft {
  const build = createIndexSql(ix.name, quoteTable(ix.table), indexSql(ix), true);
  const lock = `SHARE UPDATE EXCLUSIVE on ${qualifiedName(ix.table)} while the index builds: reads and writes continue`;
  if (ix.uniqueConstraint) {
    return step('create_index', ix.table, ix.name, {
      reason: 'UNIQUE constraint in manifest, missing from database: its index is built online, then the constraint takes it',
      sql: [build, addConstraintUsingSql(ix.table, ix.name, ix.name)],
      inverse: [dropConstraintSql(ix.table, ix.name, true), dropIndexSql(ix)],
      transactional: false,
      lockTimeout: true,
      lock: `${lock}; then ACCESS EXCLUSIVE on ${qualifiedName(ix.table)}, ${ms}, in its own transaction under lock_timeout`,
      hazards: ['INDEX_BUILD', 'ACQUIRES_ACCESS_EXCLUSIVE_LOCK'],
      after: describeIndex(ix),
    });
  }
  return step('create_index', ix.table, ix.name, {
    reason: 'index in manifest, missing from database',
    sql: [build],
    inverse: [dropIndexSql(ix)],
    transactional: false,
    lockTimeout: false,
    lock,
    hazards: ['INDEX_BUILD'],
    after: describeIndex(ix),
  });
}

function addConstraintUsingSql(table: TableRef, name: string, index: string): string {
  return `ALTER TABLE ${quoteTable(table)} ADD CONSTRAINT ${quoteIdent(name)} UNIQUE USING INDEX ${quoteIdent(index)}`;
}

function dropConstraintSql(table: TableRef, name: string, ifExists = false): string {
  return `ALTER TABLE ${quoteTable(table)} DROP CONSTRAINT ${ifExists ? 'IF EXISTS ' : ''}${quoteIdent(name)}`;
}

/**
 * Statements of a step run outside a transaction (it builds an index
 * CONCURRENTLY) that take a table lock writers wait behind: the executor and
 * the script run each in a short transaction of its own under lock_timeout.
 * Only ALTER TABLE is rendered so there (UNIQUE constraints taking or leaving an index).
 */
export function takesTableLock(statement: string): boolean {
  return statement.startsWith('ALTER TABLE ');
}

/**
 * A unique index becomes a UNIQUE constraint in place: catalog only, since the
 * index already enforces it. The inverse cannot detach the constraint from its
 * index, so it builds a plain twin online and swaps it in.
 */
function addUniqueConstraintStep(ix: Index): Draft {
  const plain: Index = { ...ix, uniqueConstraint: false };
  return step('add_unique_constraint', ix.table, ix.name, {
    reason: 'the unique index is there; the manifest asks for a UNIQUE constraint using it (constraint: true)',
    sql: [addConstraintUsingSql(ix.table, ix.name, ix.name)],
    inverse: uniqueSwap(ix, true, plain, false),
    transactional: false,
    lockTimeout: true,
    lock: `ACCESS EXCLUSIVE on ${qualifiedName(ix.table)}, ${ms}, under lock_timeout`,
    hazards: ['ACQUIRES_ACCESS_EXCLUSIVE_LOCK'],
    before: `${describeIndex(ix)} (no constraint)`,
    after: `${describeIndex(ix)} (UNIQUE constraint ${ix.name})`,
  });
}

/**
 * A UNIQUE constraint's index replaced online: the new index is built
 * CONCURRENTLY beside the old, then one short ALTER TABLE under lock_timeout
 * drops the old constraint and makes the new index the constraint, so that
 * the rule is never absent. The constraint stays one if the new shape allows
 * (a btree on plain columns); otherwise the new index is left a plain unique index.
 */
function replaceUniqueConstraintStep(ix: Index, current: Index, leftover?: Index): Draft {
  const toConstraint = !!ix.uniqueConstraint || (!!current.uniqueConstraint && fitsUniqueConstraint(ix));
  const fromConstraint = !!current.uniqueConstraint;
  const clearLeftover = leftover ? [dropIndexSql(leftover)] : [];
  const label = (i: Index, constraint: boolean) => `${describeIndex(i)}${constraint ? ` (UNIQUE constraint ${i.name})` : ''}${i.valid ? '' : ' (INVALID)'}`;
  return step('replace_unique_constraint', ix.table, ix.name, {
    reason:
      `${fromConstraint ? 'UNIQUE constraint' : 'index'} definition differs from manifest: built anew online, then swapped in one short statement` +
      (leftover ? `; first drops ${leftover.name}, left by an interrupted replace` : ''),
    objects: current.name === ix.name ? [ix.name] : [ix.name, current.name],
    sql: [...clearLeftover, ...uniqueSwap(current, fromConstraint, ix, toConstraint)],
    inverse: uniqueSwap(ix, toConstraint, current, fromConstraint),
    transactional: false,
    lockTimeout: true,
    lock:
      `SHARE UPDATE EXCLUSIVE on ${qualifiedName(ix.table)} while the index builds: reads and writes continue; ` +
      `then ACCESS EXCLUSIVE on ${qualifiedName(ix.table)}, ${ms}, in its own transaction under lock_timeout`,
    hazards: ['INDEX_BUILD', 'INDEX_DROPPED', 'ACQUIRES_ACCESS_EXCLUSIVE_LOCK'],
    before: label(current, fromConstraint),
    after: label(ix, toConstraint),
  });
}

/** Build `to` beside `from` under the scratch name, then let it take over, each side a UNIQUE constraint or a plain index. */
function uniqueSwap(from: Index, fromConstraint: boolean, to: Index, toConstraint: boolean): string[] {
  const scratch = scratchName(to.name);
  const build = createIndexSql(scratch, quoteTable(to.table), indexSql(to), true);
  const rename = `ALTER INDEX ${quoteIdent(to.table.schema)}.${quoteIdent(scratch)} RENAME TO ${quoteIdent(to.name)}`;
  const table = quoteTable(to.table);
  if (fromConstraint && toConstraint) {
    // one statement: the old constraint goes and the new one comes under the same lock
    return [build, `ALTER TABLE ${table} DROP CONSTRAINT ${quoteIdent(from.name)}, ADD CONSTRAINT ${quoteIdent(to.name)} UNIQUE USING INDEX ${quoteIdent(scratch)}`];
  }
  if (fromConstraint) return [build, dropConstraintSql(from.table, from.name), rename];
  if (toConstraint) return [build, dropIndexSql(from), addConstraintUsingSql(to.table, to.name, scratch)];
  return swap(from, to);
}

/**
 * The names a plan gives indexes: new ones, rename targets, and the scratch
 * name a swap builds under. A scratch index on the same table is our own
 * leftover, which the step takes over or drops, only when the journal shows a
 * run that planned this swap and did not finish it (Catalog.unfinishedSwaps);
 * anyone else's index of that name is a collision, refused at plan.
 */
function newIndexNames(changes: readonly Change[], catalog: Catalog): NewIndexName[] {
  const names: NewIndexName[] = [];
  for (const c of changes) {
    if (c.kind === 'create_index' || c.kind === 'rename_index') names.push({ name: c.desired.name, table: c.table, path: c.desired.path });
    if ((c.kind === 'replace_index' && c.current.valid) || c.kind === 'replace_unique_constraint') {
      const { name, path } = c.desired;
      names.push({ name: scratchName(name), table: c.table, path, scratchFor: name, leftoverIsOurs: isOurSwap(c.desired, catalog) });
    }
  }
  return names;
}

/** PostgreSQL will not drop a unique index a foreign key is bound to (conindid): refuse at plan, not halfway through a swap. */
function refuseDroppingForeignKeyIndex(ix: DesiredIndex, current: Index, catalog: Catalog): void {
  const bound = (findTable(catalog, current.table)?.referencedBy ?? []).filter((k) => k.refIndex === current.name);
  if (bound.length === 0) return;
  const keys = bound.map((k) => `${k.name} on ${qualifiedName(k.table)}`).join(', ');
  throw new SchemaDiffError(
    'refused',
    `manifest ${ix.path}: index ${current.name} on ${qualifiedName(current.table)} cannot be replaced: foreign key ${keys} depends on it ` +
      '(PostgreSQL cannot drop an index a foreign key uses); keep its definition, or drop or re-point that foreign key first; nothing was changed',
  );
}

/** An index under the swap's scratch name on the same table, left by a replace of ours that was killed or failed. */
function leftoverScratch(ix: Index, catalog: Catalog): Index | undefined {
  if (!isOurSwap(ix, catalog)) return undefined;
  const scratch = scratchName(ix.name);
  return findTable(catalog, ix.table)?.indexes.find((i) => i.name === scratch);
}

function isOurSwap(ix: Index, catalog: Catalog): boolean {
  return (catalog.unfinishedSwaps ?? []).some((s) => s.index === ix.name && sameTable(s.table, ix.table));
}

function replaceIndexStep(ix: Index, current: Index, leftover?: Index): Draft {
  const table = quoteTable(ix.table);
  const lock = `SHARE UPDATE EXCLUSIVE on ${qualifiedName(ix.table)} while the index builds: reads and writes continue`;
  const scratch = scratchName(ix.name);
  const renameScratch = `ALTER INDEX ${quoteIdent(ix.table.schema)}.${quoteIdent(scratch)} RENAME TO ${quoteIdent(ix.name)}`;
  // A previous swap got as far as building the new index: finish it rather than build it again.
  if (leftover && leftover.valid && sameIndexShape(leftover, ix)) {
    return step('replace_index', ix.table, ix.name, {
      reason: `finishes an interrupted replace: ${scratch} is already built as the manifest wants it`,
      sql: [dropIndexSql(current), renameScratch],
      inverse: current.valid ? swap(ix, current) : [dropIndexSql(ix)],
      transactional: false,
      lockTimeout: false,
      lock,
      hazards: ['INDEX_DROPPED'],
      before: describeIndex(current) + (current.valid ? '' : ' (INVALID)'),
      after: describeIndex(ix),
    });
  }
  const clearLeftover = leftover ? [dropIndexSql(leftover)] : [];
  const leftoverNote = leftover ? `; first drops ${scratch}, left by an interrupted replace` : '';
  if (!current.valid) {
    // A failed CREATE INDEX CONCURRENTLY left an INVALID index: it enforces nothing, drop and build again.
    return step('replace_index', ix.table, ix.name, {
      reason: `index is INVALID (a concurrent build failed): drop and build again${leftoverNote}`,
      sql: [...clearLeftover, dropIndexSql(current), createIndexSql(ix.name, table, indexSql(ix), true)],
      inverse: [dropIndexSql(ix)],
      transactional: false,
      lockTimeout: false,
      lock,
      hazards: ['INDEX_BUILD', 'INDEX_DROPPED'],
      before: `${describeIndex(current)} (INVALID)`,
      after: describeIndex(ix),
    });
  }
  return step('replace_index', ix.table, ix.name, {
    reason: `index definition differs from manifest${leftoverNote}`,
    sql: [...clearLeftover, ...swap(current, ix)],
    inverse: swap(ix, current),
    transactional: false,
    lockTimeout: false,
    lock,
    hazards: ['INDEX_BUILD', 'INDEX_DROPPED'],
    before: describeIndex(current),
    after: describeIndex(ix),
  });
}

/** Build the new one beside the old, then swap names: the table never lacks the index. */
function swap(from: Index, to: Index): string[] {
  const scratch = scratchName(to.name);
  return [
    createIndexSql(scratch, quoteTable(to.table), indexSql(to), true),
    dropIndexSql(from),
    `ALTER INDEX ${quoteIdent(to.table.schema)}.${quoteIdent(scratch)} RENAME TO ${quoteIdent(to.name)}`,
  ];
}

function renameIndexStep(ix: Index, current: Index): Draft {
  const rename = (from: string, to: string) =>
    `ALTER INDEX ${quoteIdent(ix.table.schema)}.${quoteIdent(from)} RENAME TO ${quoteIdent(to)}`;
  return step('rename_index', ix.table, ix.name, {
    reason: `same index exists as ${current.name}`,
    sql: [rename(current.name, ix.name)],
    inverse: [rename(ix.name, current.name)],
    transactional: true,
    lockTimeout: true,
    lock: `SHARE UPDATE EXCLUSIVE on index ${current.name}, ${ms}`,
    hazards: [],
    before: current.name,
    after: ix.name,
  });
}

function renameConstraintStep(table: TableRef, from: string, to: string): Draft {
  const rename = (a: string, b: string) =>
    `ALTER TABLE ${quoteTable(table)} RENAME CONSTRAINT ${quoteIdent(a)} TO ${quoteIdent(b)}`;
  return step('rename_foreign_key', table, to, {
    reason: `same foreign key exists as ${from}`,
    sql: [rename(from, to)],
    inverse: [rename(to, from)],
    transactional: true,
    lockTimeout: true,
    lock: `ACCESS EXCLUSIVE on ${qualifiedName(table)}, ${ms}`,
    hazards: ['ACQUIRES_ACCESS_EXCLUSIVE_LOCK'],
    before: from,
    after: to,
  });
}

/** ` NO INHERIT` where the CHECK has it: before NOT VALID, the order pg_get_constraintdef prints them in. */
function noInherit(ck: Check): string {
  return ck.noInherit ? ' NO INHERIT' : '';
}

function describeCheck(ck: Check): string {
  return `CHECK (${ck.expr})${noInherit(ck)}`;
}

function addCheckStep(ck: Check): Draft {
  const table = quoteTable(ck.table);
  return step('add_check', ck.table, ck.name, {
    reason: 'CHECK in manifest, missing from database',
    sql: [`ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(ck.name)} CHECK (${exprSql(ck)})${noInherit(ck)} NOT VALID`],
    inverse: [`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${quoteIdent(ck.name)}`],
    transactional: true,
    lockTimeout: true,
    lock: `ACCESS EXCLUSIVE on ${qualifiedName(ck.table)}, ${ms} (NOT VALID; validated in a later step)`,
    hazards: ['ACQUIRES_ACCESS_EXCLUSIVE_LOCK'],
    after: describeCheck(ck),
  });
}

function replaceCheckStep(ck: Check, current: Check): Draft {
  const table = quoteTable(ck.table);
  const swap = (c: Check) =>
    `ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${quoteIdent(c.name)}, ADD CONSTRAINT ${quoteIdent(c.name)} CHECK (${exprSql(c)})${noInherit(c)} NOT VALID`;
  return step('replace_check', ck.table, ck.name, {
    reason: current.expr === ck.expr ? 'CHECK differs from manifest in NO INHERIT' : 'CHECK expression differs from manifest',
    sql: [swap(ck)],
    inverse: [swap(current), ...(current.validated ? [validateSql(ck.table, [current.name])] : [])],
    ...(current.validated ? { scans: { sql: [], inverse: [1] } } : {}),
    transactional: true,
    lockTimeout: true,
    lock: `ACCESS EXCLUSIVE on ${qualifiedName(ck.table)}, ${ms} (old and new swapped in one statement)`,
    hazards: ['ACQUIRES_ACCESS_EXCLUSIVE_LOCK'],
    before: describeCheck(current),
    after: describeCheck(ck),
  });
}

function addForeignKeyStep(fk: ForeignKey): Draft {
  return step('add_foreign_key', fk.table, fk.name, {
    reason: 'foreign key in manifest, missing from database',
    sql: [
      ...lockParentsFirst([fk.refTable], fk.table, 'SHARE ROW EXCLUSIVE'),
      `ALTER TABLE ${quoteTable(fk.table)} ADD ${foreignKeyClause(fk)} NOT VALID`,
    ],
    inverse: [
      ...lockParentsFirst([fk.refTable], fk.table, 'ACCESS EXCLUSIVE'),
      `ALTER TABLE ${quoteTable(fk.table)} DROP CONSTRAINT IF EXISTS ${quoteIdent(fk.name)}`,
    ],
    transactional: true,
    lockTimeout: true,
    lock: `SHARE ROW EXCLUSIVE on ${qualifiedName(fk.refTable)} then ${qualifiedName(fk.table)}, ${ms} (NOT VALID)`,
    hazards: ['ACQUIRES_SHARE_ROW_EXCLUSIVE_LOCK'],
    after: describeForeignKey(fk),
  });
}

function replaceForeignKeyStep(fk: ForeignKey, current: ForeignKey): Draft {
  const table = quoteTable(fk.table);
  const parents = sameTable(fk.refTable, current.refTable) ? [fk.refTable] : [fk.refTable, current.refTable];
  // One ALTER drops the old and adds the new: the rule is never absent, not even for a moment.
  const swap = (from: ForeignKey, to: ForeignKey) =>
    `ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${quoteIdent(from.name)}, ADD ${foreignKeyClause(to)} NOT VALID`;
  const actionsChange = current.onDelete !== fk.onDelete || current.onUpdate !== fk.onUpdate;
  const parentLocks = lockParentsFirst(parents, fk.table, 'ACCESS EXCLUSIVE');
  return step('replace_foreign_key', fk.table, fk.name, {
    reason:
      current.name === fk.name
        ? 'foreign key definition differs from manifest'
        : `replaces ${current.name} (${describeActions(current)}) with ${describeActions(fk)}`,
    objects: current.name === fk.name ? [fk.name] : [fk.name, current.name],
    sql: [...parentLocks, swap(current, fk)],
    inverse: [...parentLocks, swap(fk, current), ...(current.validated ? [validateSql(fk.table, [current.name])] : [])],
    ...(current.validated ? { scans: { sql: [], inverse: [parentLocks.length + 1] } } : {}),
    transactional: true,
    lockTimeout: true,
    lock:
      `ACCESS EXCLUSIVE on ${parents.map(qualifiedName).join(', ')} then ${qualifiedName(fk.table)}, ${ms}; ` +
      // Parent first cannot avoid every cycle: a child INSERT's FK check locks the parent after the child.
      // lock_timeout (kept well below deadlock_timeout by execute) decides who gives up.
      'parent first, the order of an application inserting a parent then its child; where a child insert\'s FK check ' +
        'takes them the other way round, apply gives up at its lock_timeout and retries, so the application never sees a deadlock',
    hazards: ['ACQUIRES_ACCESS_EXCLUSIVE_LOCK', ...(actionsChange ? (['CHANGES_DELETE_BEHAVIOUR'] as Hazard[]) : [])],
    before: describeForeignKey(current),
    after: describeForeignKey(fk),
  });
}

/** The constraint as it was, put back: NOT VALID in the short locked statement, then VALIDATE'd in a transaction of its own if it was. */
function readd(table: TableRef, validated: boolean, name: string, add: string, before: readonly string[] = []) {
  const inverse = [...before, add, ...(validated ? [validateSql(table, [name])] : [])];
  return { inverse, ...(validated ? { scans: { sql: [], inverse: [before.length + 1] } } : {}) };
}

function dropCheckStep(ck: Check, why: DropReason): Draft {
  const table = quoteTable(ck.table);
  return step('drop_check', ck.table, ck.name, {
    reason: dropReason(why, 'CHECK'),
    sql: [`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${quoteIdent(ck.name)}`],
    ...readd(ck.table, ck.validated, ck.name, `ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(ck.name)} CHECK (${exprSql(ck)}) NOT VALID`),
    transactional: true,
    lockTimeout: true,
    lock: `ACCESS EXCLUSIVE on ${qualifiedName(ck.table)}, ${ms}`,
    hazards: ['ACQUIRES_ACCESS_EXCLUSIVE_LOCK', 'DROPS_CONSTRAINT'],
    before: `CHECK (${ck.expr})${ck.validated ? '' : ' NOT VALID'}`,
  });
}

function dropForeignKeyStep(fk: ForeignKey, why: DropReason): Draft {
  const table = quoteTable(fk.table);
  // PostgreSQL takes ACCESS EXCLUSIVE on the parent too (its triggers go): parent first, as an application inserting parent then child.
  return step('drop_foreign_key', fk.table, fk.name, {
    reason: dropReason(why, 'foreign key'),
    sql: [...lockParentsFirst([fk.refTable], fk.table, 'ACCESS EXCLUSIVE'), `ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${quoteIdent(fk.name)}`],
    ...readd(fk.table, fk.validated, fk.name, `ALTER TABLE ${table} ADD ${foreignKeyClause(fk)} NOT VALID`, lockParentsFirst([fk.refTable], fk.table, 'SHARE ROW EXCLUSIVE')),
    transactional: true,
    lockTimeout: true,
    lock: `ACCESS EXCLUSIVE on ${qualifiedName(fk.refTable)} then ${qualifiedName(fk.table)}, ${ms}`,
    hazards: ['ACQUIRES_ACCESS_EXCLUSIVE_LOCK', 'DROPS_CONSTRAINT'],
    before: describeForeignKey(fk) + (fk.validated ? '' : ' NOT VALID'),
  });
}

function dropIndexStep(ix: Index, why: DropReason): Draft {
  return step('drop_index', ix.table, ix.name, {
    reason: dropReason(why, 'index'),
    sql: [dropIndexSql(ix)],
    inverse: [createIndexSql(ix.name, quoteTable(ix.table), indexSql(ix), true)],
    transactional: false,
    lockTimeout: false,
    lock: `SHARE UPDATE EXCLUSIVE on ${qualifiedName(ix.table)} while running transactions finish: reads and writes continue`,
    hazards: ['DROPS_INDEX'],
    before: describeIndex(ix),
  });
}

/** A foreign key bound to the index (conindid) that stays makes PostgreSQL refuse the drop: say so at plan. */
function refuseDroppingBoundIndex(ix: Index, changes: readonly Change[], catalog: Catalog): void {
  const dropped = (k: { name: string; table: TableRef }) =>
    changes.some((c) => c.kind === 'drop_foreign_key' && c.current.name === k.name && sameTable(c.table, k.table));
  const bound = (findTable(catalog, ix.table)?.referencedBy ?? []).filter((k) => k.refIndex === ix.name && !dropped(k));
  if (bound.length === 0) return;
  const keys = bound.map((k) => `${k.name} on ${qualifiedName(k.table)}`).join(', ');
  throw new SchemaDiffError(
    'refused',
    `index ${ix.name} on ${qualifiedName(ix.table)} is not in the manifest, but foreign key ${keys} depends on it ` +
      '(PostgreSQL cannot drop an index a foreign key uses); list the index again, or drop or re-point that foreign key first; nothing was changed',
  );
}

function validateStep(table: TableRef, names: readonly string[], parents: readonly TableRef[]): Draft {
  const parentLocks = parents.filter((p) => !sameTable(p, table)).map(qualifiedName);
  return step('validate_constraint', table, names.join(', '), {
    objects: names,
    reason: `check existing rows against ${names.length} constraint(s) in one scan`,
    sql: [validateSql(table, names)],
    inverse: [],
    scans: { sql: [0], inverse: [] },
    transactional: true,
    lockTimeout: false,
    lock:
      `SHARE UPDATE EXCLUSIVE on ${qualifiedName(table)} for the scan: reads and writes continue` +
      (parentLocks.length ? `; ROW SHARE on ${parentLocks.join(', ')}` : ''),
    hazards: ['TABLE_SCAN'],
  });
}

export function validateSql(table: TableRef, names: readonly string[]): string {
  return `ALTER TABLE ${quoteTable(table)} ${names.map((n) => `VALIDATE CONSTRAINT ${quoteIdent(n)}`).join(', ')}`;
}

/**
 * Journal rows written before steps recorded their scans (Step.scans): the
 * only way left to tell a VALIDATE is its text. Used for those rows alone.
 */
export function legacyIsValidation(statement: string): boolean {
  return /^ALTER TABLE \S+ VALIDATE CONSTRAINT /.test(statement);
}

function lockParentsFirst(parents: readonly TableRef[], child: TableRef, mode: string): string[] {
  const others = parents.filter((p) => !sameTable(p, child));
  if (others.length === 0) return [];
  return [`LOCK TABLE ${others.map((p) => `ONLY ${quoteTable(p)}`).join(', ')} IN ${mode} MODE`];
}

function dropIndexSql(ix: Index): string {
  return `DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(ix.table.schema)}.${quoteIdent(ix.name)}`;
}

/** The name a swap builds the new index under; a leftover of it on the same table is ours. */
export function scratchName(name: string): string {
  const suffix = '_sd_new';
  let base = name;
  while (Buffer.byteLength(base + suffix) > 63) base = base.slice(0, -1);
  return base + suffix;
}

export function foreignKeyClause(fk: ForeignKey): string {
  const parts = [
    `CONSTRAINT ${quoteIdent(fk.name)} FOREIGN KEY (${quoteColumns(fk.columns)})`,
    `REFERENCES ${quoteTable(fk.refTable)}${fk.refColumns.length ? ` (${quoteColumns(fk.refColumns)})` : ''}`,
  ];
  if (fk.match === 'full') parts.push('MATCH FULL');
  if (fk.onUpdate !== 'no action') parts.push(`ON UPDATE ${fk.onUpdate.toUpperCase()}`);
  const setColumns = fk.onDeleteColumns?.length ? ` (${quoteColumns(fk.onDeleteColumns)})` : '';
  if (fk.onDelete !== 'no action') parts.push(`ON DELETE ${fk.onDelete.toUpperCase()}${setColumns}`);
  if (fk.deferrable) parts.push(fk.initiallyDeferred ? 'DEFERRABLE INITIALLY DEFERRED' : 'DEFERRABLE');
  return parts.join(' ');
}

function describeActions(fk: ForeignKey): string {
  return `on delete ${fk.onDelete}, on update ${fk.onUpdate}${fk.deferrable ? ', deferrable' : ''}`;
}

function describeForeignKey(fk: ForeignKey): string {
  return foreignKeyClause(fk);
}

function describeIndex(ix: Index): string {
  return createIndexSql(ix.name, quoteTable(ix.table), ix);
}
