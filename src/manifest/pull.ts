import type { Catalog, Check, ForeignKey, Index, IndexKey, OpClass, Table, TableRef } from '../schema/types.js';
import { findTable, qualifiedName } from '../schema/types.js';
import { identifierTooLong } from '../schema/names.js';
import { printable, unprintableIn } from '../schema/printable.js';
import type { CheckSpec, ForeignKeySpec, IndexKeySpec, IndexSpec, LoadedManifest, OptionValues, TableSpec } from './types.js';

/** An object of the database that the manifest has no way to say, and why: pull names each on stderr. */
export interface PullNote {
  /** `public.orders: index ix_orders_excl` */
  readonly object: string;
  readonly reason: string;
  /** true: left out of the manifest; false: written, with a caveat (a NOT VALID constraint). */
  readonly skipped: boolean;
}

export interface PulledManifest {
  readonly manifest: LoadedManifest;
  readonly notes: readonly PullNote[];
}

export interface PullShape {
  /** The tables to write (the catalog may hold more: the parents of their foreign keys). */
  readonly tables: readonly TableRef[];
  /** The dialect's schema for tables without one (public, main): their keys go unqualified. */
  readonly defaultSchema: string;
  readonly hasSchemas: boolean;
  /** The text to write for an expression read from the catalog (Dialect.sourceOf): one that reads back the same. */
  readonly sourceOf: (canonical: string) => string;
}

type AnySpec = TableSpec<Record<string, Record<string, unknown>>, string>;
type FkSpec = ForeignKeySpec<Record<string, Record<string, unknown>>, string>;
type IxSpec = IndexSpec<Record<string, Record<string, unknown>>, string>;
type KeySpec = IndexKeySpec<Record<string, Record<string, unknown>>, string>;

/**
 * The manifest that describes what a catalog holds: every CHECK, foreign key
 * and index of the tables asked, each expression as the database prints it,
 * so that planning it against the same database changes nothing. Tables and
 * objects are ordered by name, so a second pull writes the same text. Primary
 * keys are table structure, not the manifest's; anything else it cannot say
 * is left out and named in the notes, never dropped silently.
 */
export function manifestFromCatalog(catalog: Catalog, shape: PullShape): PulledManifest {
  const notes: PullNote[] = [];
  const keyOf = (ref: TableRef) => (shape.hasSchemas && ref.schema !== shape.defaultSchema ? `${ref.schema}.${ref.name}` : ref.name);
  const tables: Record<string, AnySpec> = {};
  for (const ref of [...shape.tables].sort(byTable)) {
    const table = findTable(catalog, ref);
    if (!table) continue;
    const problem = tableKeyProblem(ref, shape);
    if (problem) {
      notes.push({ object: printable(qualifiedName(ref)), reason: problem, skipped: true });
      continue;
    }
    tables[keyOf(ref)] = tableSpec(table, { keyOf: (r) => (tableKeyProblem(r, shape) === null ? keyOf(r) : null), sourceOf: shape.sourceOf }, notes);
  }
  return { manifest: { version: 1, tables }, notes };
}

/** By schema, then name, in code-unit order: the same on every machine, whatever its locale. */
function byTable(a: TableRef, b: TableRef): number {
  return compare(a.schema, b.schema) || compare(a.name, b.name);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byName<T extends { readonly name: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => compare(a.name, b.name));
}

/** A table key is `table` or `schema.table`: a dot inside a name cannot be written. */
function tableKeyProblem(ref: TableRef, shape: PullShape): string | null {
  const names = shape.hasSchemas ? [ref.schema, ref.name] : [ref.name];
  if (names.some((n) => n.includes('.'))) return 'a name with a dot cannot be a manifest table key (`table` or `schema.table`)';
  return names.map(nameProblem).find((p) => p !== null) ?? null;
}

/** What the manifest's meaning checks refuse in any name (src/manifest/meaning.ts). */
function nameProblem(name: string): string | null {
  const control = unprintableIn(name);
  if (control !== null) return `the name "${printable(name)}" holds a control character (${control}), which manifest names may not`;
  if (identifierTooLong(name)) return `the name "${name}" is over PostgreSQL's 63-byte limit for identifiers, which manifest names keep to`;
  return null;
}

interface Writer {
  /** The manifest key of a table, or null where none can hold its name. */
  readonly keyOf: (ref: TableRef) => string | null;
  readonly sourceOf: (canonical: string) => string;
}

function tableSpec(table: Table, { keyOf, sourceOf }: Writer, notes: PullNote[]): AnySpec {
  const note = (kind: string, name: string, reason: string, skipped: boolean) =>
    notes.push({ object: `${printable(qualifiedName(table.ref))}: ${kind} ${printable(name)}`, reason, skipped });
  const checks: CheckSpec[] = [];
  for (const c of unique(byName(table.checks))) {
    const problem = checkProblem(c);
    if (problem) note('check', c.name, problem, true);
    else checks.push(checkSpec(c, sourceOf));
    if (!problem && !c.validated) note('check', c.name, NOT_VALID, false);
  }
  const foreignKeys: FkSpec[] = [];
  for (const fk of byName(table.foreignKeys)) {
    const refKey = keyOf(fk.refTable);
    const problem = refKey === null ? `its parent ${printable(qualifiedName(fk.refTable))} has a name no manifest key can hold` : foreignKeyProblem(fk);
    if (problem !== null || refKey === null) note('foreign key', fk.name, problem ?? '', true);
    else foreignKeys.push(foreignKeySpec(fk, refKey));
    if (!problem && !fk.validated) note('foreign key', fk.name, NOT_VALID, false);
  }
  const indexes: IxSpec[] = [];
  for (const ix of byName(table.indexes)) {
    if (isPrimaryKeyIndex(ix, table)) continue;
    const problem = indexProblem(ix);
    if (problem) note('index', ix.name, problem, true);
    else indexes.push(indexSpec(ix, sourceOf));
  }
  return {
    ...(checks.length ? { checks } : {}),
    ...(foreignKeys.length ? { foreignKeys } : {}),
    ...(indexes.length ? { indexes } : {}),
  };
}

const NOT_VALID =
  'is NOT VALID in the database (old rows unchecked); the manifest asks for every constraint validated, so plan will validate it';

/** SQLite may hold the same unnamed CHECK twice (`CHECK (x) #2`): the manifest says it once. */
function unique(checks: readonly Check[]): Check[] {
  return checks.filter((c) => !(c.unnamed && / #\d+$/.test(c.name) && checks.some((d) => d.unnamed && d.name === c.name.replace(/ #\d+$/, ''))));
}

function checkProblem(c: Check): string | null {
  return c.unnamed ? null : nameProblem(c.name);
}

function checkSpec(c: Check, sourceOf: Writer['sourceOf']): CheckSpec {
  return {
    ...(c.unnamed ? {} : { name: c.name }),
    expr: sourceOf(c.expr),
    ...(c.noInherit ? { noInherit: true } : {}),
    ...descriptionOf(c),
  };
}

function foreignKeyProblem(fk: ForeignKey): string | null {
  if (fk.match === 'partial') return 'MATCH PARTIAL has no manifest form';
  if (fk.refColumns.length === 0) return 'its parent has no primary key to name the referenced columns by';
  const names = [...(fk.unnamed ? [] : [fk.name]), ...fk.columns, ...fk.refColumns, ...(fk.onDeleteColumns ?? [])];
  return names.map(nameProblem).find((p) => p !== null) ?? null;
}

function foreignKeySpec(fk: ForeignKey, refKey: string): FkSpec {
  const setColumns = fk.onDeleteColumns ?? [];
  const onDelete =
    setColumns.length > 0 && (fk.onDelete === 'set null' || fk.onDelete === 'set default')
      ? { onDelete: { action: fk.onDelete, columns: [...setColumns] } }
      : fk.onDelete !== 'no action'
        ? { onDelete: fk.onDelete }
        : {};
  return {
    ...(fk.unnamed ? {} : { name: fk.name }),
    columns: [...fk.columns],
    references: { table: refKey, columns: [...fk.refColumns] },
    ...onDelete,
    ...(fk.onUpdate !== 'no action' ? { onUpdate: fk.onUpdate } : {}),
    ...(fk.match === 'full' ? { match: 'full' as const } : {}),
    ...(fk.deferrable ? { deferrable: true } : {}),
    ...(fk.initiallyDeferred ? { initiallyDeferred: true } : {}),
    ...descriptionOf(fk),
  };
}

/**
 * A primary key's index is table structure (out of the manifest's scope);
 * other constraint-backed indexes that are no UNIQUE constraint's (EXCLUDE)
 * are reported by indexProblem.
 */
function isPrimaryKeyIndex(ix: Index, table: Table): boolean {
  return (
    ix.constraintBacked &&
    !ix.uniqueConstraint &&
    ix.unique &&
    table.primaryKey.length > 0 &&
    ix.keys.length === table.primaryKey.length &&
    ix.keys.every((k, i) => 'column' in k && k.column === table.primaryKey[i])
  );
}

// the manifest's own patterns (json-schema.ts): these reach SQL unquoted by nature, so the manifest keeps them plain words
const OPCLASS = /^[a-z_][a-z0-9_]*$/;
const COLLATION = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/;
const OPTION_NAME = /^[a-z_][a-z0-9_]*$/;
const OPTION_VALUE = /^[A-Za-z0-9_.+-]+$/;

function indexProblem(ix: Index): string | null {
  if (ix.constraintBacked && !ix.uniqueConstraint) return 'it belongs to a constraint the manifest cannot express (an EXCLUDE constraint)';
  if (!ix.valid) return 'it is INVALID (left by a failed CREATE INDEX CONCURRENTLY): drop or rebuild it, then pull again';
  for (const k of ix.keys) {
    // an operator class is compared lower case (resolve folds it): an upper-case one would never match
    if (k.opclass && !OPCLASS.test(k.opclass.name)) return `its operator class "${printable(k.opclass.name)}" is not a plain lower-case name`;
    if (k.opclass?.params && !plainOptions(k.opclass.params)) return `the parameters of operator class ${k.opclass.name} are not plain words`;
    if (k.collate !== undefined && !COLLATION.test(k.collate)) return `its collation "${printable(k.collate)}" is not a plain name`;
  }
  if (ix.with && !plainOptions(ix.with)) return 'its storage parameters are not plain words';
  const names = [ix.name, ...ix.keys.flatMap((k) => ('column' in k ? [k.column] : [])), ...(ix.include ?? [])];
  return names.map(nameProblem).find((p) => p !== null) ?? null;
}

function plainOptions(options: Readonly<Record<string, string>>): boolean {
  return Object.entries(options).every(([k, v]) => OPTION_NAME.test(k) && OPTION_VALUE.test(v));
}

function indexSpec(ix: Index, sourceOf: Writer['sourceOf']): IxSpec {
  return {
    name: ix.name,
    columns: ix.keys.map((k) => keySpec(k, sourceOf)),
    ...(ix.unique ? { unique: true } : {}),
    ...(ix.where !== null ? { where: sourceOf(ix.where) } : {}),
    ...(ix.method !== 'btree' ? { method: ix.method } : {}),
    ...(ix.include?.length ? { include: [...ix.include] } : {}),
    ...(ix.nullsNotDistinct ? { nullsNotDistinct: true } : {}),
    ...(ix.with && Object.keys(ix.with).length ? { with: optionValues(ix.with) } : {}),
    // a name the database gives (SQLite's autoindex of a table's UNIQUE) is the constraint already: a unique index describes it
    ...(ix.uniqueConstraint && !ix.fixedName ? { constraint: true } : {}),
    ...(ix.uniqueConstraint && ix.deferrable ? { deferrable: true } : {}),
    ...(ix.uniqueConstraint && ix.initiallyDeferred ? { initiallyDeferred: true } : {}),
    ...descriptionOf(ix),
  };
}

/** A plain column is written as its name; anything else as an object, with only the options that differ from the default. */
function keySpec(k: IndexKey, sourceOf: Writer['sourceOf']): KeySpec {
  const options = {
    ...(k.desc ? { desc: true } : {}),
    ...(k.nulls ? { nulls: k.nulls } : {}),
    ...(k.opclass ? { opclass: opclassSpec(k.opclass) } : {}),
    ...(k.collate !== undefined ? { collate: k.collate } : {}),
  };
  if ('column' in k) return Object.keys(options).length === 0 ? k.column : { column: k.column, ...options };
  return { expr: sourceOf(k.expr), ...options };
}

function opclassSpec(o: OpClass): string | { name: string; params: OptionValues } {
  return o.params && Object.keys(o.params).length ? { name: o.name, params: optionValues(o.params) } : o.name;
}

/**
 * Values as the catalog prints them (`70`, `on`), written as numbers or
 * booleans where they print back the same: the manifest compares them as text.
 */
function optionValues(options: Readonly<Record<string, string>>): OptionValues {
  return Object.fromEntries(
    Object.keys(options)
      .sort(compare)
      .map((k) => {
        const v = options[k];
        const asNumber = Number(v);
        if (v !== '' && String(asNumber) === v) return [k, asNumber];
        if (v === 'true' || v === 'false') return [k, v === 'true'];
        return [k, v];
      }),
  );
}

/** The object's description (COMMENT ON), where the catalog reads one. */
function descriptionOf(o: Check | ForeignKey | Index): { description?: string } {
  const description = (o as { readonly description?: unknown }).description;
  return typeof description === 'string' && description !== '' ? { description } : {};
}
