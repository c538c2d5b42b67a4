import pg from 'pg';
import { randomBytes } from 'node:crypto';

/**
 * The real PostgreSQL server for integration tests. Without one, server tests
 * are skipped with a message saying why, unless SCHEMA_DIFF_REQUIRE_PG=1 (set
 * by .ci/run), which turns the skip into a failure.
 */
export const ADMIN_URL = process.env.SCHEMA_DIFF_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REQUIRE_PG = process.env.SCHEMA_DIFF_REQUIRE_PG === '1';

async function probe(): Promise<string | null> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (e) {
    return (e as Error).message || String(e);
  } finally {
    await client.end().catch(() => {});
  }
}

const probeError = await probe();
export const pgAvailable = probeError === null;
export const pgSkipReason = probeError
  ? `PostgreSQL server not reachable at ${ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} (${probeError})`
  : '';

let warned = false;
/** describe() when the server is there; otherwise a skip that says why, or a failure under SCHEMA_DIFF_REQUIRE_PG=1. */
export function describeServer(name: string, body: () => void): void {
  if (pgAvailable) {
    describe(name, body);
    return;
  }
  if (REQUIRE_PG) {
    describe(name, () => {
      test('PostgreSQL server is required (SCHEMA_DIFF_REQUIRE_PG=1)', () => {
        throw new Error(pgSkipReason);
      });
    });
    return;
  }
  if (!warned) {
    console.warn(`SKIPPED server tests: ${pgSkipReason}. Set SCHEMA_DIFF_REQUIRE_PG=1 to make this a failure.`);
    warned = true;
  }
  describe.skip(`${name} [skipped: ${pgSkipReason}]`, body);
}

/** A throwaway database on the server; returns its URL and a drop function. */
export async function createTestDatabase(prefix = 'sd_test'): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

/** Runs SQL on a database URL with a short-lived client. */
export async function runSql(url: string, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

/**
 * A caller's own pg.Pool, as an application would hold one. pg-pool's end()
 * resolves before its clients' sockets close, so a `drop database … with
 * (force)` right after can reach a closing client; without a listener its
 * 'error' event would fail the whole suite after every test passed.
 */
export function callerPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => {});
  return pool;
}

/** A canonical dump of the public schema's CHECKs, foreign keys and indexes (with their validity), to compare end states. */
export async function catalogDump(url: string): Promise<string[]> {
  const { rows } = await runSql(
    url,
    `select c.relname || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid) || ' valid=' || con.convalidated as line
       from pg_constraint con join pg_class c on c.oid = con.conrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and con.contype in ('c', 'f')
     union all
     select pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid
       from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public'
     order by 1`,
  );
  return rows.map((r) => r.line as string);
}
