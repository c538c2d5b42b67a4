// What every PostgreSQL step is made of: the step shape, SQL pieces (quoted names, FK clauses, VALIDATE), descriptions.
import { effectsOf, type Change } from '../../../diff/changes.js';
import type { Step, StepAction } from '../../../plan/types.js';
import type { Check, DesiredCheck, DesiredIndex, ForeignKey, Index, TableRef } from '../../../schema/types.js';
import { qualifiedName, sameTable } from '../../../schema/types.js';
import { createIndexSql } from '../index-sql.js';
import { quoteColumns, quoteIdent, quoteTable } from '../quote.js';

export type Draft = Omit<Step, 'id'>;

export const ms = 'for milliseconds: catalog only, no scan';

/**
 * A step with the one change it renders: the journal keeps the change, rollback
 * renders the inverse from it again, and the change's effects on ownership.
 */
export function from(change: Change, draft: Draft): Draft {
  const effects = effectsOf(change);
  return { ...draft, origin: change, ...(effects.length ? { effects } : {}) };
}

/** SQL for a check: as the manifest wrote it when it is desired, as the catalog prints it when it is live. */
export function exprSql(c: Check): string {
  return 'source' in c ? (c as DesiredCheck).source : c.expr;
}

/** An index's keys and predicate for CREATE INDEX, by the same rule as exprSql. */
export function indexSql(ix: Index): Index {
  return 'source' in ix ? { ...ix, ...(ix as DesiredIndex).source } : ix;
}

export function step(
  action: StepAction,
  table: TableRef,
  name: string,
  fields: Omit<Draft, 'action' | 'table' | 'name' | 'objects'> & { objects?: readonly string[] },
): Draft {
  return { action, table: qualifiedName(table), name, objects: fields.objects ?? [name], ...fields };
}

/** The UNIQUE constraint `name` takes the built index `index`, checked when `timing` says (its DEFERRABLE, INITIALLY DEFERRED). */
export function addConstraintUsingSql(table: TableRef, name: string, index: string, timing: Index): string {
  return `ALTER TABLE ${quoteTable(table)} ADD CONSTRAINT ${quoteIdent(name)} UNIQUE USING INDEX ${quoteIdent(index)}${constraintTiming(timing)}`;
}

/** ` DEFERRABLE [INITIALLY DEFERRED]` of a UNIQUE constraint, or nothing for one checked row by row. */
export function constraintTiming(ix: Index): string {
  if (!ix.deferrable && !ix.initiallyDeferred) return '';
  return ix.initiallyDeferred ? ' DEFERRABLE INITIALLY DEFERRED' : ' DEFERRABLE';
}

export function dropConstraintSql(table: TableRef, name: string, ifExists = false): string {
  return `ALTER TABLE ${quoteTable(table)} DROP CONSTRAINT ${ifExists ? 'IF EXISTS ' : ''}${quoteIdent(name)}`;
}

/**
 * Statements of a step run outside a transaction (it builds an index
 * CONCURRENTLY) that take a lock others queue behind: the executor and the
 * script run each in a short transaction of its own under lock_timeout. Only
 * ALTER TABLE (UNIQUE constraints taking or leaving an index) and COMMENT ON
 * (the new object's description) are rendered so there.
 */
export function takesTableLock(statement: string): boolean {
  return statement.startsWith('ALTER TABLE ') || statement.startsWith('COMMENT ON ');
}

/** ` NO INHERIT` where the CHECK has it: before NOT VALID, the order pg_get_constraintdef prints them in. */
export function noInherit(ck: Check): string {
  return ck.noInherit ? ' NO INHERIT' : '';
}

export function describeCheck(ck: Check): string {
  return `CHECK (${ck.expr})${noInherit(ck)}`;
}

/** The constraint as it was, put back: NOT VALID in the short locked statement, then VALIDATE'd in a transaction of its own if it was. */
export function readd(table: TableRef, validated: boolean, name: string, add: string, before: readonly string[] = []) {
  const inverse = [...before, add, ...(validated ? [validateSql(table, [name])] : [])];
  return { inverse, ...(validated ? { scans: { sql: [], inverse: [before.length + 1] } } : {}) };
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

export function lockParentsFirst(parents: readonly TableRef[], child: TableRef, mode: string): string[] {
  const others = parents.filter((p) => !sameTable(p, child));
  if (others.length === 0) return [];
  return [`LOCK TABLE ${others.map((p) => `ONLY ${quoteTable(p)}`).join(', ')} IN ${mode} MODE`];
}

export function dropIndexSql(ix: Index): string {
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

export function describeActions(fk: ForeignKey): string {
  return `on delete ${fk.onDelete}, on update ${fk.onUpdate}${fk.deferrable ? ', deferrable' : ''}`;
}

export function describeForeignKey(fk: ForeignKey): string {
  return foreignKeyClause(fk);
}

export function describeIndex(ix: Index): string {
  return createIndexSql(ix.name, quoteTable(ix.table), ix);
}
