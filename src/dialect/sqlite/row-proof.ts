import type Database from 'better-sqlite3';
import type { Step } from '../../plan/types.js';
import type { TableRef } from '../../schema/types.js';
import { qualifiedName, tableKey } from '../../schema/types.js';
import type { ViolationCount, ViolationOptions, ViolationTarget } from '../dialect.js';
import { newChecks, rowCheckStatement, type EditSpec } from './schema-edit.js';
import { isOp, isWord, sameName, significant, tokenize, type Token } from './tokenizer.js';

/**
 * What apply's check of existing rows proved, for an edit step to lean on: the
 * CHECK expressions each table's rows were counted against, every row, with
 * none breaking them; and where the file stood (fileVersion), read on apply's
 * own connection before the count began. SQLite changes data_version for every
 * commit of another connection that changes the file (never for this
 * connection's own; an UPDATE that writes the same values changes nothing),
 * so when the edit step, holding the write lock, reads the same numbers, no
 * row has been written since the count began and the edit's own scan of the
 * table would read the very rows the count read.
 */
export interface RowProof {
  /** fileVersion of apply's connection before the count. */
  readonly version: FileVersion;
  /** tableKey → CHECK expressions with no violating row. */
  readonly checks: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * Where the file stands for this connection: data_version (commits of other connections), total_changes()
 * (rows this connection itself has written since it opened, which data_version does not count: a library
 * caller's own writes through the dialect, say) and schema_version (DDL, which neither counts: a table
 * renamed into the place of another on this connection changes its rows and neither number).
 */
export interface FileVersion {
  readonly data: number;
  readonly ownChanges: number;
  readonly schema: number;
}

export function fileVersion(db: Database.Database): FileVersion {
  return {
    data: Number(db.pragma('data_version', { simple: true })),
    ownChanges: Number(db.prepare('SELECT total_changes()').pluck().get()),
    schema: Number(db.pragma('main.schema_version', { simple: true })),
  };
}

const sameVersion = (a: FileVersion, b: FileVersion) => a.data === b.data && a.ownChanges === b.ownChanges && a.schema === b.schema;

/**
 * The functions a CHECK may call and still say the same of a row on any connection: SQLite's deterministic
 * built-ins (and the keywords that may stand before a parenthesis: `IN (…)`, `NOT (…)`, `CASE WHEN (…)`). Anything else (random(), changes(), total_changes(), last_insert_rowid(), the date and time
 * functions, whose default is 'now', a function a caller registered) may answer the count on the reading
 * connection otherwise than the scan on apply's own: such a CHECK is never taken as proven.
 */
const SAME_ON_ANY_CONNECTION: ReadonlySet<string> = new Set([
  'abs', 'cast', 'char', 'coalesce', 'glob', 'hex', 'ifnull', 'iif', 'instr', 'json', 'json_array_length', 'json_extract',
  'json_type', 'json_valid', 'length', 'like', 'likelihood', 'likely', 'lower', 'ltrim', 'max', 'min', 'nullif', 'octet_length',
  'printf', 'format', 'quote', 'replace', 'round', 'rtrim', 'sign', 'substr', 'substring', 'trim', 'typeof', 'unicode',
  'unlikely', 'upper', 'exists', 'in', 'not', 'and', 'or', 'is', 'between', 'case', 'when', 'then', 'else', 'end',
]);
/** The current time, and the operators that call a function the connection supplies (regexp(), match()). */
const NEVER_PROVEN = ['CURRENT_DATE', 'CURRENT_TIME', 'CURRENT_TIMESTAMP', 'REGEXP', 'MATCH'];

/** Whether every call in the expression is to a deterministic built-in (a word before `(`), and no word of NEVER_PROVEN is in it. */
export function sameOnAnyConnection(expr: string): boolean {
  let sig: Token[];
  try {
    sig = significant(tokenize(expr));
  } catch {
    return false;
  }
  return sig.every((t, i) => {
    if (isWord(t, ...NEVER_PROVEN)) return false;
    const called = (t.kind === 'word' || t.kind === 'quoted') && isOp(sig[i + 1], '(');
    return !called || (t.kind === 'word' && SAME_ON_ANY_CONNECTION.has(t.text.toLowerCase()));
  });
}

/**
 * The proof a count gives: only a count of every row (no --since), and only the CHECKs it counted with no
 * violation and no error, whose calls say the same on any connection.
 */
export function rowProofOf(
  version: FileVersion,
  targets: readonly ViolationTarget[],
  counts: readonly ViolationCount[],
  options: Pick<ViolationOptions, 'since'>,
): RowProof | null {
  if (options.since) return null;
  const checks = new Map<string, Set<string>>();
  targets.forEach((t, i) => {
    const c = counts[i];
    if (t.kind !== 'check' || !c || c.error !== undefined || c.violations !== 0 || !sameOnAnyConnection(t.expr)) return;
    const key = tableKey(t.table);
    checks.set(key, (checks.get(key) ?? new Set()).add(t.expr));
  });
  return { version, checks };
}

/**
 * Whether this statement of an edit step is the scan of its table's rows
 * against its new CHECKs, and the proof already holds for it: fileVersion is
 * unchanged (versionNow is read under the write lock, before the run wrote
 * anything), the statement is exactly the scan of those CHECKs on that table
 * (whatever the step says of itself, the text run is what is compared), every
 * one of them was counted with no violating row, and no earlier step of this
 * run wrote the table's rows (this run's own writes inside its transaction
 * move none of the numbers): only index steps may come before it on that table.
 */
export function scanProven(step: Step, statement: string, earlier: readonly Step[], proof: RowProof | null, versionNow: FileVersion): boolean {
  if (!proof || !sameVersion(proof.version, versionNow) || step.action !== 'edit_table' || step.before === undefined || step.after === undefined) return false;
  const table = editedTable(step);
  if (!table || earlier.some((s) => sameName(s.table, qualifiedName(table)) && !ROWS_KEPT.has(s.action))) return false;
  const checks = newChecks(step.before, step.after);
  const proven = proof.checks.get(tableKey(table));
  return checks.length > 0 && statement === rowCheckStatement(table, checks) && checks.every((c) => proven?.has(c) === true);
}

/** Steps that build, rename or drop an index: they write no row of the table. */
const ROWS_KEPT: ReadonlySet<string> = new Set(['create_index', 'replace_index', 'rename_index', 'drop_index']);

function editedTable(step: Step): TableRef | undefined {
  const origin = step.origin as { kind?: unknown; back?: Partial<EditSpec> } | null | undefined;
  const table = origin?.kind === 'edit' ? origin.back?.table : undefined;
  return typeof table?.schema === 'string' && typeof table.name === 'string' ? { schema: table.schema, name: table.name } : undefined;
}
