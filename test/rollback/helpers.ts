import { PGlite } from '@electric-sql/pglite';
import { mestore } from '../../manifest/mestore.js';
import { defineManifest } from '../../src/manifest/define.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import type { ApplyOptions } from '../../src/run/apply.js';
import type { RollbackOptions, RollbackScope } from '../../src/run/rollback.js';
import type { MakeTarget } from '../helpers/each.js';
import { pgliteTarget, type TargetKind, type TestTarget } from '../helpers/targets.js';
import { testApplyOptions } from '../helpers/options.js';

export const MANAGED_TABLES = ['users', 'products', 'orders', 'order_items', 'payment_methods', 'order_transactions', 'payments'];

export const applyOptions: ApplyOptions = testApplyOptions;

export function rollbackOptions(scope: RollbackScope, extra: Partial<RollbackOptions> = {}): RollbackOptions {
  return {
    scope,
    dryRun: false,
    lockTimeoutMs: 25,
    lockRetries: 50,
    retryBudgetMs: 30_000,
    lockWaitMs: 2_000,
    confirm: async () => true,
    ...extra,
  };
}

/** MeStore's manifest cut down to some tables: a first, smaller apply. */
export function mestoreSubset(...tables: (keyof typeof mestore.tables)[]): LoadedManifest {
  const picked = Object.fromEntries(tables.map((t) => [t, mestore.tables[t]]));
  return defineManifest({ version: 1, name: 'mestore-subset', tables: picked }) as LoadedManifest;
}

/**
 * A canonical dump of the managed tables' constraints and indexes: name,
 * definition (with FK actions), validity; one sorted line each, so that two
 * states compare with toEqual and a difference reads as a diff.
 */
export async function catalogDump(target: TestTarget): Promise<string[]> {
  const rows = await target.sql(`
    select c.relname || ' ' || con.contype::text || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid)
           || ' del=' || con.confdeltype::text || ' upd=' || con.confupdtype::text || ' valid=' || con.convalidated as line
      from pg_constraint con
      join pg_class c on c.oid = con.conrelid
      join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relname in (${MANAGED_TABLES.map((t) => `'${t}'`).join(', ')})
    union all
    select c.relname || ' i ' || pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid
      from pg_index i
      join pg_class c on c.oid = i.indrelid
      join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relname in (${MANAGED_TABLES.map((t) => `'${t}'`).join(', ')})
    order by 1`);
  return rows.map((r) => String(r.line));
}

/** Row count and a digest of every row, per managed table: rollback must leave rows untouched. */
export async function rowDigest(target: TestTarget): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of MANAGED_TABLES) {
    const [row] = await target.sql(`select count(*) || ':' || coalesce(md5(string_agg(x::text, '|' order by x::text)), '') as d from ${t} x`);
    out[t] = String(row.d);
  }
  return out;
}

/**
 * Targets for one describe block: the server gets a fresh database per call,
 * PGlite one instance per block, reset per call (it starts in ~2 s).
 */
export function targetsFor(make: MakeTarget, kind: TargetKind) {
  let instance: PGlite | undefined;
  const live: TestTarget[] = [];
  return {
    async fresh(seed: string): Promise<TestTarget> {
      if (kind === 'pglite') instance ??= new PGlite();
      const target = kind === 'pglite' ? await pgliteTarget(seed, instance) : await make(seed);
      live.push(target);
      return target;
    },
    async disposeAll(): Promise<void> {
      for (const t of live.splice(0)) await t.dispose().catch(() => {});
      await instance?.close();
      instance = undefined;
    },
  };
}
