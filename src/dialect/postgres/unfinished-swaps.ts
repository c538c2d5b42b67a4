import { sql, type Kysely } from 'kysely';
import type { Catalog, TableRef, UnfinishedSwap } from '../../schema/types.js';
import { findTable } from '../../schema/types.js';
import { scratchName } from './render.js';

/**
 * The catalog, with the index swaps the journal shows were started and not
 * finished, when a managed table has an index under a swap's scratch name
 * (`<name>_sd_new`). Only such a leftover is schema-diff's own, to finish or
 * drop (render.ts); one that someone else made is refused at plan.
 */
export async function withUnfinishedSwaps(db: Kysely<unknown>, catalog: Catalog): Promise<Catalog> {
  const scratch = catalog.tables.flatMap((t) => t.indexes.filter((ix) => ix.name.endsWith('_sd_new')).map(() => t.ref));
  if (scratch.length === 0) return catalog;
  const swaps = (await unfinishedSwaps(db)).filter((s) => {
    const table = findTable(catalog, s.table);
    return table?.indexes.some((ix) => ix.name === scratchName(s.index)) ?? false;
  });
  return { ...catalog, unfinishedSwaps: swaps };
}

/**
 * replace_index (and replace_unique_constraint) steps whose latest journal row is still 'planned': a run
 * planned the swap and never journaled it done (killed, or failed halfway).
 * The table is the step's recorded TableRef (its origin), not its
 * `schema.table` text, which is ambiguous when a name holds a dot. A journal
 * that is missing, older than planned steps, or not readable by this role
 * shows none.
 */
async function unfinishedSwaps(db: Kysely<unknown>): Promise<UnfinishedSwap[]> {
  const { rows: shape } = await sql<{ ready: boolean }>`
    select to_regclass('schema_diff.steps') is not null
           and exists (select 1 from pg_attribute where attrelid = to_regclass('schema_diff.steps') and attname = 'state' and not attisdropped)
           and exists (select 1 from pg_attribute where attrelid = to_regclass('schema_diff.steps') and attname = 'origin' and not attisdropped)
           and coalesce((select has_schema_privilege(oid, 'USAGE') from pg_namespace where nspname = 'schema_diff'), false)
           and coalesce(has_table_privilege(to_regclass('schema_diff.steps'), 'SELECT'), false) as ready`.execute(db);
  if (!shape[0]?.ready) return [];
  const { rows } = await sql<{ name: string; origin: string | null; state: string }>`
    select distinct on (table_name, name) name, origin, state
      from schema_diff.steps
     where action in ('replace_index', 'replace_unique_constraint')
     order by table_name, name, run_id desc, seq desc`.execute(db);
  return rows.flatMap((r) => {
    const table = r.state === 'planned' ? originTable(r.origin) : null;
    return table ? [{ table, index: r.name }] : [];
  });
}

function originTable(origin: string | null): TableRef | null {
  try {
    const t = (JSON.parse(origin ?? 'null') as { table?: unknown } | null)?.table as Partial<TableRef> | undefined;
    return typeof t?.schema === 'string' && typeof t.name === 'string' ? { schema: t.schema, name: t.name } : null;
  } catch {
    return null;
  }
}
