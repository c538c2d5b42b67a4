// CHECK and foreign key steps: NOT VALID under lock_timeout, parent locked first, one VALIDATE per table.
import type { Hazard } from '../../../plan/types.js';
import type { Check, ForeignKey, TableRef } from '../../../schema/types.js';
import { qualifiedName, sameTable } from '../../../schema/types.js';
import { quoteIdent, quoteTable } from '../quote.js';
import { ms, exprSql, step, noInherit, describeCheck, validateSql, lockParentsFirst, foreignKeyClause, describeActions, describeForeignKey, type Draft } from './common.js';

export function renameConstraintStep(table: TableRef, from: string, to: string): Draft {
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

export function addCheckStep(ck: Check): Draft {
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

export function replaceCheckStep(ck: Check, current: Check): Draft {
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

export function addForeignKeyStep(fk: ForeignKey): Draft {
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

export function replaceForeignKeyStep(fk: ForeignKey, current: ForeignKey): Draft {
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

export function validateStep(table: TableRef, names: readonly string[], parents: readonly TableRef[]): Draft {
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
