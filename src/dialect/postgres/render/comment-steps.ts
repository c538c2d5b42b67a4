// Comments (COMMENT ON): the manifest's descriptions, readable from psql and any database GUI.
import type { Change, CommentChange } from '../../../diff/changes.js';
import type { Check, ForeignKey, Index, TableRef } from '../../../schema/types.js';
import { qualifiedName } from '../../../schema/types.js';
import { quoteIdent, quoteLiteral, quoteTable } from '../quote.js';
import { step, type Draft } from './common.js';

/** What a comment is on: a constraint (CHECK, foreign key, UNIQUE) of a table, or an index. */
export interface CommentTarget {
  readonly on: 'constraint' | 'index';
  readonly table: TableRef;
  readonly name: string;
}

export function commentSql(target: CommentTarget, text: string | null): string {
  const value = text === null || text === '' ? 'NULL' : quoteLiteral(text);
  return target.on === 'constraint'
    ? `COMMENT ON CONSTRAINT ${quoteIdent(target.name)} ON ${quoteTable(target.table)} IS ${value}`
    : `COMMENT ON INDEX ${quoteIdent(target.table.schema)}.${quoteIdent(target.name)} IS ${value}`;
}

export const onConstraint = (o: Check | ForeignKey): CommentTarget => ({ on: 'constraint', table: o.table, name: o.name });
export const onIndex = (ix: Index, constraint: boolean): CommentTarget => ({ on: constraint ? 'constraint' : 'index', table: ix.table, name: ix.name });

/** A statement setting the comment, or none when there is nothing to write (no text, '' included: PostgreSQL keeps '' as none). */
export function setComment(target: CommentTarget, text: string | null | undefined): string[] {
  return text ? [commentSql(target, text)] : [];
}

/**
 * The comment a new or rebuilt object gets: the manifest's description when it
 * gives one ('' is none), otherwise the comment the object it replaces had,
 * which a rebuild would otherwise lose though the manifest does not manage it.
 */
export function commentAfter(description: string | undefined, previous?: Index | Check | ForeignKey): string | null {
  if (description !== undefined) return description === '' ? null : description;
  return previous?.description ?? null;
}

/**
 * The manifest's description a change writes as a comment (null: it clears
 * it), for the journal (ObjectEffect.comment); undefined when the manifest
 * gives none, so any comment written is not one schema-diff answers for.
 */
export function manifestComment(change: Change): string | null | undefined {
  if (change.kind === 'comment_constraint' || change.kind === 'comment_index') return change.description;
  if (!('desired' in change) || change.desired.description === undefined) return undefined;
  return change.desired.description === '' ? null : change.desired.description;
}

/**
 * A step's statements with comment statements added: `sql` after its own
 * statements, `inverse` after the statements that put the old object back but
 * before its validation scans (which run last, in a transaction of their own).
 */
export function withComments(draft: Draft, forward: readonly string[], inverse: readonly string[]): Draft {
  if (forward.length === 0 && inverse.length === 0) return draft;
  const insert = (list: readonly string[], at: readonly number[], added: readonly string[]) => {
    const pos = at.length ? Math.min(...at) : list.length;
    return { list: [...list.slice(0, pos), ...added, ...list.slice(pos)], at: at.map((i) => (i >= pos ? i + added.length : i)) };
  };
  const sql = insert(draft.sql, draft.scans?.sql ?? [], forward);
  const inv = insert(draft.inverse, draft.scans?.inverse ?? [], inverse);
  return {
    ...draft,
    sql: sql.list,
    inverse: inv.list,
    ...(draft.scans ? { scans: { sql: sql.at, inverse: inv.at } } : {}),
    // outside a transaction each COMMENT runs in a short one of its own under lock_timeout (takesTableLock)
    ...(draft.transactional || forward.length === 0 ? {} : { lockTimeout: true, lock: `${draft.lock}; COMMENT ON in a short transaction of its own under lock_timeout` }),
  };
}

/**
 * COMMENT ON an object the plan keeps: catalog only. ON CONSTRAINT takes
 * ACCESS SHARE on the table and SHARE UPDATE EXCLUSIVE on the constraint; ON
 * INDEX takes SHARE UPDATE EXCLUSIVE on the index: neither blocks reads or
 * writes, and it still waits under lock_timeout, behind a schema change holding the table.
 */
export function commentStep(c: CommentChange): Draft {
  const target: CommentTarget = { on: c.kind === 'comment_constraint' ? 'constraint' : 'index', table: c.table, name: c.name };
  const lock =
    target.on === 'constraint'
      ? `ACCESS SHARE on ${qualifiedName(c.table)} and SHARE UPDATE EXCLUSIVE on constraint ${c.name}, for milliseconds: catalog only; reads and writes continue`
      : `SHARE UPDATE EXCLUSIVE on index ${c.table.schema}.${c.name}, for milliseconds: catalog only; reads and writes continue`;
  return step(c.kind, c.table, c.name, {
    reason:
      c.description === null
        ? 'description removed from the manifest: schema-diff wrote this comment, so it clears it'
        : c.previous === null
          ? 'description in manifest, no comment in database'
          : 'comment in database differs from the description in manifest',
    sql: [commentSql(target, c.description)],
    inverse: [commentSql(target, c.previous)],
    transactional: true,
    lockTimeout: true,
    lock,
    hazards: [],
    before: c.previous ?? '(no comment)',
    after: c.description ?? '(no comment)',
  });
}
