import { sql, type Kysely } from 'kysely';
import type {
  Catalog,
  Check,
  Column,
  FkAction,
  ForeignKey,
  Index,
  IndexKey,
  IndexKeyOptions,
  ReferencingKey,
  Relation,
  Table,
  TableRef,
} from '../../schema/types.js';
import { freeze, tableKey } from '../../schema/types.js';
import { SchemaDiffError } from '../../errors.js';

/**
 * Reads the catalog for a set of tables: one query per kind of object for all
 * tables together, so a catalog of a thousand tables costs six round trips.
 * Table sets are joined as unnest(array), not `= any(array)`: with a thousand
 * oids the latter compares every catalog row against the whole array.
 */
export async function introspectPostgres(
  db: Kysely<unknown>,
  refs: readonly TableRef[],
  second?: Kysely<unknown>,
  /** Another read that needs only the table names, run with the foreign keys' (on the second connection, where there is one). */
  beside?: (on: Kysely<unknown>) => Promise<unknown>,
): Promise<Catalog> {
  const tables = await introspectTables(db, refs);
  const oids = tables.map((t) => t.oid);
  const schemas = [...new Set(refs.map((r) => r.schema))];
  // With a second connection, the foreign keys, the keys pointing at the tables and the relation names are read
  // there while this one reads the CHECKs and the indexes: the catalog is server CPU, and a second backend uses a
  // second core. The split is by what deparses: pg_get_constraintdef, pg_get_expr and pg_get_indexdef open each
  // table, and a new backend builds its cache entry for every one of them first; on one backend that is paid once
  // (at 1,000 tables reading all introspection took 430 ms against 490 ms when both backends deparsed).
  const deparsed = (on: Kysely<unknown>) => Promise.all([introspectChecks(on, oids), introspectIndexes(on, oids)]);
  const plain = (on: Kysely<unknown>) =>
    Promise.all([introspectForeignKeys(on, oids), introspectReferencingKeys(on, oids), introspectRelations(on, schemas), beside?.(on)]);
  const split = second !== undefined && refs.length >= TWO_CONNECTIONS_FROM;
  const [[checks, indexes], [foreignKeys, referencing, relations]] = await Promise.all([
    deparsed(db),
    split ? readOnlyWithoutJit(second, plain) : plain(db),
  ]);
  const checksOf = byTable(checks, (c) => c.table);
  const foreignKeysOf = byTable(foreignKeys, (f) => f.table);
  const indexesOf = byTable(indexes, (i) => i.table);
  const referencingOf = byTable(referencing, (k) => k.parent);
  const result: Table[] = tables.map((t) => ({
    ref: t.ref,
    columns: t.columns,
    primaryKey: t.primaryKey,
    rowEstimate: t.rowEstimate,
    checks: checksOf(t.ref),
    foreignKeys: foreignKeysOf(t.ref),
    indexes: indexesOf(t.ref),
    referencedBy: referencingOf(t.ref).map(({ parent: _, ...k }) => k),
  }));
  return freeze({ dialect: 'postgres', tables: result, relations });
}

/** Catalog columns that only newer servers have (PostgreSQL 15): read directly where they exist. */
interface CatalogColumns {
  readonly nullsNotDistinct: boolean;
  readonly deleteSetColumns: boolean;
}

const catalogColumnsOf = new WeakMap<object, Promise<CatalogColumns>>();

/**
 * Which of those columns this server has, asked once per connection handle.
 * Reading them through to_jsonb(row) instead, which works on every version,
 * cost a third of the index read at a thousand tables (it copies the whole
 * row, expression trees and all, into a jsonb per index).
 */
function catalogColumns(db: Kysely<unknown>): Promise<CatalogColumns> {
  let known = catalogColumnsOf.get(db);
  if (!known) {
    known = sql<{ nnd: boolean; setcols: boolean }>`
      select exists (select 1 from pg_attribute where attrelid = 'pg_catalog.pg_index'::regclass and attname = 'indnullsnotdistinct') as nnd,
             exists (select 1 from pg_attribute where attrelid = 'pg_catalog.pg_constraint'::regclass and attname = 'confdelsetcols') as setcols`
      .execute(db)
      .then(({ rows }) => ({ nullsNotDistinct: rows[0].nnd, deleteSetColumns: rows[0].setcols }));
    catalogColumnsOf.set(db, known);
    // a failed read is not remembered: the next call asks again
    known.catch(() => catalogColumnsOf.delete(db));
  }
  return known;
}

/**
 * From this many tables on, a second connection pays for itself (at 1,000
 * tables it saves 200 ms); below, opening it costs more than it saves, and a
 * small plan should not hold two of a busy server's connections.
 */
const TWO_CONNECTIONS_FROM = 50;

/**
 * Reads on a connection of the read pool, in one read-only transaction with
 * JIT off (the session connection has it off from its start: these catalog
 * queries look costly enough to the planner to be compiled, which takes
 * longer than running them).
 */
async function readOnlyWithoutJit<T>(db: Kysely<unknown>, body: (trx: Kysely<unknown>) => Promise<T>): Promise<T> {
  return db
    .transaction()
    .setAccessMode('read only')
    .execute(async (trx) => {
      await sql`SET LOCAL jit = off`.execute(trx);
      return body(trx);
    });
}

/** Rows grouped by their table once: filtering the whole list per table costs tables × rows at a thousand tables. */
function byTable<T>(rows: readonly T[], tableOf: (row: T) => TableRef): (ref: TableRef) => T[] {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const key = tableKey(tableOf(row));
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return (ref) => groups.get(tableKey(ref)) ?? [];
}


interface TableRow {
  oid: number;
  schema: string;
  name: string;
  estimate: number;
  columns: Column[] | null;
  pk: string[] | null;
}

async function introspectTables(db: Kysely<unknown>, refs: readonly TableRef[]) {
  const schemas = refs.map((r) => r.schema);
  const names = refs.map((r) => r.name);
  const { rows } = await sql<TableRow>`
    select c.oid::int as oid, n.nspname as schema, c.relname as name,
           greatest(c.reltuples, -1)::float8 as estimate,
           (select json_agg(json_build_object(
                      'name', a.attname,
                      'type', format_type(a.atttypid, a.atttypmod),
                      'nullable', not a.attnotnull) order by a.attnum)
              from pg_attribute a
             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns,
           (select json_agg(a.attname order by k.ord)
              from pg_index i
             cross join unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
              join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
             where i.indrelid = c.oid and i.indisprimary) as pk
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join unnest(${schemas}::text[], ${names}::text[]) as wanted(schema, name)
        on wanted.schema = n.nspname and wanted.name = c.relname
     where c.relkind in ('r', 'p')`.execute(db);
  return rows.map((r) => ({
    oid: r.oid,
    ref: { schema: r.schema, name: r.name },
    columns: r.columns ?? [],
    primaryKey: r.pk ?? [],
    rowEstimate: Math.round(r.estimate),
  }));
}

interface CheckRow {
  schema: string;
  table: string;
  name: string;
  def: string;
  validated: boolean;
  no_inherit: boolean;
  description: string | null;
}

async function introspectChecks(db: Kysely<unknown>, oids: readonly number[]): Promise<Check[]> {
  const { rows } = await sql<CheckRow>`
    select n.nspname as schema, c.relname as table, con.conname as name,
           pg_get_constraintdef(con.oid) as def, con.convalidated as validated, con.connoinherit as no_inherit,
           d.description
      from pg_constraint con
      join pg_class c on c.oid = con.conrelid
      join pg_namespace n on n.oid = c.relnamespace
      join unnest(${[...oids]}::oid[]) as wanted(oid) on wanted.oid = con.conrelid
      left join pg_description d on d.objoid = con.oid and d.classoid = 'pg_constraint'::regclass and d.objsubid = 0
     where con.contype = 'c'
     order by n.nspname, c.relname, con.conname`.execute(db);
  return rows.map((r) => ({
    name: r.name,
    table: { schema: r.schema, name: r.table },
    expr: checkExpression(r.def),
    validated: r.validated,
    ...(r.no_inherit ? { noInherit: true } : {}),
    ...described(r.description),
  }));
}

/** `CHECK ((a > 0)) NOT VALID` → `(a > 0)`: the expression as CHECK ( ) holds it. */
export function checkExpression(def: string): string {
  const body = def.replace(/\s+NOT VALID$/, '').replace(/\s+NO INHERIT$/, '');
  const m = /^CHECK \((.*)\)$/s.exec(body);
  return m ? m[1] : body;
}

interface ForeignKeyRow {
  schema: string;
  table: string;
  name: string;
  columns: string[];
  ref_schema: string;
  ref_table: string;
  ref_columns: string[];
  on_delete: string;
  on_update: string;
  deferrable: boolean;
  deferred: boolean;
  match: string;
  validated: boolean;
  on_delete_columns: string[];
  description: string | null;
}

const ACTIONS: Record<string, FkAction> = {
  a: 'no action',
  r: 'restrict',
  c: 'cascade',
  n: 'set null',
  d: 'set default',
};
const MATCHES: Record<string, ForeignKey['match']> = { s: 'simple', f: 'full', p: 'partial' };

/**
 * A foreign key's columns and its parent's, in key order, as names: shared by both FK reads below. Read as
 * JSON, which the driver hands to JSON.parse, rather than as text[], which it parses character by character
 * in JavaScript (about 25 ms of a plan at 2,000 foreign keys).
 */
const FK_COLUMNS = sql.raw(`array_to_json(array(select a.attname::text from unnest(con.conkey) with ordinality k(attnum, ord)
                   join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum
                  order by k.ord)) as columns,
           rn.nspname as ref_schema, rc.relname as ref_table,
           array_to_json(array(select a.attname::text from unnest(con.confkey) with ordinality k(attnum, ord)
                   join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum
                  order by k.ord)) as ref_columns`);

async function introspectForeignKeys(db: Kysely<unknown>, oids: readonly number[]): Promise<ForeignKey[]> {
  // PostgreSQL 15's ON DELETE SET NULL (b): older servers have no such column, and read none
  const setColumns = sql.raw((await catalogColumns(db)).deleteSetColumns ? `coalesce(con.confdelsetcols, '{}')` : `'{}'::int2[]`);
  const { rows } = await sql<ForeignKeyRow>`
    select n.nspname as schema, c.relname as table, con.conname as name,
           ${FK_COLUMNS},
           con.confdeltype as on_delete, con.confupdtype as on_update,
           con.condeferrable as deferrable, con.condeferred as deferred,
           con.confmatchtype as match, con.convalidated as validated,
           array_to_json(array(select a.attname::text
                   from unnest(${setColumns}) with ordinality d(attnum, ord)
                   join pg_attribute a on a.attrelid = con.conrelid and a.attnum = d.attnum
                  order by d.ord)) as on_delete_columns,
           com.description
      from pg_constraint con
      join pg_class c on c.oid = con.conrelid
      join pg_namespace n on n.oid = c.relnamespace
      join pg_class rc on rc.oid = con.confrelid
      join pg_namespace rn on rn.oid = rc.relnamespace
      join unnest(${[...oids]}::oid[]) as wanted(oid) on wanted.oid = con.conrelid
      left join pg_description com on com.objoid = con.oid and com.classoid = 'pg_constraint'::regclass and com.objsubid = 0
     where con.contype = 'f'
     order by n.nspname, c.relname, con.conname`.execute(db);
  return rows.map((r) => ({
    name: r.name,
    table: { schema: r.schema, name: r.table },
    columns: r.columns,
    refTable: { schema: r.ref_schema, name: r.ref_table },
    refColumns: r.ref_columns,
    onDelete: ACTIONS[r.on_delete] ?? 'no action',
    onUpdate: ACTIONS[r.on_update] ?? 'no action',
    deferrable: r.deferrable,
    initiallyDeferred: r.deferred,
    match: MATCHES[r.match] ?? 'simple',
    validated: r.validated,
    ...(r.on_delete_columns.length ? { onDeleteColumns: r.on_delete_columns } : {}),
    ...described(r.description),
  }));
}

interface ReferencingRow {
  name: string;
  schema: string;
  table: string;
  columns: string[];
  ref_schema: string;
  ref_table: string;
  ref_columns: string[];
  ref_index: string | null;
}

/**
 * Foreign keys of every table in the database that point at these tables,
 * with the unique index each is bound to: PostgreSQL records that index as a
 * dependency (conindid), so it cannot be dropped while the key exists.
 */
async function introspectReferencingKeys(db: Kysely<unknown>, oids: readonly number[]) {
  const { rows } = await sql<ReferencingRow>`
    select con.conname as name, n.nspname as schema, c.relname as table,
           ${FK_COLUMNS},
           ic.relname as ref_index
      from pg_constraint con
      join unnest(${[...oids]}::oid[]) as wanted(oid) on wanted.oid = con.confrelid
      join pg_class c on c.oid = con.conrelid
      join pg_namespace n on n.oid = c.relnamespace
      join pg_class rc on rc.oid = con.confrelid
      join pg_namespace rn on rn.oid = rc.relnamespace
      left join pg_class ic on ic.oid = con.conindid
     where con.contype = 'f'
     order by n.nspname, c.relname, con.conname`.execute(db);
  return rows.map((r): ReferencingKey & { parent: TableRef } => ({
    name: r.name,
    table: { schema: r.schema, name: r.table },
    columns: r.columns,
    refColumns: r.ref_columns,
    refIndex: r.ref_index,
    parent: { schema: r.ref_schema, name: r.ref_table },
  }));
}

const RELATION_KINDS: Record<string, Relation['kind']> = { r: 'table', p: 'table', i: 'index', I: 'index', S: 'sequence', v: 'view', m: 'view' };

/** Every pg_class name of the schemas (index names share the namespace of tables, sequences, views, types). */
async function introspectRelations(db: Kysely<unknown>, schemas: readonly string[]): Promise<Relation[]> {
  const { rows } = await sql<{ schema: string; name: string; kind: string; table_schema: string | null; table_name: string | null }>`
    select n.nspname as schema, c.relname as name, c.relkind::text as kind,
           tn.nspname as table_schema, t.relname as table_name
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join unnest(${[...schemas]}::text[]) as wanted(schema) on wanted.schema = n.nspname
      left join pg_index i on i.indexrelid = c.oid
      left join pg_class t on t.oid = i.indrelid
      left join pg_namespace tn on tn.oid = t.relnamespace
     order by n.nspname, c.relname`.execute(db);
  return rows.map((r) => ({
    schema: r.schema,
    name: r.name,
    kind: RELATION_KINDS[r.kind] ?? 'other',
    table: r.table_schema !== null && r.table_name !== null ? { schema: r.table_schema, name: r.table_name } : null,
  }));
}

interface IndexRow {
  oid: string;
  schema: string;
  table: string;
  name: string;
  unique: boolean;
  valid: boolean;
  method: string;
  backed: boolean;
  predicate: string | null;
  key_count: number;
  column_count: number;
  unique_constraint: boolean;
  deferrable: boolean;
  initially_deferred: boolean;
  nulls_not_distinct: boolean;
  reloptions: string[] | null;
  description: string | null;
}

/** One key or INCLUDE column of an index (at `pos`, from 0), with the options that differ from its defaults. */
interface IndexKeyRow extends KeyOptionRow {
  oid: string;
  column: string | null;
  expr: string | null;
}

interface KeyOptionRow {
  desc: boolean;
  nulls_first: boolean;
  collate: string | null;
  opclass: string | null;
  params: string[] | null;
}

/**
 * Index rows for a set of table oids. Used for live tables and for normalize's scratch tables alike.
 * Two queries: one row per index, then one per key of every index, matched up here. One query with a
 * subquery per index for its keys took three times as long at 3,000 indexes (each subquery's start
 * paid per index). Outside a transaction the two may see the catalog at different moments (an index
 * dropped, or swapped by REINDEX CONCURRENTLY, in between): an index whose columns do not all come back
 * is read again, both queries, a few times before giving up.
 */
export async function introspectIndexes(db: Kysely<unknown>, oids: readonly number[]): Promise<Index[]> {
  for (let attempt = 1; ; attempt++) {
    const indexes = await readIndexes(db, oids);
    if (indexes !== null) return indexes;
    if (attempt >= 3) throw new SchemaDiffError('execution', 'the indexes of the tables kept changing while they were read; run the command again');
  }
}

/** The indexes, or null when the two reads do not agree (an index changed between them). */
async function readIndexes(db: Kysely<unknown>, oids: readonly number[]): Promise<Index[] | null> {
  // PostgreSQL 15; older servers have no such column, and read false
  const nullsNotDistinct = sql.raw((await catalogColumns(db)).nullsNotDistinct ? 'i.indnullsnotdistinct' : 'false');
  const { rows } = await sql<IndexRow>`
    select i.indexrelid::text as oid, n.nspname as schema, c.relname as table, ic.relname as name,
           i.indisunique as unique, (i.indisvalid and i.indisready) as valid, am.amname as method,
           owner.oid is not null as backed,
           pg_get_expr(i.indpred, i.indrelid) as predicate,
           i.indnkeyatts::int as key_count, i.indnatts::int as column_count,
           coalesce(owner.contype = 'u', false) as unique_constraint,
           coalesce(owner.contype = 'u' and owner.condeferrable, false) as deferrable,
           coalesce(owner.contype = 'u' and owner.condeferred, false) as initially_deferred,
           -- a UNIQUE constraint's comment is the constraint's (COMMENT ON CONSTRAINT), any other index's its own
           case when owner.contype = 'u' then owner_comment.description else index_comment.description end as description,
           ${nullsNotDistinct} as nulls_not_distinct,
           ic.reloptions
      from pg_index i
      join pg_class ic on ic.oid = i.indexrelid
      join pg_class c on c.oid = i.indrelid
      join pg_namespace n on n.oid = c.relnamespace
      join pg_am am on am.oid = ic.relam
      join unnest(${[...oids]}::oid[]) as wanted(oid) on wanted.oid = i.indrelid
      -- the primary key, UNIQUE or exclusion constraint the index backs (at most one), joined once: a subquery
      -- per index would scan pg_constraint, which has no index on conindid, once per index
      left join pg_constraint owner on owner.conindid = i.indexrelid and owner.conrelid = i.indrelid and owner.contype in ('p', 'u', 'x')
      left join pg_description owner_comment
        on owner_comment.objoid = owner.oid and owner_comment.classoid = 'pg_constraint'::regclass and owner_comment.objsubid = 0
      left join pg_description index_comment
        on index_comment.objoid = i.indexrelid and index_comment.classoid = 'pg_class'::regclass and index_comment.objsubid = 0
     order by n.nspname, c.relname, ic.relname`.execute(db);
  const { rows: keyRows } = await sql<IndexKeyRow>`
    select i.indexrelid::text as oid,
           -- a column key (or INCLUDE column) by its name; an expression key's text, which pg_get_indexdef
           -- prints only for the key asked (a column key need not pay for it)
           a.attname::text as column,
           case when i.indkey[k.pos] = 0 then pg_get_indexdef(i.indexrelid, k.pos + 1, false) end as expr,
           -- sort bits (indoption 1 = DESC, 2 = NULLS FIRST); a collation other than the column's (or, for an
           -- expression, its type's); an operator class that is not its type's default, or that has parameters
           -- (tsvector_ops (siglen = 16) is the default one: without its name its parameters would be lost).
           -- An INCLUDE column has no entry in indoption, indcollation or indclass: it reads none.
           coalesce((i.indoption[k.pos] & 1) <> 0, false) as desc,
           coalesce((i.indoption[k.pos] & 2) <> 0, false) as nulls_first,
           case when i.indcollation[k.pos] <> 0
                 and i.indcollation[k.pos] <> coalesce(a.attcollation, ty.typcollation) then coll.collname end as collate,
           case when k.pos < i.indnkeyatts and (not opc.opcdefault or ia.attoptions is not null) then opc.opcname end as opclass,
           case when k.pos < i.indnkeyatts then ia.attoptions end as params
      from pg_index i
      join unnest(${[...oids]}::oid[]) as wanted(oid) on wanted.oid = i.indrelid
     cross join lateral generate_series(0, i.indnatts - 1) as k(pos)
      join pg_attribute ia on ia.attrelid = i.indexrelid and ia.attnum = k.pos + 1
      left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[k.pos] and i.indkey[k.pos] <> 0
      left join pg_type ty on ty.oid = ia.atttypid
      left join pg_collation coll on coll.oid = i.indcollation[k.pos]
      left join pg_opclass opc on opc.oid = i.indclass[k.pos]
     order by i.indexrelid, k.pos`.execute(db);
  const keysOf = new Map<string, IndexKeyRow[]>();
  for (const k of keyRows) {
    const list = keysOf.get(k.oid);
    if (list) list.push(k);
    else keysOf.set(k.oid, [k]);
  }
  if (rows.some((r) => (keysOf.get(r.oid)?.length ?? 0) !== r.column_count)) return null;
  return rows.map((r) => {
    const columns = keysOf.get(r.oid) ?? [];
    const include = columns.slice(r.key_count).map((k) => k.column as string);
    return {
      name: r.name,
      table: { schema: r.schema, name: r.table },
      keys: columns.slice(0, r.key_count).map(
        (k): IndexKey => ({
          ...(k.column !== null ? { column: k.column } : { expr: k.expr as string }),
          ...keyOptions(k),
        }),
      ),
      unique: r.unique,
      where: r.predicate,
      method: r.method,
      valid: r.valid,
      constraintBacked: r.backed,
      ...(r.unique_constraint ? { uniqueConstraint: true } : {}),
      ...(r.deferrable ? { deferrable: true } : {}),
      ...(r.initially_deferred ? { initiallyDeferred: true } : {}),
      ...(include.length ? { include } : {}),
      ...(r.nulls_not_distinct ? { nullsNotDistinct: true } : {}),
      ...(r.reloptions?.length ? { with: optionRecord(r.reloptions) } : {}),
      ...described(r.description),
    };
  });
}

/** A comment as the catalog holds it: absent when there is none. */
function described(description: string | null): { description?: string } {
  return description === null ? {} : { description };
}

/** A key's options in canonical form: only what differs from the default (NULLS FIRST is DESC's default, LAST ASC's). */
function keyOptions(o: KeyOptionRow | undefined): IndexKeyOptions {
  if (!o) return {};
  const nulls = o.nulls_first !== o.desc ? (o.nulls_first ? 'first' : 'last') : undefined;
  return {
    ...(o.desc ? { desc: true } : {}),
    ...(nulls ? { nulls } : {}),
    ...(o.collate !== null ? { collate: o.collate } : {}),
    ...(o.opclass !== null ? { opclass: { name: o.opclass, ...(o.params?.length ? { params: optionRecord(o.params) } : {}) } } : {}),
  };
}

/** `{fillfactor=70}` as the catalog stores options → { fillfactor: '70' }. */
function optionRecord(options: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    options.map((o) => {
      const eq = o.indexOf('=');
      return eq < 0 ? [o, ''] : [o.slice(0, eq), o.slice(eq + 1)];
    }),
  );
}
