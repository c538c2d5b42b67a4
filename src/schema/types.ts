/**
 * The plain data that both sides of a diff share: what the manifest wants and
 * what the catalog holds are described with the same types. No I/O here, no SQL
 * building; every value is meant to be frozen and compared.
 */

export type DialectName = 'postgres' | 'sqlite';

/** A table, always schema-qualified (SQLite uses the schema name `main`). */
export interface TableRef {
  readonly schema: string;
  readonly name: string;
}

export type FkAction = 'no action' | 'restrict' | 'cascade' | 'set null' | 'set default';
export const FK_ACTIONS: readonly FkAction[] = ['no action', 'restrict', 'cascade', 'set null', 'set default'];

export type Severity = 'critical' | 'warning';

export interface Check {
  /**
   * The constraint's name. An unnamed SQLite CHECK (`unnamed`) has none in the
   * database: it is identified by its normalized expression, and this holds
   * `CHECK (<expr>)` so that both sides of a diff and the journal key it alike.
   */
  readonly name: string;
  /** true for a CHECK written without `CONSTRAINT name` (SQLite only): rendered without one. */
  readonly unnamed?: boolean;
  readonly table: TableRef;
  /** The expression without the surrounding CHECK ( ), in the database's canonical form when read from a catalog. */
  readonly expr: string;
  /** false for a constraint added NOT VALID and not yet validated. */
  readonly validated: boolean;
  /** PostgreSQL NO INHERIT: not enforced on child tables. Absent means false. */
  readonly noInherit?: boolean;
  /** The database's comment on it (PostgreSQL COMMENT ON CONSTRAINT); in a manifest, its `description`. Absent: none. */
  readonly description?: string;
}

export interface ForeignKey {
  /**
   * The constraint's name; for an unnamed SQLite foreign key (`unnamed`) its
   * structure, `FOREIGN KEY (cols) REFERENCES parent (cols)` (unnamedForeignKeyName).
   */
  readonly name: string;
  /** true for a foreign key written without `CONSTRAINT name` (SQLite only): rendered without one. */
  readonly unnamed?: boolean;
  readonly table: TableRef;
  readonly columns: readonly string[];
  readonly refTable: TableRef;
  /** Empty means "the referenced table's primary key" (SQLite allows omitting them). */
  readonly refColumns: readonly string[];
  readonly onDelete: FkAction;
  readonly onUpdate: FkAction;
  readonly deferrable: boolean;
  readonly initiallyDeferred: boolean;
  readonly match: 'simple' | 'full' | 'partial';
  readonly validated: boolean;
  /**
   * PostgreSQL 15's `ON DELETE SET NULL (b)`: the only columns a `set null` or
   * `set default` action sets. Absent or empty means all the key's columns.
   */
  readonly onDeleteColumns?: readonly string[];
  /** The database's comment on it (PostgreSQL COMMENT ON CONSTRAINT); in a manifest, its `description`. Absent: none. */
  readonly description?: string;
}

/** An operator class, with its parameters (`gist_trgm_ops(siglen = 32)`) as the catalog prints them. */
export interface OpClass {
  readonly name: string;
  readonly params?: Readonly<Record<string, string>>;
}

/**
 * How one key part sorts and compares. In canonical form (read from a catalog,
 * or a manifest once normalized) a field is present only where it differs from
 * the default: DESC's NULLS FIRST, the column's own collation and the type's
 * default operator class are all absent.
 */
export interface IndexKeyOptions {
  readonly desc?: boolean;
  readonly nulls?: 'first' | 'last';
  readonly collate?: string;
  readonly opclass?: OpClass;
}

/** One key part of an index: a plain column, or an expression in canonical form, with its sort and compare options. */
export type IndexKey = ({ readonly column: string } | { readonly expr: string }) & IndexKeyOptions;

export interface Index {
  readonly name: string;
  readonly table: TableRef;
  readonly keys: readonly IndexKey[];
  readonly unique: boolean;
  /** Partial index predicate, canonical form, or null. */
  readonly where: string | null;
  readonly method: string;
  /** false for an INVALID index left by a failed CREATE INDEX CONCURRENTLY. */
  readonly valid: boolean;
  /** true when the index backs a PRIMARY KEY, UNIQUE or EXCLUDE constraint. */
  readonly constraintBacked: boolean;
  /**
   * The index is a UNIQUE constraint's (PostgreSQL: the constraint has the
   * index's name; SQLite: a table-level UNIQUE's autoindex). A manifest unique
   * index may describe it; in the manifest (`constraint: true`) it asks for one.
   * Absent means false.
   */
  readonly uniqueConstraint?: boolean;
  /** The database names the index and cannot rename or drop it alone (SQLite's autoindexes). Absent means false. */
  readonly fixedName?: boolean;
  /** Non-key columns stored in the index (PostgreSQL INCLUDE). Absent or empty means none. */
  readonly include?: readonly string[];
  /** PostgreSQL 15's UNIQUE NULLS NOT DISTINCT. Absent means false. */
  readonly nullsNotDistinct?: boolean;
  /**
   * A UNIQUE constraint checked at the end of the statement's transaction
   * rather than row by row (PostgreSQL DEFERRABLE); only with uniqueConstraint.
   * Absent means false. initiallyDeferred: deferred unless SET CONSTRAINTS says
   * otherwise (implies deferrable).
   */
  readonly deferrable?: boolean;
  readonly initiallyDeferred?: boolean;
  /** Storage parameters (WITH (fillfactor = 70)), values as the catalog prints them. Absent or empty means none. */
  readonly with?: Readonly<Record<string, string>>;
  /**
   * The database's comment on it: a UNIQUE constraint's (COMMENT ON CONSTRAINT)
   * where it is one, otherwise the index's own (COMMENT ON INDEX); in a
   * manifest, its `description`. Absent: none.
   */
  readonly description?: string;
}

export interface Column {
  readonly name: string;
  readonly type: string;
  readonly nullable: boolean;
}

export interface Table {
  readonly ref: TableRef;
  readonly columns: readonly Column[];
  readonly primaryKey: readonly string[];
  readonly checks: readonly Check[];
  readonly foreignKeys: readonly ForeignKey[];
  readonly indexes: readonly Index[];
  /** Planner's estimate (PostgreSQL reltuples) or exact count where cheap; -1 when unknown. */
  readonly rowEstimate: number;
  /**
   * Foreign keys of any table in the database (managed or not) that reference
   * this one: changing the unique key they rely on breaks them. Absent when not read.
   */
  readonly referencedBy?: readonly ReferencingKey[];
}

/** A foreign key that references a catalog table, seen from the parent's side. */
export interface ReferencingKey {
  readonly name: string;
  /** The child table that holds the key. */
  readonly table: TableRef;
  readonly columns: readonly string[];
  /** The parent's key columns, spelled out (the primary key where the key omits them). */
  readonly refColumns: readonly string[];
  /**
   * The parent's index the key is bound to (PostgreSQL: pg_constraint.conindid),
   * or null where the database looks for a matching unique key at each check (SQLite).
   */
  readonly refIndex: string | null;
}

/**
 * A name in the namespace index names share: in PostgreSQL every pg_class
 * relation of a schema (tables, indexes, sequences, views, composite types …),
 * in SQLite every table, index and view of the file.
 */
export interface Relation {
  readonly schema: string;
  readonly name: string;
  readonly kind: 'table' | 'index' | 'sequence' | 'view' | 'other';
  /** For an index, the table it is on. */
  readonly table: TableRef | null;
}

/** What the database holds for the tables a manifest names. */
export interface Catalog {
  readonly dialect: DialectName;
  readonly tables: readonly Table[];
  /** Every relation name in the schemas of those tables (index names must not collide with any). Absent when not read. */
  readonly relations?: readonly Relation[];
  /**
   * Index swaps a run planned and did not finish (the journal's 'planned'
   * replace_index steps), read when a table has an index under a swap's scratch
   * name: only such a leftover is schema-diff's own to finish or drop. Absent when none.
   */
  readonly unfinishedSwaps?: readonly UnfinishedSwap[];
}

/** A replace of index `index` on `table` that was started and not journaled done. */
export interface UnfinishedSwap {
  readonly table: TableRef;
  readonly index: string;
}

/** What the manifest wants for one table, resolved for one dialect. */
export interface DesiredCheck extends Check {
  /**
   * The expression as the manifest writes it. `expr` holds the database's
   * canonical form for comparing; SQL is rendered from `source`, because a
   * canonical form does not always print back to itself when parsed again
   * (PostgreSQL turns `v IN ('a')` on a varchar into an ARRAY cast that
   * re-parses into a different text).
   */
  readonly source: string;
  readonly severity: Severity;
  /** Where in the manifest it came from, for error messages: tables.orders.checks[2] */
  readonly path: string;
}
export interface DesiredForeignKey extends ForeignKey {
  readonly severity: Severity;
  readonly path: string;
}
export interface DesiredIndex extends Index {
  /** Keys and predicate as the manifest writes them (see DesiredCheck.source). */
  readonly source: { readonly keys: readonly IndexKey[]; readonly where: string | null };
  readonly severity: Severity;
  readonly path: string;
}

export interface DesiredTable {
  readonly ref: TableRef;
  readonly path: string;
  readonly checks: readonly DesiredCheck[];
  readonly foreignKeys: readonly DesiredForeignKey[];
  readonly indexes: readonly DesiredIndex[];
}

/** The identity of an unnamed CHECK: its expression, normalized the way the catalog prints it. */
export function unnamedCheckName(expr: string): string {
  return `CHECK (${expr})`;
}

/** The identity of an unnamed foreign key: its structure, the parent's columns spelled out. */
export function unnamedForeignKeyName(columns: readonly string[], refTable: string, refColumns: readonly string[]): string {
  return `FOREIGN KEY (${columns.join(', ')}) REFERENCES ${refTable} (${refColumns.join(', ')})`;
}

export function qualifiedName(ref: TableRef): string {
  return `${ref.schema}.${ref.name}`;
}

export function sameTable(a: TableRef, b: TableRef): boolean {
  return a.schema === b.schema && a.name === b.name;
}

/** A catalog's tables by schema and name, built once per catalog: a plan of a thousand tables looks tables up thousands of times. */
const tablesByRef = new WeakMap<readonly Table[], ReadonlyMap<string, Table>>();

export function findTable(catalog: Catalog, ref: TableRef): Table | undefined {
  // only a frozen list (every stage hands on frozen data) cannot change under the index
  if (!Object.isFrozen(catalog.tables)) return catalog.tables.find((t) => sameTable(t.ref, ref));
  let byRef = tablesByRef.get(catalog.tables);
  if (!byRef) {
    const map = new Map<string, Table>();
    // the first of a name wins, as a search from the start would find it
    for (const t of catalog.tables) if (!map.has(tableKey(t.ref))) map.set(tableKey(t.ref), t);
    tablesByRef.set(catalog.tables, (byRef = map));
  }
  return byRef.get(tableKey(ref));
}

/** A table's key in maps of tables: its schema and name, unambiguous (unlike a dot, which both may hold). */
export const tableKey = (ref: TableRef): string => JSON.stringify([ref.schema, ref.name]);

/** Deep-freezes a plain value so that stages cannot mutate what they hand on. */
export function freeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  Object.freeze(value);
  // walked without Object.values, whose arrays cost about 10 ms of a plan at a thousand tables
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) freeze(value[i]);
  else for (const key in value) if (Object.hasOwn(value, key)) freeze((value as Record<string, unknown>)[key]);
  return value;
}
