import { identifierTooLong, MAX_IDENTIFIER_BYTES } from '../schema/names.js';
import { printable, unprintableIn } from '../schema/printable.js';
import { formatPath } from './path.js';
import { splitTableKey } from './resolve.js';

/**
 * What the JSON Schema cannot say: names that collide, identifiers PostgreSQL
 * would truncate or that hold control characters, a foreign key whose two column lists differ in length. Reads
 * the manifest defensively (it may also have structural errors, reported
 * alongside), so that every problem is reported in one go.
 */
export function meaningProblems(manifest: unknown): string[] {
  const problems: string[] = [];
  const m = asRecord(manifest);
  const defaultSchema = nonEmptyString(m.schema) ?? 'public';
  checkName(problems, 'schema', m.schema, 'schema name');
  const tables = Object.entries(asRecord(m.tables)).map(([key, spec]) => tableOf(key, asRecord(spec), defaultSchema));
  // PostgreSQL keeps tables and indexes in one namespace of relations per schema: `schema.name` -> manifest path
  const tablePaths = new Map<string, string>();
  const indexPaths = new Map<string, string>();
  for (const t of tables) checkTableItself(problems, t, tablePaths);
  for (const t of tables) {
    checkConstraints(problems, t);
    checkIndexes(problems, t, tablePaths, indexPaths);
  }
  checkWellFormed(problems, manifest, null);
  return problems;
}

/** A lone UTF-16 surrogate: JSON and JavaScript strings may hold one, UTF-8 cannot. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Every string (and key) of the manifest is one that UTF-8 can carry: the
 * database would store U+FFFD for a lone surrogate, and the next plan would
 * see a difference that no apply can remove.
 */
function checkWellFormed(problems: string[], value: unknown, at: PathNode | null): void {
  if (typeof value === 'string') {
    if (loneSurrogateIn(value)) problems.push(`${formatPath(pathOf(at)) || '(manifest)'}: holds a lone UTF-16 surrogate, which no database can store`);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkWellFormed(problems, value[i], { parent: at, step: i });
  } else if (value !== null && typeof value === 'object') {
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue;
      if (loneSurrogateIn(k)) problems.push(`${formatPath(pathOf(at)) || '(manifest)'}: a key holds a lone UTF-16 surrogate, which no database can store`);
      else checkWellFormed(problems, (value as Record<string, unknown>)[k], { parent: at, step: k });
    }
  }
}

/** Most strings hold no surrogate at all: the plain range test spares them the lookarounds. */
function loneSurrogateIn(s: string): boolean {
  return SURROGATE.test(s) && LONE_SURROGATE.test(s);
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Where a value sits, as a chain to its parent: the path is spelled out only for a value with a problem. */
interface PathNode {
  readonly parent: PathNode | null;
  readonly step: string | number;
}

function pathOf(at: PathNode | null): (string | number)[] {
  const path: (string | number)[] = [];
  for (let n = at; n; n = n.parent) path.unshift(n.step);
  return path;
}

interface TableView {
  readonly key: string;
  readonly path: string;
  readonly schema: string;
  readonly name: string;
  readonly spec: Record<string, unknown>;
}

function tableOf(key: string, spec: Record<string, unknown>, defaultSchema: string): TableView {
  const { schema: keySchema, name } = splitTableKey(key);
  const schema = keySchema ?? nonEmptyString(spec.schema) ?? defaultSchema;
  return { key, path: formatPath(['tables', key]), schema, name, spec };
}

/** Its names, its schema agreeing with its key, and no second entry for the same table (`orders` and `public.orders`). */
function checkTableItself(problems: string[], t: TableView, tablePaths: Map<string, string>): void {
  const keySchema = splitTableKey(t.key).schema;
  const declared = nonEmptyString(t.spec.schema);
  if (keySchema && declared && keySchema !== declared) {
    problems.push(`${t.path}.schema: "${declared}" contradicts the key's schema "${keySchema}"`);
  }
  checkName(problems, t.path, keySchema, 'schema name');
  if (declared !== keySchema) checkName(problems, `${t.path}.schema`, declared, 'schema name');
  checkName(problems, t.path, t.name, 'table name');
  claim(problems, tablePaths, `${t.schema}.${t.name}`, t.path, `table ${t.schema}.${t.name} is listed twice`);
}

/** CHECK and FOREIGN KEY constraints share one namespace per table. */
function checkConstraints(problems: string[], t: TableView): void {
  const names = new Map<string, string>();
  const claimName = (path: string, name: unknown) => {
    if (typeof name !== 'string') return;
    checkName(problems, `${path}.name`, name, 'constraint name');
    claim(problems, names, name, `${path}.name`, `duplicate constraint name "${name}" in table ${t.name}`);
  };
  asRecords(t.spec.checks).forEach((c, i) => claimName(`${t.path}.checks[${i}]`, c.name));
  asRecords(t.spec.foreignKeys).forEach((fk, i) => {
    const path = `${t.path}.foreignKeys[${i}]`;
    claimName(path, fk.name);
    checkForeignKey(problems, path, fk);
  });
}

function checkForeignKey(problems: string[], path: string, fk: Record<string, unknown>): void {
  const ref = asRecord(fk.references);
  const columns = strings(fk.columns);
  const refColumns = strings(ref.columns);
  if (columns.length > 0 && refColumns.length > 0 && columns.length !== refColumns.length) {
    problems.push(
      `${path}: ${columns.length} column(s) (${columns.join(', ')}) reference ` +
        `${refColumns.length} column(s) of ${String(ref.table)} (${refColumns.join(', ')})`,
    );
  }
  columnNames(problems, `${path}.columns`, fk.columns);
  columnNames(problems, `${path}.references.columns`, ref.columns);
  if (typeof ref.table === 'string') {
    const { schema, name } = splitTableKey(ref.table);
    checkName(problems, `${path}.references.table`, schema, 'schema name');
    checkName(problems, `${path}.references.table`, name, 'table name');
  }
  if (fk.initiallyDeferred === true && fk.deferrable === false) {
    problems.push(`${path}.initiallyDeferred: an initially deferred constraint must be deferrable`);
  }
  const setColumns = asRecord(fk.onDelete).columns;
  columnNames(problems, `${path}.onDelete.columns`, setColumns);
  strings(setColumns).forEach((c, i) => {
    if (columns.length > 0 && !columns.includes(c)) {
      problems.push(`${path}.onDelete.columns[${i}]: column "${c}" is not one of the foreign key's columns (${columns.join(', ')})`);
    }
  });
}

/** Index names are unique per schema, and may not be a table's name either (PostgreSQL). */
function checkIndexes(problems: string[], t: TableView, tablePaths: Map<string, string>, indexPaths: Map<string, string>): void {
  asRecords(t.spec.indexes).forEach((ix, i) => {
    const path = `${t.path}.indexes[${i}]`;
    if (typeof ix.name === 'string') {
      const qualified = `${t.schema}.${ix.name}`;
      checkName(problems, `${path}.name`, ix.name, 'index name');
      const table = tablePaths.get(qualified);
      if (table !== undefined) problems.push(`${path}.name: index name "${ix.name}" is a table's name in schema ${t.schema} (${table})`);
      else claim(problems, indexPaths, qualified, `${path}.name`, `duplicate index name "${ix.name}" in schema ${t.schema}`);
    }
    columnNames(problems, `${path}.columns`, ix.columns);
    columnNames(problems, `${path}.include`, ix.include);
    checkIndexOptions(problems, path, ix);
  });
}

const KEY_PROPERTIES = ['column', 'expr', 'desc', 'nulls', 'opclass', 'collate'];

/** Key objects name one thing; a UNIQUE constraint and NULLS NOT DISTINCT need a unique index of the kind PostgreSQL accepts. */
function checkIndexOptions(problems: string[], path: string, ix: Record<string, unknown>): void {
  const keys = Array.isArray(ix.columns) ? ix.columns : [];
  keys.forEach((k: unknown, i) => {
    const key = asRecord(k);
    if (typeof k !== 'object' || k === null) return;
    // neither, with an unknown property: the structure's error says which (`exp`, did you mean expr?)
    const onlyKnown = Object.keys(key).every((p) => KEY_PROPERTIES.includes(p));
    checkName(problems, `${path}.columns[${i}].column`, key.column, 'column name');
    checkName(problems, `${path}.columns[${i}].collate`, key.collate, 'collation name');
    checkName(problems, `${path}.columns[${i}].opclass`, typeof key.opclass === 'string' ? key.opclass : asRecord(key.opclass).name, 'operator class name');
    if ('column' in key && 'expr' in key) problems.push(`${path}.columns[${i}]: give either "column" or "expr", not both`);
    else if (!('column' in key) && !('expr' in key) && onlyKnown) problems.push(`${path}.columns[${i}]: give "column" or "expr"`);
  });
  if (ix.nullsNotDistinct === true && ix.unique !== true) problems.push(`${path}.nullsNotDistinct: only a unique index can treat NULLs as equal (add unique: true)`);
  for (const timing of ['deferrable', 'initiallyDeferred'] as const) {
    if (ix[timing] === true && ix.constraint !== true) problems.push(`${path}.${timing}: only a UNIQUE constraint can be deferred, not a bare index (add constraint: true)`);
  }
  if (ix.initiallyDeferred === true && ix.deferrable === false) problems.push(`${path}.initiallyDeferred: an initially deferred constraint must be deferrable`);
  if (ix.constraint !== true) return;
  if (ix.unique !== true) problems.push(`${path}.constraint: a UNIQUE constraint needs unique: true`);
  if (ix.where !== undefined) problems.push(`${path}.constraint: a UNIQUE constraint cannot be partial (drop where, or constraint)`);
  if (typeof ix.method === 'string' && ix.method.toLowerCase() !== 'btree') problems.push(`${path}.constraint: a UNIQUE constraint's index is a btree`);
  keys.forEach((k: unknown, i) => {
    const key = asRecord(k);
    const options = ['expr', 'desc', 'nulls', 'opclass', 'collate'].filter((o) => key[o] !== undefined && key[o] !== false);
    if (options.length > 0) {
      problems.push(`${path}.columns[${i}]: a UNIQUE constraint's keys are plain columns in default order (not ${options.join(', ')}); drop constraint for a unique index`);
    }
  });
}

/** Records a name in a namespace, or reports it as taken, naming where it was first. */
function claim(problems: string[], taken: Map<string, string>, key: string, path: string, what: string): void {
  const earlier = taken.get(key);
  if (earlier === undefined) taken.set(key, path);
  else problems.push(`${path}: ${what} (also ${earlier})`);
}

/** Plain column names of a list (expressions and malformed items are skipped, keeping their positions). */
function columnNames(problems: string[], path: string, columns: unknown): void {
  const seen = new Set<string>();
  (Array.isArray(columns) ? columns : []).forEach((c: unknown, i) => {
    if (typeof c !== 'string') return;
    checkName(problems, `${path}[${i}]`, c, 'column name');
    if (seen.has(c)) problems.push(`${path}[${i}]: column "${c}" is listed twice`);
    seen.add(c);
  });
}

/**
 * Every name of the manifest (schema, table, column, constraint, index, and any
 * new identifier field): PostgreSQL silently truncates longer identifiers, so
 * two long names could end up the same; and a control character (a line break,
 * an escape, a bidi override) would end the `--` comment a printed plan shows
 * the name in, making the rest of it a live statement of `plan > migration.sql`.
 */
function checkName(problems: string[], path: string, name: unknown, what: string): void {
  if (typeof name !== 'string') return;
  const control = unprintableIn(name);
  if (control !== null) problems.push(`${path}: ${what} "${printable(name)}" contains a control character (${control}); names may not`);
  if (identifierTooLong(name)) {
    const bytes = Buffer.byteLength(name, 'utf8');
    problems.push(`${path}: ${what} "${name}" is ${bytes} bytes, over PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte limit`);
  }
}

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** The array's items, with anything that is not an object seen as empty (its structural error is reported already). */
function asRecords(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.map(asRecord) : [];
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

function nonEmptyString(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}
