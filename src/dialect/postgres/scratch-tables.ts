import { sql, type Kysely } from 'kysely';
import type { DesiredIndex, DesiredTable, IndexKey, Table, TableRef } from '../../schema/types.js';
import { tableKey } from '../../schema/types.js';
import { indexProbe, liveTable, type LiveTables } from './normal-form.js';

/*
 * The scratch tables of batched normalization (normalize-batch.ts): which
 * table shapes share one, with which columns, and which probes each holds.
 */

/**
 * One temporary table that parses the pending expressions of several table
 * shapes: its columns are the union of theirs, each defined exactly as the
 * live table has it (type, typmod, collation, NOT NULL), merged only where two
 * shapes agree on a column of the same name.
 */
export interface ScratchProbe {
  readonly scratch: string;
  /**
   * One shape alone: the table it copies with CREATE TEMP TABLE … (LIKE …),
   * which needs no type names (a type in a schema the role may not use, or one
   * a temporary table's row type shadows, still parses) — the fallback.
   */
  readonly like?: TableRef;
  /** Column name → its definition and its catalog signature. */
  readonly columns: Map<string, ColumnDef>;
  /** The column names of each shape parsed here, by shape. */
  readonly shapes: Map<string, ReadonlySet<string>>;
  /** Manifest text → the probe CHECK's name and the shapes whose tables asked for it. */
  readonly checks: Map<string, Probed>;
  /** indexProbe text → the probe index's name, the index, and the shapes that asked for it. */
  readonly indexes: Map<string, IndexProbed>;
  /** Plain btree indexes parsed as the keys of a few wide ones (see SharedKeys). */
  readonly shared: SharedKeys[];
  /** Whether its CHECKs are the conjuncts of one (conjuncts.ts), as on a shared scratch table, or each a CHECK of its own. */
  readonly conjuncts: boolean;
}

export interface IndexProbed extends Probed {
  readonly index: DesiredIndex;
  /** Where its keys are parsed when they share an index; otherwise it is built on its own, under its name. */
  readonly within?: { readonly index: string; readonly offset: number };
}

/**
 * Building an index is what costs once tables are shared: a thousand of them
 * took most of a plan's time. What normalization reads of a plain btree
 * index (no INCLUDE, storage parameters or NULLS NOT DISTINCT) is each key's
 * own: its deparsed expression, operator class, collation and order, which do
 * not depend on the other keys. So such indexes are parsed as the keys of one
 * index of up to INDEX_MAX_KEYS (32) keys, and each predicate as a CHECK on the
 * same scratch table: pg_get_expr prints an index predicate and a CHECK alike
 * (the same deparse, on the same columns); a constant TRUE predicate, which
 * CREATE INDEX drops, is read as none.
 */
export interface SharedKeys {
  readonly name: string;
  readonly keys: IndexKey[];
}

export const MAX_INDEX_KEYS = 32;

export interface Probed {
  readonly name: string;
  readonly shapes: Set<string>;
}

export interface ColumnDef {
  /** `"name" type [COLLATE …] [NOT NULL]`, from the catalog (format_type, quote_ident). */
  readonly sql: string;
  /** atttypid, atttypmod, attcollation, attnotnull: what the proof compares. */
  readonly signature: string;
}

/**
 * Creating a temporary table is what costs (a thousand of them, with their
 * TOAST tables, took ten times as long as the same CHECKs on a few wide ones,
 * and left thousands of dead rows in pg_class): shapes share a scratch table
 * up to this many columns. Wider is slower again: pg_get_constraintdef builds
 * a deparse context of every column for each CHECK it prints (at 400 columns,
 * reading 5,000 CHECKs back took 4 s instead of 0.5 s), and so does each index build.
 */
export const COLUMNS_PER_SCRATCH = 120;

/**
 * Each live table's columns as CREATE TABLE would define them, read from the
 * catalog in one query (the names and types are the database's own, quoted
 * by it): `LIKE` copies one table, and a scratch table here holds several.
 */
export async function columnDefinitions(db: Kysely<unknown>, refs: readonly TableRef[]): Promise<Map<string, (ColumnDef & { name: string })[]>> {
  const { rows } = await sql<{ schema: string; table: string; name: string; sql: string; signature: string }>`
    select w.schema, w.name as table, a.attname as name,
           quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
             || case when a.attcollation <> 0 and a.attcollation <> t.typcollation
                     then ' COLLATE ' || quote_ident(cn.nspname) || '.' || quote_ident(co.collname) else '' end
             || case when a.attnotnull then ' NOT NULL' else '' end as sql,
           concat_ws(' ', a.atttypid, a.atttypmod, a.attcollation, a.attnotnull) as signature
      from unnest(${refs.map((r) => r.schema)}::text[], ${refs.map((r) => r.name)}::text[]) as w(schema, name)
      join pg_namespace n on n.nspname = w.schema
      join pg_class c on c.relnamespace = n.oid and c.relname = w.name
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      join pg_type t on t.oid = a.atttypid
      left join pg_collation co on co.oid = a.attcollation
      left join pg_namespace cn on cn.oid = co.collnamespace
     order by w.schema, w.name, a.attnum`.execute(db);
  const byTable = new Map<string, (ColumnDef & { name: string })[]>();
  for (const r of rows) {
    const key = tableKey({ schema: r.schema, name: r.table });
    const list = byTable.get(key) ?? [];
    list.push({ name: r.name, sql: r.sql, signature: r.signature });
    byTable.set(key, list);
  }
  return byTable;
}

export interface Packing {
  /** The widest a shared scratch table grows (0: one shape per scratch table, made with LIKE). */
  readonly columnsPerScratch: number;
  /** Whether plain btree indexes are parsed as keys of shared indexes. */
  readonly shareKeys: boolean;
}

/**
 * Packs the shapes into scratch tables, first fit: a shape joins a scratch
 * when every column name they share has the same definition and the union
 * stays within columnsPerScratch. A shape is a table's exact column list
 * (name, type, typmod, collation, NOT NULL): two tables that differ only in a
 * collation parse an index key differently. Returns each table's scratch
 * table, by tableKey.
 */
export function scratchProbes(
  pending: readonly DesiredTable[],
  live: LiveTables,
  columns: ReadonlyMap<string, readonly (ColumnDef & { name: string })[]>,
  packing: Packing,
): { scratches: ScratchProbe[]; scratchOf: Map<string, ScratchProbe> } {
  const scratches: ScratchProbe[] = [];
  const byShape = new Map<string, ScratchProbe>();
  const scratchOf = new Map<string, ScratchProbe>();
  for (const table of pending) {
    const t = liveTable(live, table.ref) as Table;
    const own = columns.get(tableKey(t.ref)) ?? [];
    const shape = JSON.stringify(own.map((c) => [c.name, c.signature]));
    let probe = byShape.get(shape);
    if (!probe) {
      probe = packing.columnsPerScratch > 0 ? scratches.find((s) => fits(s, own, packing.columnsPerScratch)) : undefined;
      if (!probe) {
        const like = packing.columnsPerScratch > 0 ? {} : { like: t.ref };
        const conjuncts = packing.columnsPerScratch > 0;
        probe = { scratch: `sd_norm_${scratches.length}`, ...like, columns: new Map(), shapes: new Map(), checks: new Map(), indexes: new Map(), shared: [], conjuncts };
        scratches.push(probe);
      }
      for (const c of own) probe.columns.set(c.name, c);
      probe.shapes.set(shape, new Set(own.map((c) => c.name)));
      byShape.set(shape, probe);
    }
    scratchOf.set(tableKey(t.ref), probe);
    for (const c of table.checks) addCheck(probe, c.source, shape);
    for (const ix of table.indexes) {
      const text = indexProbe(ix);
      const known = probe.indexes.get(text);
      if (known) {
        known.shapes.add(shape);
        if (known.within && ix.source.where) addCheck(probe, ix.source.where, shape);
        continue;
      }
      const within = packing.shareKeys && sharesKeys(ix) ? shareKeys(probe, ix) : undefined;
      if (within && ix.source.where) addCheck(probe, ix.source.where, shape);
      probe.indexes.set(text, { name: `${probe.scratch}_ix_${probe.indexes.size}`, index: ix, shapes: new Set([shape]), ...(within ? { within } : {}) });
    }
  }
  return { scratches, scratchOf };
}

function addCheck(scratch: ScratchProbe, source: string, shape: string): void {
  const probed = scratch.checks.get(source) ?? { name: `sd_ck_${scratch.checks.size}`, shapes: new Set<string>() };
  probed.shapes.add(shape);
  scratch.checks.set(source, probed);
}

/** A btree index whose every normalized field but its keys and predicate is the default. */
function sharesKeys(ix: DesiredIndex): boolean {
  return (
    (ix.method === undefined || ix.method === 'btree') &&
    !ix.include?.length &&
    !ix.nullsNotDistinct &&
    !(ix.with && Object.keys(ix.with).length) &&
    ix.source.keys.length <= MAX_INDEX_KEYS
  );
}

function shareKeys(scratch: ScratchProbe, ix: DesiredIndex): { index: string; offset: number } {
  let shared = scratch.shared[scratch.shared.length - 1];
  if (!shared || shared.keys.length + ix.source.keys.length > MAX_INDEX_KEYS) {
    shared = { name: `${scratch.scratch}_keys_${scratch.shared.length}`, keys: [] };
    scratch.shared.push(shared);
  }
  const offset = shared.keys.length;
  shared.keys.push(...ix.source.keys);
  return { index: shared.name, offset };
}

function fits(scratch: ScratchProbe, own: readonly (ColumnDef & { name: string })[], columnsPerScratch: number): boolean {
  let added = 0;
  for (const c of own) {
    const there = scratch.columns.get(c.name);
    if (there === undefined) added++;
    else if (there.signature !== c.signature) return false;
  }
  return scratch.columns.size + added <= columnsPerScratch;
}
