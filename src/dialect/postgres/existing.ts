import { Kysely, PostgresDialect, sql } from 'kysely';
import type pg from 'pg';
import { SchemaDiffError, messageOf } from '../../errors.js';
import { redactUrl } from '../url.js';
import { oneStatementPerQuery, type PgHandles } from './connect.js';

/**
 * Session settings schema-diff's own connections get at startup (connect.ts),
 * set on a borrowed connection instead and reset before it goes back.
 */
const SESSION_SETTINGS = ['jit = off'];

async function settle(run: (text: string) => Promise<unknown>, readOnly: boolean): Promise<() => Promise<void>> {
  const settings = [...SESSION_SETTINGS, ...(readOnly ? ['default_transaction_read_only = on'] : [])];
  for (const s of settings) await run(`SET ${s}`);
  return async () => {
    for (const s of settings) await run(`RESET ${s.split(' ')[0]}`).catch(() => {});
  };
}

/**
 * Handles over a pg.Pool the caller owns: one of its clients pinned for the
 * session (advisory lock, SET LOCAL, apply's transactions), the pool itself
 * for parallel reads, every query with the extended protocol. close() gives
 * the client back as it came and never ends the caller's pool.
 */
export async function handlesFromPool(userPool: pg.Pool, { readOnly = false }: { readOnly?: boolean } = {}): Promise<PgHandles> {
  const client = await userPool.connect();
  let reset: () => Promise<void>;
  try {
    reset = await settle((text) => client.query(text), readOnly);
  } catch (e) {
    client.release(true);
    throw e;
  }
  const pinned = { connect: pinnedOneAtATime(client), end: async () => {} };
  const borrowed = { connect: () => userPool.connect(), end: async () => {} };
  const session = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: oneStatementPerQuery(pinned) }) });
  const pool = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: oneStatementPerQuery(borrowed) }) });
  return {
    session,
    pool,
    target: targetOfPool(userPool),
    embedded: null,
    // the caller's pool: no connection of it is ours to count on, nor its settings (connect.ts)
    parallelReads: false,
    async runScript(script: string) {
      await client.query(script);
    },
    async close() {
      await reset();
      client.release();
    },
  };
}

/**
 * The pinned client lent to one query at a time, as a pool of one would
 * (pg warns about, and pg 9 will refuse, a query sent while another runs);
 * releasing it lends it to the next. It goes back to the caller's pool only at close().
 */
function pinnedOneAtATime(client: pg.PoolClient): () => Promise<pg.PoolClient> {
  let turn: Promise<void> = Promise.resolve();
  return () =>
    new Promise((lend) => {
      turn = turn.then(
        () =>
          new Promise<void>((done) => {
            const query = (...args: unknown[]) => (client.query as (...a: unknown[]) => unknown)(...args);
            lend({ query, release: () => done() } as unknown as pg.PoolClient);
          }),
      );
    });
}

function targetOfPool(pool: pg.Pool): string {
  const o = (pool as unknown as { options?: pg.PoolConfig }).options ?? {};
  if (o.connectionString) return redactUrl(o.connectionString);
  return `postgres://${o.user ?? ''}@${o.host ?? 'localhost'}:${o.port ?? 5432}/${o.database ?? ''}`;
}

/**
 * Runs `body` with handles over a Kysely instance the caller owns (PostgreSQL
 * or PGlite behind it): one connection pinned for the session through
 * db.connection(), the instance itself for parallel reads. Its driver sends
 * the queries as it does: the one-statement rule rests on Dialect.checkManifest
 * alone there (docs/security.md).
 */
export async function withKyselyHandles<R>(
  db: Kysely<unknown>,
  options: { readOnly?: boolean },
  body: (handles: PgHandles) => Promise<R>,
): Promise<R> {
  return db.connection().execute(async (pinned) => {
    const target = await targetOfKysely(pinned);
    const reset = await settle((text) => sql.raw(text).execute(pinned), options.readOnly ?? false);
    const handles: PgHandles = {
      session: pinned,
      pool: db,
      target,
      embedded: null,
      parallelReads: false,
      runScript: async () => {
        throw new SchemaDiffError('usage', 'running a script of several statements needs a URL or a pg.Pool, not a Kysely instance');
      },
      close: async () => {},
    };
    try {
      return await body(handles);
    } finally {
      await reset();
    }
  });
}

async function targetOfKysely(db: Kysely<unknown>): Promise<string> {
  try {
    const { rows } = await sql<{ user: string; db: string; host: string | null; port: number | null }>`
      select current_user as "user", current_database() as db, host(inet_server_addr()) as host, inet_server_port() as port`.execute(db);
    const r = rows[0];
    return `postgres://${r.user}@${r.host ?? 'localhost'}${r.port ? `:${r.port}` : ''}/${r.db}`;
  } catch (e) {
    throw new SchemaDiffError(
      'usage',
      `{ db }: the Kysely instance is not PostgreSQL (${messageOf(e).split('\n')[0]}); for SQLite pass { url: 'sqlite:///path.db' }`,
      [],
      { cause: e },
    );
  }
}
