import type { Kysely } from 'kysely';
import type { Catalog, DesiredCheck, DesiredIndex, DesiredTable, Table } from '../../schema/types.js';
import { freeze } from '../../schema/types.js';
import { indexProbe, liveTable, liveTables, normalizedIndexFields, tableShape, type NormalizedIndexFields } from './normal-form.js';
import { normalizeInBatch } from './normalize-batch.js';
import { cacheKey, readNormalizeCache, type NormalizeCache } from './normalize-cache.js';

/**
 * Lets PostgreSQL itself parse every manifest expression and print it back the
 * way it stores it, so that comparison is exact: BETWEEN becomes two
 * comparisons, LIKE becomes ~~, literals gain casts to the column's type.
 *
 * An expression the journal's cache already answers (apply recorded the
 * manifest text and what the database made of it, and the catalog still holds
 * exactly that) needs no round trip: a plan with nothing changed since the
 * last apply makes no DDL at all. The cache may come already read (`cacheRead`,
 * started beside the catalog read by the dialect). The rest is parsed in one batch (see
 * normalize-batch.ts), in a transaction that is always rolled back.
 */
export async function normalizePostgres(
  db: Kysely<unknown>,
  workers: readonly Kysely<unknown>[],
  desired: readonly DesiredTable[],
  catalog: Catalog,
  cacheRead?: Promise<NormalizeCache>,
): Promise<readonly DesiredTable[]> {
  const live = liveTables(catalog.tables);
  const cache = await (cacheRead ?? readNormalizeCache(db, catalog.tables.map((t) => t.ref)));
  // each table's live counterpart and what the cache answers, asked once per expression
  const cached = desired.map((table) => {
    const t = liveTable(live, table.ref);
    return {
      live: t !== undefined,
      checks: table.checks.map((c) => (t ? cachedCheck(cache, t, c) : undefined)),
      indexes: table.indexes.map((ix) => (t ? cachedIndex(cache, t, ix) : undefined)),
    };
  });
  const pending: DesiredTable[] = [];
  desired.forEach((table, i) => {
    if (!cached[i].live) return;
    const checks = table.checks.filter((_, k) => cached[i].checks[k] === undefined);
    const indexes = table.indexes.filter((_, k) => cached[i].indexes[k] === undefined);
    if (checks.length + indexes.length > 0) pending.push({ ...table, checks, indexes });
  });
  const answers = await normalizeInBatch(db, workers, pending, live);
  return freeze(
    desired.map((table, i) => {
      if (!cached[i].live) return table;
      return {
        ...table,
        checks: table.checks.map((c, k): DesiredCheck => ({ ...c, expr: cached[i].checks[k] ?? answers.check(table.ref, c.name) })),
        indexes: table.indexes.map((ix, k): DesiredIndex => ({ ...ix, ...(cached[i].indexes[k] ?? answers.index(table.ref, ix.name)) })),
      };
    }),
  );
}

/**
 * A cache entry answers only when the manifest's text is exactly the one it
 * was recorded for, the table has the same columns, and the catalog holds
 * exactly the canonical form it records: anything else is normalized again.
 */
function cachedCheck(cache: NormalizeCache, table: Table, check: DesiredCheck): string | undefined {
  const entry = cache.get(cacheKey(table.ref, 'check', check.name));
  if (!entry || entry.source !== check.source || entry.shape !== tableShape(table)) return undefined;
  const live = table.checks.find((c) => c.name === check.name);
  return live && live.expr === entry.canonical ? live.expr : undefined;
}

function cachedIndex(cache: NormalizeCache, table: Table, index: DesiredIndex): NormalizedIndexFields | undefined {
  const entry = cache.get(cacheKey(table.ref, 'index', index.name));
  if (!entry || entry.source !== indexProbe(index) || entry.shape !== tableShape(table)) return undefined;
  const live = table.indexes.find((ix) => ix.name === index.name);
  if (!live) return undefined;
  const fields = normalizedIndexFields(live);
  return JSON.stringify(fields) === entry.canonical ? fields : undefined;
}
