import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { baselineSchema } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import type { Dialect, ViolationTarget } from '../../src/dialect/dialect.js';
import { openDialect } from '../../src/dialect/open.js';
import { quoteColumns, quoteIdent, quoteTable } from '../../src/dialect/postgres/quote.js';
import { desiredFor } from '../../src/run/prepare.js';
import { targetsOfManifest } from '../../src/run/targets.js';
import { validateManifest } from '../../src/run/validate.js';
import { fillMeStore } from '../helpers/writers.js';
import type { BenchModule } from './run.js';
import { PG_ORDERS, REPEAT, median, ratio, timed } from './scale.js';

/**
 * validate and apply's pre-check on all of MeStore (PG_ORDERS clean orders:
 * three items, a transaction and a payment each), on the real server, against
 * the references measured in the same database in the same run:
 *   - PostgreSQL's own `ALTER TABLE … VALIDATE CONSTRAINT` of the same CHECKs
 *     and foreign keys (added NOT VALID, validated one after the other, dropped);
 *   - a plain `SELECT count(*)` of every table (the floor of one scan per table);
 *   - the naive script: one count query per constraint.
 * Each timing is the median of REPEAT runs after a warm-up (cached pages).
 * Then a few violations are written and validate's counts compared with the naive ones.
 */
const ADMIN_URL = process.env.BENCH_PG_URL ?? process.env.SCHEMA_DIFF_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const KEEP = process.env.BENCH_KEEP === '1';

export type ValidateBenchResult = {
  readonly orders: number;
  readonly constraints: number;
  readonly checksAndKeys: number;
  readonly repeat: number;
  readonly fillMs: number;
  readonly countMs: number;
  /** validate of every constraint, --jobs 2 and --jobs 1. */
  readonly validateMs: number;
  readonly validateSerialMs: number;
  /** validate of the CHECKs and foreign keys only (the ones VALIDATE CONSTRAINT can check). */
  readonly validateChecksAndKeysMs: number;
  readonly validateChecksAndKeysSerialMs: number;
  /** apply's pre-check of every constraint: one table at a time, no parallel workers. */
  readonly precheckMs: number;
  /** the same, of the CHECKs and foreign keys only. */
  readonly precheckChecksAndKeysMs: number;
  /** PostgreSQL's VALIDATE CONSTRAINT of the same CHECKs and foreign keys, one after the other. */
  readonly pgValidateMs: number;
  readonly naiveMs: number;
  readonly validateOverPgValidate: number;
  readonly validateSerialOverPgValidate: number;
  readonly precheckOverPgValidate: number;
  readonly validateOverCount: number;
  readonly naiveAgrees: boolean;
  readonly violationsFound: number;
};

export const validateBench: BenchModule = {
  name: 'validate',
  description: `validate and apply's pre-check vs PostgreSQL's VALIDATE CONSTRAINT of the same constraints, on ${PG_ORDERS.toLocaleString('en-US')} MeStore orders`,
  async run(log) {
    const db = await createDatabase();
    let dialect: Dialect | undefined;
    const client = new pg.Client({ connectionString: db.url });
    try {
      await client.connect();
      log(`filling ${db.name} …`);
      await client.query(baselineSchema('postgres'));
      const { ms: fillMs } = await fillMeStore(db.url, PG_ORDERS);
      log(`filled in ${(fillMs / 1000).toFixed(1)} s`);
      dialect = await openDialect(db.url, { poolSize: 2 });
      const d = dialect;
      const targets = targetsOfManifest(await desiredFor(d, mestore));
      const checksAndKeys = targets.filter((t) => t.kind !== 'unique');
      const tables = [...new Set(targets.map((t) => t.table.name))];
      const run = (jobs: number, only?: readonly ViolationTarget[]) =>
        validateManifest(d, mestore, { samples: 5, jobs, only: only?.map((t) => t.name) });
      await run(2); // warm-up: caches, plans, connections
      await pgValidate(client, checksAndKeys);
      const countMs = await median(() => countAll(client, tables));
      log(`SELECT count(*) of ${tables.length} tables: ${countMs} ms`);
      const pgValidateMs = await median(() => pgValidate(client, checksAndKeys));
      log(`PostgreSQL VALIDATE CONSTRAINT of ${checksAndKeys.length}: ${pgValidateMs} ms`);
      const validateMs = await median(() => run(2));
      const validateSerialMs = await median(() => run(1));
      log(`validate of ${targets.length}: --jobs 2 ${validateMs} ms, --jobs 1 ${validateSerialMs} ms`);
      const validateChecksAndKeysMs = await median(() => run(2, checksAndKeys));
      const validateChecksAndKeysSerialMs = await median(() => run(1, checksAndKeys));
      log(`validate of the same ${checksAndKeys.length}: --jobs 2 ${validateChecksAndKeysMs} ms, --jobs 1 ${validateChecksAndKeysSerialMs} ms`);
      const precheckMs = await median(() => d.countViolations(targets, { samples: 0, jobs: 1, background: true }));
      const precheckChecksAndKeysMs = await median(() => d.countViolations(checksAndKeys, { samples: 0, jobs: 1, background: true }));
      log(`apply's pre-check of ${targets.length}: ${precheckMs} ms; of the same ${checksAndKeys.length}: ${precheckChecksAndKeysMs} ms`);
      const naiveMs = await median(() => naive(client, targets));
      log(`naive, one query per constraint: ${naiveMs} ms`);
      await writeViolations(client);
      const { report } = await run(2);
      const naiveCounts = await naive(client, targets);
      const naiveAgrees = report.constraints.every((c, i) => c.violations === naiveCounts[i]);
      if (!naiveAgrees) log("WARNING: the naive counts differ from validate's");
      const result: ValidateBenchResult = {
        orders: PG_ORDERS,
        constraints: targets.length,
        checksAndKeys: checksAndKeys.length,
        repeat: REPEAT,
        fillMs,
        countMs,
        validateMs,
        validateSerialMs,
        validateChecksAndKeysMs,
        validateChecksAndKeysSerialMs,
        precheckMs,
        precheckChecksAndKeysMs,
        pgValidateMs,
        naiveMs,
        validateOverPgValidate: ratio(validateChecksAndKeysMs, pgValidateMs),
        validateSerialOverPgValidate: ratio(validateChecksAndKeysSerialMs, pgValidateMs),
        precheckOverPgValidate: ratio(precheckChecksAndKeysMs, pgValidateMs),
        validateOverCount: ratio(validateMs, countMs),
        naiveAgrees,
        violationsFound: report.totals.violations,
      };
      return result;
    } finally {
      await client.end().catch(() => {});
      await dialect?.close();
      if (KEEP) log(`kept ${db.url} (BENCH_KEEP=1)`);
      else await db.drop();
    }
  },
};

async function countAll(client: pg.Client, tables: readonly string[]): Promise<void> {
  for (const t of tables) await client.query(`SELECT count(*) FROM ${quoteIdent(t)}`);
}

/**
 * The reference: the same CHECKs and foreign keys added NOT VALID (no scan),
 * then PostgreSQL's own VALIDATE CONSTRAINT of each, timed, then dropped again.
 */
async function pgValidate(client: pg.Client, targets: readonly ViolationTarget[]): Promise<number> {
  const named = targets.map((t, i) => ({ t, name: quoteIdent(`bench_v${i}`) }));
  for (const { t, name } of named) {
    if (t.kind === 'check') await client.query(`ALTER TABLE ${quoteTable(t.table)} ADD CONSTRAINT ${name} CHECK (${t.expr}) NOT VALID`);
    if (t.kind === 'foreign_key') {
      await client.query(
        `ALTER TABLE ${quoteTable(t.table)} ADD CONSTRAINT ${name} FOREIGN KEY (${quoteColumns(t.columns)}) REFERENCES ${quoteTable(t.refTable)} (${quoteColumns(t.refColumns)}) NOT VALID`,
      );
    }
  }
  try {
    return await timed(async () => {
      for (const { t, name } of named) await client.query(`ALTER TABLE ${quoteTable(t.table)} VALIDATE CONSTRAINT ${name}`);
    });
  } finally {
    for (const { t, name } of named) await client.query(`ALTER TABLE ${quoteTable(t.table)} DROP CONSTRAINT IF EXISTS ${name}`);
  }
}

/** A few broken rows spread through the big tables (after the timings), for the agreement check. */
async function writeViolations(client: pg.Client): Promise<void> {
  await client.query('SET session_replication_role = replica');
  await client.query('UPDATE orders SET total_amount = 0 WHERE id % 5000 = 0');
  await client.query("UPDATE orders SET buyer_id = 'ghost-' || id WHERE id % 7000 = 0");
  await client.query('UPDATE order_items SET quantity = 0 WHERE id % 9000 = 0');
  await client.query("UPDATE order_items SET product_id = 'ghost' WHERE id % 11000 = 0");
  await client.query('SET session_replication_role = origin');
}

/** What a hand-written validation script does: one query per constraint, in turn. */
async function naive(client: pg.Client, targets: readonly ViolationTarget[]): Promise<number[]> {
  const counts: number[] = [];
  for (const t of targets) {
    let query: string;
    if (t.kind === 'check') query = `SELECT count(*) AS n FROM ${t.table.name} WHERE NOT (${t.expr})`;
    else if (t.kind === 'foreign_key') {
      const join = t.columns.map((c, i) => `p.${t.refColumns[i]} = c.${c}`).join(' AND ');
      query = `SELECT count(*) AS n FROM ${t.table.name} c WHERE ${t.columns.map((c) => `c.${c} IS NOT NULL`).join(' AND ')} AND NOT EXISTS (SELECT 1 FROM ${t.refTable.name} p WHERE ${join})`;
    } else {
      const keys = t.keys.map((k) => ('column' in k ? k.column : `(${k.expr})`)).join(', ');
      const notNull = t.keys.map((k) => `${'column' in k ? k.column : `(${k.expr})`} IS NOT NULL`);
      const where = [...(t.where ? [`(${t.where})`] : []), ...notNull].join(' AND ');
      query = `SELECT coalesce(sum(n - 1), 0) AS n FROM (SELECT count(*) AS n FROM ${t.table.name} WHERE ${where} GROUP BY ${keys} HAVING count(*) > 1) d`;
    }
    const { rows } = await client.query<{ n: string | number }>(query);
    counts.push(Number(rows[0].n));
  }
  return counts;
}

async function createDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `sd_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (text: string) => {
    const c = new pg.Client({ connectionString: ADMIN_URL });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
