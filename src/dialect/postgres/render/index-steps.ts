// Index steps: CREATE INDEX CONCURRENTLY, online replace by swap, renames, UNIQUE constraints over an index.
import { type Change } from '../../../diff/changes.js';
import { fitsUniqueConstraint, sameIndexShape } from '../../../diff/diff.js';
import { type NewIndexName } from '../../../diff/index-names.js';
import { SchemaDiffError } from '../../../errors.js';
import type { Catalog, DesiredIndex, Index } from '../../../schema/types.js';
import { findTable, qualifiedName, sameTable } from '../../../schema/types.js';
import { createIndexSql } from '../index-sql.js';
import { quoteIdent, quoteTable } from '../quote.js';
import { ms, indexSql, step, addConstraintUsingSql, constraintTiming, dropConstraintSql, dropIndexSql, scratchName, describeIndex, type Draft } from './common.js';

export function createIndexStep(ix: Index, leftover?: Index): Draft {
  const build = createIndexSql(ix.name, quoteTable(ix.table), indexSql(ix), true);
  const lock = `SHARE UPDATE EXCLUSIVE on ${qualifiedName(ix.table)} while the index builds: reads and writes continue`;
  // a swap of ours that stopped after dropping the old index left its new one under the scratch name: gone first
  const clearLeftover = leftover ? [dropIndexSql(leftover)] : [];
  const andLeftover = leftover ? `; first drops ${leftover.name}, left by an interrupted replace` : '';
  if (ix.uniqueConstraint) {
    return step('create_index', ix.table, ix.name, {
      reason: `UNIQUE constraint in manifest, missing from database: its index is built online, then the constraint takes it${andLeftover}`,
      sql: [...clearLeftover, build, addConstraintUsingSql(ix.table, ix.name, ix.name, ix)],
      inverse: [dropConstraintSql(ix.table, ix.name, true), dropIndexSql(ix)],
      transactional: false,
      lockTimeout: true,
      lock: `${lock}; then ACCESS EXCLUSIVE on ${qualifiedName(ix.table)}, ${ms}, in its own transaction under lock_timeout`,
      hazards: ['INDEX_BUILD', 'ACQUIRES_ACCESS_EXCLUSIVE_LOCK', ...suspendsDeferral(ix)],
      // as journaled before deferrable constraints existed (rollback compares it), the timing only where there is one
      after: constraintTiming(ix) ? `${describeIndex(ix)} (UNIQUE constraint ${ix.name}${constraintTiming(ix)})` : describeIndex(ix),
    });
  }
  return step('create_index', ix.table, ix.name, {
    reason: `index in manifest, missing from database${andLeftover}`,
    sql: [...clearLeftover, build],
    inverse: [dropIndexSql(ix)],
    transactional: false,
    lockTimeout: false,
    lock,
    hazards: ['INDEX_BUILD'],
    after: describeIndex(ix),
  });
}

/**
 * A unique index becomes a UNIQUE constraint in place: catalog only, since the
 * index already enforces it. The inverse cannot detach the constraint from its
 * index, so it builds a plain twin online and swaps it in.
 */
export function addUniqueConstraintStep(ix: Index): Draft {
  const plain: Index = { ...ix, uniqueConstraint: false };
  return step('add_unique_constraint', ix.table, ix.name, {
    reason: 'the unique index is there; the manifest asks for a UNIQUE constraint using it (constraint: true)',
    sql: [addConstraintUsingSql(ix.table, ix.name, ix.name, ix)],
    inverse: uniqueSwap(ix, true, plain, false),
    transactional: false,
    lockTimeout: true,
    lock: `ACCESS EXCLUSIVE on ${qualifiedName(ix.table)}, ${ms}, under lock_timeout`,
    hazards: ['ACQUIRES_ACCESS_EXCLUSIVE_LOCK'],
    before: `${describeIndex(ix)} (no constraint)`,
    after: `${describeIndex(ix)} (UNIQUE constraint ${ix.name}${constraintTiming(ix)})`,
  });
}

/**
 * A UNIQUE constraint's index replaced online: the new index is built
 * CONCURRENTLY beside the old, then one short ALTER TABLE under lock_timeout
 * drops the old constraint and makes the new index the constraint, so that
 * the rule is never absent. The constraint stays one if the new shape allows
 * (a btree on plain columns); otherwise the new index is left a plain unique index.
 */
export function replaceUniqueConstraintStep(ix: Index, current: Index, leftover?: Index): Draft {
  const toConstraint = becomesUniqueConstraint(ix, current);
  const fromConstraint = !!current.uniqueConstraint;
  const clearLeftover = leftover ? [dropIndexSql(leftover)] : [];
  const label = (i: Index, constraint: boolean) =>
    `${describeIndex(i)}${constraint ? ` (UNIQUE constraint ${i.name}${constraintTiming(i)})` : ''}${i.valid ? '' : ' (INVALID)'}`;
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
    hazards: ['INDEX_BUILD', 'INDEX_DROPPED', 'ACQUIRES_ACCESS_EXCLUSIVE_LOCK', ...suspendsDeferral(fromConstraint ? current : undefined, toConstraint ? ix : undefined)],
    before: label(current, fromConstraint),
    after: label(ix, toConstraint),
  });
}

/**
 * SUSPENDS_DEFERRAL where a DEFERRABLE constraint is involved: its new index
 * is built as a plain unique index first (the only way online), checked row by
 * row from the moment it takes inserts until the constraint takes it.
 */
function suspendsDeferral(...constraints: (Index | undefined)[]): 'SUSPENDS_DEFERRAL'[] {
  return constraints.some((c) => c && constraintTiming(c)) ? ['SUSPENDS_DEFERRAL'] : [];
}

/** Whether a replace_unique_constraint leaves a UNIQUE constraint (or a plain unique index). */
export function becomesUniqueConstraint(ix: Index, current: Index): boolean {
  return !!ix.uniqueConstraint || (!!current.uniqueConstraint && fitsUniqueConstraint(ix));
}

/** Build `to` beside `from` under the scratch name, then let it take over, each side a UNIQUE constraint or a plain index. */
export function uniqueSwap(from: Index, fromConstraint: boolean, to: Index, toConstraint: boolean): string[] {
  const scratch = scratchName(to.name);
  const build = createIndexSql(scratch, quoteTable(to.table), indexSql(to), true);
  const rename = `ALTER INDEX ${quoteIdent(to.table.schema)}.${quoteIdent(scratch)} RENAME TO ${quoteIdent(to.name)}`;
  const table = quoteTable(to.table);
  if (fromConstraint && toConstraint) {
    // one statement: the old constraint goes and the new one comes under the same lock
    return [build, `ALTER TABLE ${table} DROP CONSTRAINT ${quoteIdent(from.name)}, ADD CONSTRAINT ${quoteIdent(to.name)} UNIQUE USING INDEX ${quoteIdent(scratch)}${constraintTiming(to)}`];
  }
  if (fromConstraint) return [build, dropConstraintSql(from.table, from.name), rename];
  if (toConstraint) return [build, dropIndexSql(from), addConstraintUsingSql(to.table, to.name, scratch, to)];
  return swap(from, to);
}

/**
 * The names a plan gives indexes: new ones, rename targets, and the scratch
 * name a swap builds under. A scratch index on the same table is our own
 * leftover, which the step takes over or drops, only when the journal shows a
 * run that planned this swap and did not finish it (Catalog.unfinishedSwaps);
 * anyone else's index of that name is a collision, refused at plan.
 */
export function newIndexNames(changes: readonly Change[], catalog: Catalog): NewIndexName[] {
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

/**
 * PostgreSQL lets a UNIQUE constraint whose index a foreign key is bound to
 * become DEFERRABLE (ADD CONSTRAINT … USING INDEX), and then that key could
 * not be created again: no dump of the database would restore. Refused at plan.
 */
export function refuseDeferringForeignKeyIndex(ix: DesiredIndex, current: Index, catalog: Catalog): void {
  if (!constraintTiming(ix)) return;
  const keys = keysBoundTo(current, catalog);
  if (!keys) return;
  throw new SchemaDiffError(
    'refused',
    `manifest ${ix.path}: UNIQUE constraint ${ix.name} on ${qualifiedName(ix.table)} cannot be DEFERRABLE: foreign key ${keys} uses its index, ` +
      'and PostgreSQL cannot reference a deferrable constraint (a dump of the database would not restore); drop deferrable, or that foreign key first; nothing was changed',
  );
}

/** The foreign keys PostgreSQL bound to the index (conindid), in words; empty when none. */
function keysBoundTo(current: Index, catalog: Catalog): string {
  const bound = (findTable(catalog, current.table)?.referencedBy ?? []).filter((k) => k.refIndex === current.name);
  return bound.map((k) => `${k.name} on ${qualifiedName(k.table)}`).join(', ');
}

/** PostgreSQL will not drop a unique index a foreign key is bound to (conindid): refuse at plan, not halfway through a swap. */
export function refuseDroppingForeignKeyIndex(ix: DesiredIndex, current: Index, catalog: Catalog): void {
  const keys = keysBoundTo(current, catalog);
  if (!keys) return;
  throw new SchemaDiffError(
    'refused',
    `manifest ${ix.path}: index ${current.name} on ${qualifiedName(current.table)} cannot be replaced: foreign key ${keys} depends on it ` +
      '(PostgreSQL cannot drop an index a foreign key uses); keep its definition, or drop or re-point that foreign key first; nothing was changed',
  );
}

/** An index under the swap's scratch name on the same table, left by a replace of ours that was killed or failed. */
export function leftoverScratch(ix: Index, catalog: Catalog): Index | undefined {
  if (!isOurSwap(ix, catalog)) return undefined;
  const scratch = scratchName(ix.name);
  return findTable(catalog, ix.table)?.indexes.find((i) => i.name === scratch);
}

export function isOurSwap(ix: Index, catalog: Catalog): boolean {
  return (catalog.unfinishedSwaps ?? []).some((s) => s.index === ix.name && sameTable(s.table, ix.table));
}

export function replaceIndexStep(ix: Index, current: Index, leftover?: Index): Draft {
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
export function swap(from: Index, to: Index): string[] {
  const scratch = scratchName(to.name);
  return [
    createIndexSql(scratch, quoteTable(to.table), indexSql(to), true),
    dropIndexSql(from),
    `ALTER INDEX ${quoteIdent(to.table.schema)}.${quoteIdent(scratch)} RENAME TO ${quoteIdent(to.name)}`,
  ];
}

export function renameIndexStep(ix: Index, current: Index): Draft {
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
