import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import { SchemaDiffError, messageOf } from '../../errors.js';
import { importWithDriver } from '../optional.js';
import { redactUrl, scrubSecrets } from '../url.js';
import { connectionAttempts } from './pg-config.js';
import { PGliteDialect } from './pglite-driver.js';

// numeric and bigint as strings would surprise no one reading counts: parse int8 as number
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * Two Kysely handles over one database: `session` is pinned to a single
 * connection (advisory lock, SET LOCAL, transactions of apply), `pool` serves
 * parallel read-only work (validate). On PGlite both are the one backend.
 */
export interface PgHandles {
  readonly session: Kysely<unknown>;
  readonly pool: Kysely<unknown>;
  readonly target: string;
  /** The URL, kept only to scrub its password out of driver messages. */
  readonly secretUrl?: string;
  readonly embedded: PGlite | null;
  /**
   * Whether `pool` is ours, opened from the URL beside the session with the
   * same settings: then catalog reads and normalization may take a second
   * connection from it. A pool or Kysely instance the caller lends is not: it
   * may have no connection to spare (its only one is pinned as the session,
   * or its application holds the rest) or carry other session settings (a
   * search_path set by the application changes how pg_get_constraintdef
   * qualifies names), so everything that must read alike runs on the session.
   */
  readonly parallelReads: boolean;
  /**
   * A connection of its own with the session's settings, for apply's steps
   * that run beside the session's (ExecuteOptions.concurrentSteps); only on
   * connections schema-diff opened itself. The caller destroys it.
   */
  readonly openLane?: () => Kysely<unknown>;
  /**
   * Runs a script of several statements (fixtures, the demo: never manifest
   * text). The only path that can; every query of `session` and `pool` is one statement.
   */
  runScript(script: string): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Connections for parallel read-only work (validate --jobs). */
  readonly poolSize?: number;
  /**
   * Every transaction read-only unless it says READ WRITE (normalization's,
   * which always rolls back): plan, verify, validate and history commit nothing.
   */
  readonly readOnly?: boolean;
}

const withErrorListener = new WeakSet<pg.PoolClient>();

/**
 * node-postgres sends a query without parameters with the simple protocol,
 * which runs every statement the text holds. Kysely's sql.raw has none, so
 * each query is sent with the extended protocol, which parses exactly one.
 */
export function oneStatementPerQuery(pool: { connect(): Promise<pg.PoolClient>; end(): Promise<void> }): PostgresPool {
  return {
    async connect() {
      const client = await pool.connect();
      // A backend that dies while its client is checked out (pg_terminate_backend, a restart) makes the client
      // emit 'error' besides failing its query; pg's pool listens only to idle clients, and an 'error' event
      // nobody listens to kills Node with a stack. The failed query already carries the message to report.
      if (!withErrorListener.has(client)) {
        // a client lent by the caller's pool (library { pool }) may be a wrapper without events
        withErrorListener.add(client);
        if (typeof client.on === 'function') client.on('error', () => {});
      }
      // queryMode is in pg's lib/query.js since 8.9 but not in its types
      const extended = (text: string, values?: readonly unknown[]) => ({ text, values: [...(values ?? [])], queryMode: 'extended' }) as pg.QueryConfig;
      const query = (text: unknown, values?: readonly unknown[]) =>
        typeof text === 'string' ? client.query(extended(text, values)) : client.query(text as never);
      return { query, release: (destroy?: boolean) => client.release(destroy) } as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}

export async function connectPostgres(url: string, { poolSize = 2, readOnly = false }: ConnectOptions = {}): Promise<PgHandles> {
  const target = redactUrl(url);
  const attempts = connectionSettings(url, target);
  let failure: unknown;
  for (const [i, config] of attempts.entries()) {
    const handles = openPools(config, poolSize, target, url, readOnly);
    try {
      await sql`select 1`.execute(handles.session);
      return handles;
    } catch (e) {
      await handles.close();
      failure = e;
      // sslmode prefer (or allow): the other way is tried only when this one failed on encryption itself
      if (i === attempts.length - 1 || !isEncryptionRefusal(e)) break;
    }
  }
  throw new SchemaDiffError('connection', `cannot connect to ${target}: ${describeConnectError(failure, url)}`, [], { cause: failure });
}

function connectionSettings(url: string, target: string): pg.PoolConfig[] {
  try {
    return connectionAttempts(url, { application_name: 'schema-diff', connectionTimeoutMillis: 10_000 });
  } catch (e) {
    if (e instanceof SchemaDiffError) throw e;
    // sslcert, sslkey and sslrootcert name files that are read here
    throw new SchemaDiffError('connection', `cannot connect to ${target}: ${scrubSecrets(messageOf(e).split('\n')[0], url)}`, [], { cause: e });
  }
}

/**
 * The string syntax the manifest's expressions were proven one expression in
 * (expr-columns.ts): with standard_conforming_strings off, a backslash in '…'
 * escapes the quote and the string runs on where the lexer saw it end. A role's
 * or database's setting may say otherwise: ours says on, after the URL's options.
 */
const LEXER_SETTINGS = '-c standard_conforming_strings=on';

function openPools(config: pg.PoolConfig, poolSize: number, target: string, url: string, readOnly: boolean): PgHandles {
  // later -c settings win: the URL's own options may change jit, never the read-only default
  const readOnlyOption = readOnly ? '-c default_transaction_read_only=on' : '';
  const startup = (ours: string) => [ours, config.options, LEXER_SETTINGS, readOnlyOption].filter(Boolean).join(' ');
  // The session runs catalog queries, which are cheap but look expensive to the planner (JIT would spend
  // 50 ms compiling them). Its index builds take the server's max_parallel_maintenance_workers, except
  // beside apply's check of existing rows (execute.ts withBuildSettings).
  const sessionConfig = { ...config, options: startup('-c jit=off'), max: 1, idleTimeoutMillis: 0 };
  const sessionPool = new pg.Pool(sessionConfig);
  const readPool = new pg.Pool({ ...config, max: Math.max(1, poolSize), options: startup('') || undefined });
  for (const p of [sessionPool, readPool]) p.on('error', () => {}); // a dropped idle client must not crash the CLI
  const session = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: oneStatementPerQuery(sessionPool) }) });
  const pool = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: oneStatementPerQuery(readPool) }) });
  return {
    session,
    pool,
    target,
    secretUrl: url,
    embedded: null,
    parallelReads: true,
    openLane() {
      const lanePool = new pg.Pool(sessionConfig);
      lanePool.on('error', () => {});
      return new Kysely<unknown>({ dialect: new PostgresDialect({ pool: oneStatementPerQuery(lanePool) }) });
    },
    async runScript(script: string) {
      const client = await sessionPool.connect();
      try {
        await client.query(script);
      } finally {
        client.release();
      }
    },
    async close() {
      await Promise.allSettled([session.destroy(), pool.destroy()]);
    },
  };
}

/**
 * A failure that another sslmode attempt may get past: the server has no TLS
 * (or the handshake failed: no SQLSTATE), or its pg_hba.conf refuses this
 * encryption (28000, "no pg_hba.conf entry … no encryption").
 */
function isEncryptionRefusal(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'ETIMEDOUT') return false;
  if (err.code === '28000') return /encryption|SSL/i.test(err.message ?? '');
  return !/^[0-9A-Z]{5}$/.test(err.code ?? '') || /SSL|TLS/i.test(err.message ?? '');
}

export async function connectPGlite(dataDir: string | null, existing?: PGlite, { readOnly = false }: ConnectOptions = {}): Promise<PgHandles> {
  let db = existing;
  let owned = false;
  if (!db) {
    const { PGlite } = await importWithDriver('@electric-sql/pglite', () => import('@electric-sql/pglite'));
    db = dataDir ? new PGlite(dataDir) : new PGlite();
    owned = true;
  }
  await db.waitReady;
  // PGlite's query() is the extended protocol already: one statement per call
  const k = new Kysely<unknown>({ dialect: new PGliteDialect(db) });
  const instance = db;
  await instance.query('set standard_conforming_strings = on'); // see LEXER_SETTINGS
  if (readOnly) await instance.query('set default_transaction_read_only = on');
  return {
    session: k,
    pool: k,
    target: dataDir ? `pglite:${dataDir}` : 'pglite:memory',
    embedded: instance,
    // one backend: a second "connection" would only interleave on it
    parallelReads: false,
    async runScript(script: string) {
      await instance.exec(script);
    },
    async close() {
      await k.destroy();
      // an instance shared with the caller goes back as it came
      if (readOnly && !owned) await instance.query('reset default_transaction_read_only').catch(() => {});
      if (owned) await instance.close();
    },
  };
}

function describeConnectError(e: unknown, url: string): string {
  const err = e as { code?: string; message?: string };
  if (err.code === 'ECONNREFUSED') return 'connection refused (is the server running?)';
  if (err.code === 'ENOTFOUND') return 'unknown host';
  if (err.code === '3D000') return scrubSecrets(err.message ?? 'database does not exist', url);
  if (err.code === '28P01' || err.code === '28000') return 'authentication failed';
  const first = messageOf(e).split('\n')[0] || String(err.code ?? 'unknown error');
  return scrubSecrets(first, url);
}
