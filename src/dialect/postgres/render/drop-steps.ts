// Drops of owned objects the manifest no longer lists, each with an inverse that re-creates it exactly.
import { dropReason, type Change, type DropReason } from '../../../diff/changes.js';
import { SchemaDiffError } from '../../../errors.js';
import type { Catalog, Check, ForeignKey, Index, TableRef } from '../../../schema/types.js';
import { findTable, qualifiedName, sameTable } from '../../../schema/types.js';
import { createIndexSql } from '../index-sql.js';
import { quoteIdent, quoteTable } from '../quote.js';
import {
  ms,
  exprSql,
  indexSql,
  step,
  readd,
  lockParentsFirst,
  dropIndexSql,
  dropConstraintSql,
  addConstraintUsingSql,
  foreignKeyClause,
  noInherit,
  describeCheck,
  describeForeignKey,
  describeIndex,
  type Draft,
} from './common.js';

export function dropCheckStep(ck: Check, why: DropReason): Draft {
  const table = quoteTable(ck.table);
  return step('drop_check', ck.table, ck.name, {
    reason: dropReason(why, 'CHECK'),
    sql: [`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${quoteIdent(ck.name)}`],
    ...readd(ck.table, ck.validated, ck.name, `ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(ck.name)} CHECK (${exprSql(ck)})${noInherit(ck)} NOT VALID`),
    transactional: true,
    lockTimeout: true,
    lock: `ACCESS EXCLUSIVE on ${qualifiedName(ck.table)}, ${ms}`,
    hazards: ['ACQUIRES_ACCESS_EXCLUSIVE_LOCK', 'DROPS_CONSTRAINT'],
    before: `${describeCheck(ck)}${ck.validated ? '' : ' NOT VALID'}`,
  });
}

export function dropForeignKeyStep(fk: ForeignKey, why: DropReason): Draft {
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

export function dropIndexStep(ix: Index, why: DropReason): Draft {
  if (ix.uniqueConstraint) return dropUniqueConstraintStep(ix, why);
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

/**
 * A UNIQUE constraint goes with its index in one short ALTER TABLE under
 * lock_timeout (its own transaction: the step runs outside one, for its
 * inverse). The inverse is the online way in: the index built CONCURRENTLY
 * under the constraint's name, then the constraint takes it.
 */
function dropUniqueConstraintStep(ix: Index, why: DropReason): Draft {
  return step('drop_unique_constraint', ix.table, ix.name, {
    reason: dropReason(why, 'UNIQUE constraint'),
    sql: [dropConstraintSql(ix.table, ix.name, true)],
    inverse: [createIndexSql(ix.name, quoteTable(ix.table), indexSql(ix), true), addConstraintUsingSql(ix.table, ix.name, ix.name, ix)],
    transactional: false,
    lockTimeout: true,
    lock: `ACCESS EXCLUSIVE on ${qualifiedName(ix.table)}, ${ms}, in its own transaction under lock_timeout`,
    hazards: ['ACQUIRES_ACCESS_EXCLUSIVE_LOCK', 'DROPS_CONSTRAINT', 'DROPS_INDEX'],
    before: `${describeIndex(ix)} (UNIQUE constraint ${ix.name})`,
  });
}

/** A foreign key bound to the index (conindid) that stays makes PostgreSQL refuse the drop: say so at plan. */
export function refuseDroppingBoundIndex(ix: Index, changes: readonly Change[], catalog: Catalog): void {
  const dropped = (k: { name: string; table: TableRef }) =>
    changes.some((c) => c.kind === 'drop_foreign_key' && c.current.name === k.name && sameTable(c.table, k.table));
  const bound = (findTable(catalog, ix.table)?.referencedBy ?? []).filter((k) => k.refIndex === ix.name && !dropped(k));
  if (bound.length === 0) return;
  const keys = bound.map((k) => `${k.name} on ${qualifiedName(k.table)}`).join(', ');
  throw new SchemaDiffError(
    'refused',
    `${ix.uniqueConstraint ? 'UNIQUE constraint' : 'index'} ${ix.name} on ${qualifiedName(ix.table)} is not in the manifest, but foreign key ${keys} depends on it ` +
      '(PostgreSQL cannot drop an index a foreign key uses); list it in the manifest again, or drop or re-point that foreign key first; nothing was changed',
  );
}
