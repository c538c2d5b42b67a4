import { sql, type Kysely } from 'kysely';
import type { Catalog, DesiredTable, TableRef } from '../../schema/types.js';
import { ensureHistory } from './history.js';
import { indexProbe, liveTable, liveTables, normalizedIndexFields, tableShape } from './normal-form.js';

export type CacheKind = 'check' | 'index';

/** One expression as apply last saw it: the manifest's text and what the database made of it. */
export interface CacheEntry {
  /** The manifest's text (a CHECK), or the statement that normalizes an index (indexProbe). */
  readonly source: string;
  /** tableShape of the table it was parsed against. */
  readonly shape: string;
  /** The canonical form: a CHECK's expression, or an index's normalized fields as JSON. */
  readonly canonical: string;
}

export type NormalizeCache = ReadonlyMap<string, CacheEntry>;

export function cacheKey(table: TableRef, kind: CacheKind, name: string): string {
  return JSON.stringify([table.schema, table.name, kind, name]);
}

interface CacheAccess {
  /** The cache table's owner is the current user or a superuser: its rows count for every table. */
  readonly ownerTrusted: boolean;
  readonly owner: number;
}

/**
 * The cache rows for these tables (those that exist), or none. The cache is a journal
 * table, so its rows are not trusted (docs/security.md): a row can only skip
 * normalization (normalize.ts uses it only where the manifest's text and the
 * catalog's canonical form both match it exactly), and it is read only when
 * whoever could have written it could as well have altered the table itself:
 * the cache table is owned by the current user, a superuser, or the table's
 * owner, and no other role may write it. Anything else: an empty cache, so
 * everything is normalized. Reading only: plan never writes it.
 */
export async function readNormalizeCache(db: Kysely<unknown>, refs: readonly TableRef[]): Promise<NormalizeCache> {
  const cache = new Map<string, CacheEntry>();
  if (refs.length === 0) return cache;
  const access = await cacheAccess(db);
  if (!access) return cache;
  const { rows } = await sql<{ table_schema: string; table_name: string; kind: string; name: string; shape: string; source: string; canonical: string }>`
    select e.table_schema, e.table_name, e.kind, e.name, e.shape, e.source, e.canonical
      from schema_diff.normalized e
      join unnest(${refs.map((r) => r.schema)}::text[], ${refs.map((r) => r.name)}::text[]) as wanted(schema, name)
        on wanted.schema = e.table_schema and wanted.name = e.table_name
      join pg_namespace n on n.nspname = e.table_schema
      join pg_class t on t.relnamespace = n.oid and t.relname = e.table_name and t.relkind in ('r', 'p')
     where ${access.ownerTrusted}::boolean or t.relowner = ${access.owner}::oid`.execute(db);
  for (const r of rows) {
    if (r.kind !== 'check' && r.kind !== 'index') continue;
    cache.set(cacheKey({ schema: r.table_schema, name: r.table_name }, r.kind, r.name), {
      source: r.source,
      shape: r.shape,
      canonical: r.canonical,
    });
  }
  return cache;
}

async function cacheAccess(db: Kysely<unknown>): Promise<CacheAccess | null> {
  const { rows } = await sql<{ owner: number; owner_trusted: boolean; readable: boolean; others_write: boolean }>`
    with me as (select oid, rolsuper from pg_roles where rolname = current_user),
         supers as (select oid from pg_roles where rolsuper)
    select c.relowner::int as owner,
           (c.relowner = me.oid or c.relowner in (select oid from supers)) as owner_trusted,
           (has_schema_privilege(n.oid, 'USAGE') and has_table_privilege(c.oid, 'SELECT')) as readable,
           (exists (select 1 from aclexplode(c.relacl) a
                     where a.privilege_type in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
                       and a.grantee <> c.relowner and a.grantee not in (select oid from supers))
            or exists (select 1 from pg_attribute att, aclexplode(att.attacl) a
                        where att.attrelid = c.oid and a.privilege_type in ('INSERT', 'UPDATE')
                          and a.grantee <> c.relowner and a.grantee not in (select oid from supers))) as others_write
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace, me
     where n.nspname = 'schema_diff' and c.relname = 'normalized' and c.relkind = 'r'`.execute(db);
  const r = rows[0];
  if (!r || !r.readable || r.others_write) return null;
  return { ownerTrusted: r.owner_trusted, owner: r.owner };
}

/**
 * Apply records, for every expression of the manifest on a table the catalog
 * has, its text and the canonical form normalization found (which the
 * database now stores): the next plan needs no round trip for it. Rows that
 * are already right are not written again.
 */
export async function recordNormalized(db: Kysely<unknown>, desired: readonly DesiredTable[], catalog: Catalog): Promise<void> {
  const live = liveTables(catalog.tables);
  const rows: [string, string, CacheKind, string, string, string, string][] = [];
  for (const table of desired) {
    const t = liveTable(live, table.ref);
    if (!t) continue;
    const shape = tableShape(t);
    const { schema, name } = table.ref;
    for (const c of table.checks) rows.push([schema, name, 'check', c.name, shape, c.source, c.expr]);
    for (const ix of table.indexes) rows.push([schema, name, 'index', ix.name, shape, indexProbe(ix), JSON.stringify(normalizedIndexFields(ix))]);
  }
  if (rows.length === 0) return;
  await ensureHistory(db);
  const column = (k: number) => rows.map((r) => r[k]);
  await sql`
    insert into schema_diff.normalized as e (table_schema, table_name, kind, name, shape, source, canonical)
    select * from unnest(${column(0)}::text[], ${column(1)}::text[], ${column(2)}::text[], ${column(3)}::text[],
                         ${column(4)}::text[], ${column(5)}::text[], ${column(6)}::text[])
    on conflict (table_schema, table_name, kind, name) do update
       set shape = excluded.shape, source = excluded.source, canonical = excluded.canonical, recorded_at = now()
     where (e.shape, e.source, e.canonical) is distinct from (excluded.shape, excluded.source, excluded.canonical)`.execute(db);
}
