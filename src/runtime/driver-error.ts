import type { ViolationKind } from './rules.js';

/**
 * Which write a foreign-key violation refused: `child`, a row pointing to a
 * parent that does not exist; `parent`, deleting or re-keying a parent that
 * rows still point to; null when the driver does not say (SQLite).
 */
export type ForeignKeySide = 'child' | 'parent' | null;

/** A constraint violation as a driver reports it, before the manifest is consulted. */
export interface DriverViolation {
  readonly kind: ViolationKind;
  /** The constraint or index name, when the driver gives it (PostgreSQL always; SQLite for CHECKs and expression indexes). */
  readonly constraint: string | null;
  readonly table: string | null;
  readonly schema: string | null;
  /** SQLite's unique violations name the columns instead of the index. */
  readonly columns: readonly string[] | null;
  readonly side: ForeignKeySide;
}

/**
 * SQLSTATE class 23 codes (integrity constraint violation) that a manifest
 * rule can raise. 23001 (restrict_violation): PostgreSQL 16 and later raise it
 * for ON DELETE/UPDATE RESTRICT, where 15 raised 23503.
 */
const SQLSTATE: Record<string, ViolationKind> = { '23514': 'check', '23503': 'foreign_key', '23001': 'foreign_key', '23505': 'unique' };

/** better-sqlite3's extended result codes for the same. PRIMARYKEY and NOTNULL are no manifest rule's. */
const SQLITE_CODE: Record<string, ViolationKind> = {
  SQLITE_CONSTRAINT_CHECK: 'check',
  SQLITE_CONSTRAINT_FOREIGNKEY: 'foreign_key',
  SQLITE_CONSTRAINT_UNIQUE: 'unique',
};

/** SQLite refuses an ON DELETE/UPDATE RESTRICT through a trigger-like action: code CONSTRAINT_TRIGGER, the foreign key's message. */
const SQLITE_RESTRICT = { code: 'SQLITE_CONSTRAINT_TRIGGER', message: /^FOREIGN KEY constraint failed/ };

type ErrorLike = { code?: unknown; message?: unknown; constraint?: unknown; table?: unknown; schema?: unknown; cause?: unknown };

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * Recognises a constraint violation from node-postgres, PGlite and
 * better-sqlite3, directly or wrapped: Kysely passes the driver's error
 * through, and frameworks often wrap it in `cause`. Null for anything else.
 */
export function recogniseViolation(error: unknown): DriverViolation | null {
  const seen = new Set<unknown>();
  // a few levels of `cause` at most, and never round a cycle
  for (let e = error, depth = 0; e !== null && typeof e === 'object' && !seen.has(e) && depth < 8; depth++) {
    seen.add(e);
    const found = fromPostgres(e as ErrorLike) ?? fromSqlite(e as ErrorLike);
    if (found) return found;
    e = (e as ErrorLike).cause;
  }
  return null;
}

function fromPostgres(e: ErrorLike): DriverViolation | null {
  const kind = typeof e.code === 'string' ? SQLSTATE[e.code] : undefined;
  if (!kind) return null;
  const message = text(e.message) ?? '';
  // PostgreSQL reports both sides on the child table; only the (English) message tells which write it was
  const side: ForeignKeySide =
    kind !== 'foreign_key'
      ? null
      : e.code === '23001' || /^update or delete on table/.test(message)
        ? 'parent'
        : /^insert or update on table/.test(message)
          ? 'child'
          : null;
  return { kind, constraint: text(e.constraint), table: text(e.table), schema: text(e.schema), columns: null, side };
}

function fromSqlite(e: ErrorLike): DriverViolation | null {
  const message = text(e.message) ?? '';
  const none = { constraint: null, table: null, schema: null, columns: null, side: null };
  if (e.code === SQLITE_RESTRICT.code && SQLITE_RESTRICT.message.test(message)) return { kind: 'foreign_key', ...none, side: 'parent' };
  const kind = typeof e.code === 'string' ? SQLITE_CODE[e.code] : undefined;
  if (!kind) return null;
  const detail = /constraint failed: (.*)$/s.exec(message)?.[1]?.trim() ?? '';
  if (kind === 'foreign_key') return { kind, ...none };
  if (kind === 'check') return { kind, ...none, constraint: detail || null };
  // "UNIQUE constraint failed: index 'ix_name'" for an index on expressions, else "t.a, t.b"
  const index = /^index '(.*)'$/s.exec(detail)?.[1];
  if (index !== undefined) return { kind, ...none, constraint: index };
  const parts = detail.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const table = parts[0]?.includes('.') ? parts[0].slice(0, parts[0].lastIndexOf('.')) : null;
  const columns = parts.map((p) => p.slice(p.lastIndexOf('.') + 1));
  return { kind, ...none, table, columns };
}
