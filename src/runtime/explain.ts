import type { LoadedManifest } from '../manifest/types.js';
import { recogniseViolation, type DriverViolation, type ForeignKeySide } from './driver-error.js';
import { rulesOf, type RuleInfo, type ViolationKind } from './rules.js';

/** What a rejected write means, in the manifest's words (docs/violations.md). */
export interface ConstraintViolation {
  /** The rule's name; null only for an SQLite foreign key that could not be told apart (see `table`). */
  readonly constraint: string | null;
  /** The rule's table (without schema); for an unattributed SQLite foreign key, the `table` hint or null. */
  readonly table: string | null;
  readonly kind: ViolationKind;
  readonly severity: 'critical' | 'warning';
  readonly description: string | null;
  /** For the end user. */
  readonly message: string;
  /** For the API response: 422 for a check or a missing parent, 409 for a duplicate or a parent still referenced. */
  readonly httpStatus: 409 | 422;
  /** For the API response and logs, e.g. ORDER_TOTAL_NOT_POSITIVE. */
  readonly code: string;
  /** Foreign keys: which write was refused (see ForeignKeySide); null for other kinds and when unknown. */
  readonly side: ForeignKeySide;
}

export interface ExplainOptions {
  /**
   * The table the failed statement wrote to. SQLite does not name the foreign
   * key a write broke: with this hint, a table with one managed foreign key
   * (or referenced by one) identifies it.
   */
  readonly table?: string;
  /**
   * The kind of write, with `table`: an insert can only break the table's own
   * keys (a missing parent), a delete only keys pointing at it (a parent still
   * referenced); an update either.
   */
  readonly operation?: 'insert' | 'update' | 'delete';
  /** Called with every violation recognised (log it, count it: docs/monitoring.md); its errors are not caught. */
  readonly onViolation?: (violation: ConstraintViolation, error: unknown) => void;
}

/** Used when SQLite's "FOREIGN KEY constraint failed" cannot be pinned to one of the manifest's keys. */
export const GENERIC_FOREIGN_KEY = {
  message: 'The record refers to a record that does not exist, or is still referred to by other records.',
  code: 'FOREIGN_KEY_VIOLATION',
} as const;

/**
 * The status an API answers with: a check breaks on the request's own values
 * (422 Unprocessable Content), as does a reference to a parent that does not
 * exist; a duplicate, or deleting a parent others still need, conflicts with
 * the stored state (409 Conflict). An SQLite key with no side known: 409.
 */
export function httpStatusOf(kind: ViolationKind, side: ForeignKeySide): 409 | 422 {
  if (kind === 'check') return 422;
  if (kind === 'foreign_key' && side === 'child') return 422;
  return 409;
}

const lookups = new WeakMap<LoadedManifest, readonly RuleInfo[]>();

function rulesCached(manifest: LoadedManifest): readonly RuleInfo[] {
  let rules = lookups.get(manifest);
  if (!rules) lookups.set(manifest, (rules = rulesOf(manifest)));
  return rules;
}

/**
 * Turns a driver's constraint-violation error into the manifest's rule,
 * message and code; null when the error is no violation of a manifest rule
 * (another error, a primary key, a NOT NULL, an unmanaged constraint).
 * No database round trip: the error and the manifest say it all.
 */
export function explainViolation(error: unknown, manifest: LoadedManifest, options: ExplainOptions = {}): ConstraintViolation | null {
  return explainWith(rulesCached(manifest), error, options);
}

/** explainViolation with the manifest's lookup table built once, and options every call shares. */
export function createViolationExplainer(manifest: LoadedManifest, defaults: ExplainOptions = {}) {
  const rules = rulesOf(manifest);
  return (error: unknown, options: ExplainOptions = {}): ConstraintViolation | null => explainWith(rules, error, { ...defaults, ...options });
}

export function explainWith(rules: readonly RuleInfo[], error: unknown, options: ExplainOptions): ConstraintViolation | null {
  const found = recogniseViolation(error);
  if (!found) return null;
  const violation = found.kind === 'foreign_key' && found.constraint === null ? sqliteForeignKey(rules, found, options) : named(rules, found);
  if (violation) options.onViolation?.(violation, error);
  return violation;
}

function named(rules: readonly RuleInfo[], found: DriverViolation): ConstraintViolation | null {
  const rule = found.constraint !== null ? byName(rules, found) : byColumns(rules, found);
  return rule ? violationOf(rule, found.side) : null;
}

function byName(rules: readonly RuleInfo[], found: DriverViolation): RuleInfo | undefined {
  // an unnamed SQLite CHECK is quoted by its expression
  const same = rules.filter((r) => r.kind === found.kind && (r.name === found.constraint || (r.name === null && r.expr?.trim() === found.constraint)));
  // CHECK names are unique per table only: the driver's table settles it
  return same.length > 1 && found.table !== null ? same.find((r) => r.table === found.table && (found.schema === null || r.schema === null || r.schema === found.schema)) : same[0];
}

/** SQLite names the columns of a unique violation: the manifest's unique index on exactly those. */
function byColumns(rules: readonly RuleInfo[], found: DriverViolation): RuleInfo | undefined {
  const columns = found.columns ?? [];
  return rules.find(
    (r) => r.kind === 'unique' && r.table === found.table && r.columns.length === columns.length && r.columns.every((c, i) => c === columns[i]),
  );
}

/**
 * SQLite says only "FOREIGN KEY constraint failed". With the table the write
 * went to (and the kind of write): the one managed key it can have broken,
 * its own (a child written) or one pointing at it (a parent deleted);
 * otherwise a generic answer. Unmanaged keys are unknown here: a table with
 * one managed key and an unmanaged one is attributed to the managed one.
 */
function sqliteForeignKey(rules: readonly RuleInfo[], found: DriverViolation, options: ExplainOptions): ConstraintViolation {
  const { table, operation } = options;
  if (table !== undefined) {
    const keys = rules.filter((r) => r.kind === 'foreign_key');
    // a RESTRICT refusal is known to come from the parent's side
    const own = operation === 'delete' || found.side === 'parent' ? [] : keys.filter((r) => r.table === table);
    const pointing = operation === 'insert' ? [] : keys.filter((r) => r.references === table);
    if (own.length === 1 && pointing.length === 0) return violationOf(own[0], 'child');
    if (own.length === 0 && pointing.length === 1) return violationOf(pointing[0], 'parent');
  }
  return {
    constraint: null,
    table: table ?? null,
    kind: 'foreign_key',
    severity: 'critical',
    description: null,
    message: GENERIC_FOREIGN_KEY.message,
    httpStatus: httpStatusOf('foreign_key', found.side),
    code: GENERIC_FOREIGN_KEY.code,
    side: found.side,
  };
}

function violationOf(rule: RuleInfo, side: ForeignKeySide): ConstraintViolation {
  return {
    constraint: rule.name,
    table: rule.table,
    kind: rule.kind,
    severity: rule.severity,
    description: rule.description,
    message: rule.message,
    httpStatus: httpStatusOf(rule.kind, side),
    code: rule.code,
    side: rule.kind === 'foreign_key' ? side : null,
  };
}
