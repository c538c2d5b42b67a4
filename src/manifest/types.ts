import type { FkAction, Severity } from '../schema/types.js';

/**
 * The manifest as a user writes it. When a Kysely-style database type is given
 * (`defineManifest<DB>(...)`, as kysely-codegen generates), table and column
 * names are checked by the compiler; without one, any string is accepted.
 */
export type AnyDB = Record<string, Record<string, unknown>>;

export type TableName<DB> = keyof DB & string;
export type ColumnName<DB, T extends keyof DB> = keyof DB[T] & string;

export interface CheckSpec {
  /**
   * Constraint name, unique within its table. Required on PostgreSQL. On
   * SQLite it may be left out for an unnamed CHECK, known by its expression.
   */
  name?: string;
  /** The boolean SQL expression, as in CHECK ( ... ). */
  expr: string;
  /** Per-dialect replacements for `expr`, where the dialects' SQL differs. */
  dialects?: { postgres?: string; sqlite?: string };
  /** Why it exists, for people; on PostgreSQL also its database comment (docs/manifest.md, Descriptions as comments). */
  description?: string;
  /** `critical` (default) violations make `validate` exit 2; `warning` ones are reported only. */
  severity?: Severity;
  /** PostgreSQL: NO INHERIT, the constraint is not enforced on child tables. */
  noInherit?: boolean;
  /** What an end user is told when a write breaks it (explainViolation); default `description`. */
  message?: string;
  /** The code an API returns for it, e.g. ORDER_TOTAL_NOT_POSITIVE; default derived from `name`. */
  code?: string;
}

/**
 * Where a foreign key points: one member of this union per table of DB, so
 * that `columns` are checked against the table named in `table`.
 */
export type ReferenceSpec<DB> = {
  [R in TableName<DB>]: { table: R; columns: readonly ColumnName<DB, R>[] };
}[TableName<DB>];

// Lists are readonly so that `as const` arrays are accepted; the manifest is never mutated.
/** PostgreSQL 15: `ON DELETE SET NULL (b)`, setting only some of the key's columns. */
export interface DeleteSetColumns<DB, T extends keyof DB> {
  action: 'set null' | 'set default';
  columns: readonly ColumnName<DB, T>[];
}

export interface ForeignKeySpec<DB, T extends keyof DB> {
  /**
   * Constraint name, unique within its table. Required on PostgreSQL. On
   * SQLite it may be left out for an unnamed foreign key, known by its columns and parent.
   */
  name?: string;
  columns: readonly ColumnName<DB, T>[];
  references: ReferenceSpec<DB>;
  onDelete?: FkAction | DeleteSetColumns<DB, T>;
  onUpdate?: FkAction;
  /** MATCH FULL: a key with some columns NULL must have all of them NULL (PostgreSQL). Default `simple`. */
  match?: 'simple' | 'full';
  deferrable?: boolean;
  initiallyDeferred?: boolean;
  description?: string;
  severity?: Severity;
  /** As for checks: what a user is told when a write breaks it. */
  message?: string;
  code?: string;
}

/** Parameters of an operator class or storage: names, and numbers, booleans or plain words as values. */
export type OptionValues = Record<string, number | string | boolean>;

/** How a key part sorts and compares. */
export interface IndexKeyOptions {
  /** Descending order. */
  desc?: boolean;
  /** Where NULLs sort (PostgreSQL); the default is last ascending, first descending. */
  nulls?: 'first' | 'last';
  /** Operator class (PostgreSQL), with parameters: `{ name: 'gist_trgm_ops', params: { siglen: 32 } }`. */
  opclass?: string | { name: string; params?: OptionValues };
  /** Collation: `C`, `POSIX`, `en_US` (PostgreSQL), `NOCASE`, `RTRIM` (SQLite). */
  collate?: string;
}

/** An index key: a column name, an SQL expression, either with sort and compare options. */
export type IndexKeySpec<DB, T extends keyof DB> =
  | ColumnName<DB, T>
  | ({ column: ColumnName<DB, T>; expr?: never } & IndexKeyOptions)
  | ({ expr: string; column?: never } & IndexKeyOptions);

export interface IndexSpec<DB, T extends keyof DB> {
  /** Index name, unique within its schema (PostgreSQL) or database (SQLite). */
  name: string;
  columns: readonly IndexKeySpec<DB, T>[];
  unique?: boolean;
  /** Partial index predicate, as in WHERE ( ... ). */
  where?: string;
  /** Access method (PostgreSQL), default btree. */
  method?: string;
  /** Non-key columns stored in the index (PostgreSQL INCLUDE). */
  include?: readonly ColumnName<DB, T>[];
  /** A unique index where NULLs count as equal (PostgreSQL 15 NULLS NOT DISTINCT). */
  nullsNotDistinct?: boolean;
  /** Storage parameters (PostgreSQL), as in WITH ( ... ): `{ fillfactor: 70 }`. */
  with?: OptionValues;
  /**
   * A UNIQUE constraint rather than a bare unique index (PostgreSQL; `unique`
   * must be true): foreign keys and ON CONFLICT ON CONSTRAINT can name it.
   */
  constraint?: boolean;
  /**
   * The UNIQUE constraint is checked at commit when deferred (PostgreSQL
   * DEFERRABLE; needs `constraint: true`). A foreign key cannot reference it.
   */
  deferrable?: boolean;
  /** Deferred unless SET CONSTRAINTS says otherwise (INITIALLY DEFERRED; implies deferrable). */
  initiallyDeferred?: boolean;
  description?: string;
  severity?: Severity;
  /** As for checks (a unique index is what a write can break). */
  message?: string;
  code?: string;
}

export interface TableSpec<DB, T extends keyof DB> {
  /** PostgreSQL schema; default the manifest's `schema`, else `public`. A key `schema.table` says the same. */
  schema?: string;
  checks?: readonly CheckSpec[];
  foreignKeys?: readonly ForeignKeySpec<DB, T>[];
  indexes?: readonly IndexSpec<DB, T>[];
}

export interface Manifest<DB = AnyDB> {
  /** The JSON Schema, for editors (JSON manifests). */
  $schema?: string;
  version?: 1;
  name?: string;
  /** Default PostgreSQL schema for tables without one (default `public`). */
  schema?: string;
  tables: { [T in TableName<DB>]?: TableSpec<DB, T> };
}

/** The manifest once loaded and checked: table and column names are plain strings. */
export type LoadedManifest = Manifest<AnyDB>;
