import type { Dialect, ViolationCount, ViolationTarget } from '../dialect/dialect.js';
import { checkAgainstCatalog } from '../diff/catalog-check.js';
import { SchemaDiffError } from '../errors.js';
import type { LoadedManifest } from '../manifest/types.js';
import { didYouMean } from '../schema/names.js';
import type { Catalog, DesiredTable, DialectName, Severity } from '../schema/types.js';
import { findTable, qualifiedName } from '../schema/types.js';
import { desiredFor, tablesOf } from './prepare.js';
import { checkLimits } from './limits.js';
import { descriptionsOf } from './describe.js';
import { targetsOfManifest } from './targets.js';

export interface ValidateOptions {
  /** Constraint names to check (`--only`, repeatable); every one when empty. */
  readonly only?: readonly string[];
  /** Tables to check (`--table`): `name` or `schema.name`; every one when empty. */
  readonly tables?: readonly string[];
  /** Sample rows per violated constraint. */
  readonly samples: number;
  /** Tables checked in parallel, where the database allows it. */
  readonly jobs: number;
  readonly onProgress?: (message: string) => void;
  /**
   * Only rows whose `column` is at or after `from` (`--since`, `--column`): a
   * nightly watch over recent writes. The column must exist in every table
   * checked; the value is bound as a parameter.
   */
  readonly since?: { readonly column: string; readonly from: string };
}

/** One constraint's line of the report (docs/validate.md). */
export interface ReportEntry {
  readonly name: string;
  /** schema.table */
  readonly table: string;
  readonly kind: ViolationTarget['kind'];
  readonly severity: Severity;
  /** Rows that break it; for a unique index, the rows in excess of one per key. */
  readonly violations: number;
  /** Unique indexes only: how many keys occur more than once. */
  readonly groups?: number;
  /** Rows of the table checked against it. */
  readonly rows: number;
  /** Up to --samples offending rows: primary key, then the columns the constraint reads. */
  readonly sample: readonly Record<string, unknown>[];
  /** The database's message when the expression fails on some row; then `violations` is 0 and unknown. */
  readonly error?: string;
  /** The manifest's `description` of the constraint, when it gives one. */
  readonly description?: string;
}

export interface ReportTotals {
  readonly constraints: number;
  readonly tables: number;
  /** Constraints with at least one violating row. */
  readonly violated: number;
  /** Constraints whose expression failed. */
  readonly errors: number;
  /** Critical constraints violated or failed: any makes validate exit 2. */
  readonly critical: number;
  /** Warning constraints violated or failed: reported only. */
  readonly warning: number;
  /** Sum of `violations`. */
  readonly violations: number;
  /** Row × constraint checks the score counts, and how many of them pass. */
  readonly checks: number;
  readonly passed: number;
}

export interface ValidationReport {
  readonly version: 1;
  readonly dialect: DialectName;
  /** The database, without password (named `database` before the common JSON envelope). */
  readonly target: string;
  readonly checkedAt: string;
  readonly constraints: readonly ReportEntry[];
  readonly totals: ReportTotals;
  /** 0–100: the share of row × constraint checks that pass, rounded down to 2 decimals (100 only when all pass). */
  readonly score: number;
  /** No critical constraint violated or failed: safe to migrate (exit 0). */
  readonly ready: boolean;
}

export interface Validation {
  readonly report: ValidationReport;
  /** What was checked, in report order (for --fix-sql). */
  readonly targets: readonly ViolationTarget[];
  readonly catalog: Catalog;
}

/**
 * manifest → desired → catalog check → normalized (proven) → targets (narrowed by --only/--table) →
 * the dialect's read-only counts → the report. Every manifest object rows can
 * break is checked, including those the database already has.
 */
export async function validateManifest(dialect: Dialect, manifest: LoadedManifest, options: ValidateOptions): Promise<Validation> {
  checkLimits({ samples: options.samples, jobs: options.jobs });
  const desired = await desiredFor(dialect, manifest);
  const catalog = await dialect.introspect(tablesOf(desired), { normalizeNext: true });
  checkAgainstCatalog(desired, catalog);
  // The database parses every expression as a CHECK (or index) before any row is read with it, as plan does:
  // no subquery, only immutable functions (PostgreSQL). The counts still use the manifest's own text.
  await dialect.normalize(desired, catalog);
  const targets = selectTargets(desired, targetsOfManifest(desired), options);
  if (options.since) checkSinceColumn(options.since, targets, catalog);
  const counts = targets.length
    ? await dialect.countViolations(targets, {
        samples: options.samples,
        jobs: options.jobs,
        onProgress: options.onProgress,
        ...(options.since ? { since: options.since } : {}),
      })
    : [];
  const report = buildReport(counts, catalog, { dialect: dialect.name, target: dialect.target, checkedAt: new Date().toISOString() });
  return { report: withDescriptions(report, descriptionsOf(desired)), targets, catalog };
}

/**
 * `--since` needs a moment and a column every checked table has: the column
 * is an identifier from the command line, so it must be one the catalog
 * lists before it is quoted into a query; the moment is checked to read as one.
 */
export function checkSinceColumn(since: NonNullable<ValidateOptions['since']>, targets: readonly ViolationTarget[], catalog: Catalog): void {
  if (Number.isNaN(Date.parse(since.from))) {
    throw new SchemaDiffError('usage', `--since ${JSON.stringify(since.from)}: not a date or timestamp (e.g. 2025-10-01 or 2025-10-01T00:00:00Z)`);
  }
  for (const ref of new Map(targets.map((t) => [qualifiedName(t.table), t.table])).values()) {
    const columns = findTable(catalog, ref)?.columns.map((c) => c.name) ?? [];
    if (!columns.includes(since.column)) {
      throw new SchemaDiffError(
        'usage',
        `--column ${since.column}: table ${qualifiedName(ref)} has no such column${didYouMean(since.column, columns)} (narrow the check with --table)`,
      );
    }
  }
}

/** The targets `--only` and `--table` leave; a name that matches nothing is an error, with the likely one. */
export function selectTargets(
  desired: readonly DesiredTable[],
  targets: readonly ViolationTarget[],
  options: Pick<ValidateOptions, 'only' | 'tables'>,
): ViolationTarget[] {
  const only = new Set(options.only ?? []);
  const objects = desired.flatMap((t) => [...t.checks, ...t.foreignKeys, ...t.indexes]);
  for (const name of only) {
    const object = objects.find((o) => o.name === name);
    if (!object) {
      throw new SchemaDiffError('usage', `--only ${name}: no such constraint or index in the manifest${didYouMean(name, objects.map((o) => o.name))}`);
    }
    if (!targets.some((t) => t.name === name)) {
      throw new SchemaDiffError('usage', `--only ${name}: a non-unique index, which no row can violate`);
    }
  }
  const tables = (options.tables ?? []).map((spec) => {
    const matches = desired.filter((t) => spec === qualifiedName(t.ref) || spec === t.ref.name);
    if (matches.length === 0) {
      const names = desired.map((t) => t.ref.name);
      throw new SchemaDiffError('usage', `--table ${spec}: not a table of the manifest${didYouMean(spec, names)}`);
    }
    return matches.map((t) => qualifiedName(t.ref));
  });
  const wanted = new Set(tables.flat());
  return targets.filter((t) => (only.size === 0 || only.has(t.name)) && (wanted.size === 0 || wanted.has(qualifiedName(t.table))));
}

export function buildReport(
  counts: readonly ViolationCount[],
  catalog: Catalog,
  meta: Pick<ValidationReport, 'dialect' | 'target' | 'checkedAt'>,
): ValidationReport {
  const constraints = counts.map((c) => entryOf(c, catalog));
  const failing = constraints.filter((c) => c.violations > 0 || c.error !== undefined);
  const checked = constraints.filter((c) => c.error === undefined);
  const checks = sum(checked.map((c) => c.rows));
  const failed = sum(checked.map((c) => Math.min(c.violations, c.rows)));
  const totals: ReportTotals = {
    constraints: constraints.length,
    tables: new Set(constraints.map((c) => c.table)).size,
    violated: constraints.filter((c) => c.violations > 0).length,
    errors: constraints.filter((c) => c.error !== undefined).length,
    critical: failing.filter((c) => c.severity === 'critical').length,
    warning: failing.filter((c) => c.severity === 'warning').length,
    violations: sum(constraints.map((c) => c.violations)),
    checks,
    passed: checks - failed,
  };
  return { version: 1, ...meta, constraints, totals, score: scoreOf(checks, failed), ready: totals.critical === 0 };
}

function withDescriptions(report: ValidationReport, descriptions: ReadonlyMap<string, string>): ValidationReport {
  const constraints = report.constraints.map((c) => {
    const description = descriptions.get(`${c.table} ${c.name}`);
    return description ? { ...c, description } : c;
  });
  return { ...report, constraints };
}

/** 100 × passed / checks, rounded down so that 100 means no failing check at all. */
export function scoreOf(checks: number, failed: number): number {
  if (checks <= 0) return 100;
  return Math.floor(((checks - failed) * 10_000) / checks) / 100;
}

function entryOf(c: ViolationCount, catalog: Catalog): ReportEntry {
  // a dialect that cannot say how many rows it read: the catalog's estimate, at least the violations
  const estimate = findTable(catalog, c.table)?.rowEstimate ?? -1;
  const rows = c.rows ?? Math.max(estimate, c.violations, 0);
  return {
    name: c.name,
    table: qualifiedName(c.table),
    kind: c.kind,
    severity: c.severity,
    violations: c.violations,
    ...(c.groups !== undefined ? { groups: c.groups } : {}),
    rows,
    sample: c.sample.map(jsonRow),
    ...(c.error !== undefined ? { error: c.error } : {}),
  };
}

/** Sample values as JSON shows them: dates as ISO text, bytes as hex, big integers as text. */
function jsonRow(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, jsonValue(v)]));
}

function jsonValue(v: unknown): unknown {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v).toString('hex')}`;
  return v === undefined ? null : v;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
