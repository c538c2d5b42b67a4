import { sql, type Kysely } from 'kysely';
import type { TableRef } from '../../schema/types.js';

/**
 * The user's tables: ordinary and partitioned tables outside the system
 * schemas and schema-diff's own (schema_diff, the journal), by schema and
 * name. Partitions are left out (their parent's indexes and constraints are
 * theirs), and so are tables an extension created (dropping the extension is
 * how they go, not a manifest). `schemas` null: every user schema.
 */
export async function listPostgresTables(db: Kysely<unknown>, schemas: readonly string[] | null): Promise<TableRef[]> {
  const { rows } = await sql<{ schema: string; name: string }>`
    select n.nspname as schema, c.relname as name
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p')
       and not c.relispartition
       and n.nspname not in ('pg_catalog', 'information_schema', 'schema_diff')
       and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
       and (${schemas === null}::boolean or n.nspname = any(${[...(schemas ?? [])]}::text[]))
       and not exists (select 1 from pg_depend d
                        where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
     order by n.nspname, c.relname`.execute(db);
  return rows.map((r) => ({ schema: r.schema, name: r.name }));
}
