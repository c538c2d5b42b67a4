import { existsSync, statSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { SchemaDiffError } from '../errors.js';
import type { Dialect } from './dialect.js';
import { parseDatabaseUrl } from './url.js';
import { importWithDriver } from './optional.js';
import { connectPGlite, connectPostgres } from './postgres/connect.js';
import { createPostgresDialect } from './postgres/postgres-dialect.js';

export interface OpenOptions {
  /** Connections for parallel read-only work (validate --jobs). */
  readonly poolSize?: number;
  /** Use this PGlite instance for a pglite: URL (tests share one per file). */
  readonly pglite?: PGlite;
  /**
   * For commands that must change nothing (plan, verify, validate, history):
   * PostgreSQL transactions default to READ ONLY (normalization's own is READ
   * WRITE and always rolled back), SQLite runs with PRAGMA query_only = ON.
   */
  readonly readOnly?: boolean;
}

/** Opens the database a URL names, behind the one Dialect interface. */
export async function openDialect(url: string | undefined, options: OpenOptions = {}): Promise<Dialect> {
  const target = parseDatabaseUrl(url);
  switch (target.kind) {
    case 'postgres':
      return createPostgresDialect(await connectPostgres(target.url, options));
    case 'pglite':
      if (!options.pglite) refuseMissingDataDir(target.dataDir, target.create);
      return createPostgresDialect(await connectPGlite(target.dataDir, options.pglite, options));
    case 'sqlite': {
      // loaded here, not above: a PostgreSQL-only project has no better-sqlite3 installed
      const { openSqliteDialect } = await importWithDriver('better-sqlite3', () => import('./sqlite/sqlite-dialect.js'));
      return openSqliteDialect(target.path, { ...options, defensive: target.defensive === true });
    }
    default: {
      const never: never = target;
      throw new SchemaDiffError('usage', `unsupported target ${JSON.stringify(never)}`);
    }
  }
}

/**
 * PGlite creates any data directory it is given: a mistyped pglite:./dta
 * would be a new, empty database that plan reports as wholly missing and
 * apply fills. A missing directory is created only when the URL asks
 * (pglite:./dir?create=true).
 */
function refuseMissingDataDir(dataDir: string | null, create: boolean): void {
  if (dataDir === null) return;
  if (!existsSync(dataDir)) {
    if (create) return;
    throw new SchemaDiffError(
      'connection',
      `PGlite data directory ${dataDir} does not exist (to create it, use pglite:${dataDir}?create=true)`,
    );
  }
  if (!statSync(dataDir).isDirectory()) throw new SchemaDiffError('connection', `PGlite data directory ${dataDir} is not a directory`);
}

/** Where a library caller's database is: a URL, or a connection they already hold. */
export type Connection =
  | { readonly url: string }
  /** A Kysely instance over PostgreSQL or PGlite; the caller keeps it open. */
  | { readonly db: Kysely<any> } // eslint-disable-line @typescript-eslint/no-explicit-any -- any Kysely<DB> the caller holds
  /** A pg.Pool; the caller keeps it open. */
  | { readonly pool: pg.Pool };

/**
 * Opens the database a Connection names for the length of `body`, then closes
 * what it opened (never the caller's own Kysely instance or pool).
 */
export async function withConnection<R>(connection: Connection, options: OpenOptions, body: (dialect: Dialect) => Promise<R>): Promise<R> {
  if ('db' in connection) {
    const { withKyselyHandles } = await import('./postgres/existing.js');
    return withKyselyHandles(connection.db as Kysely<unknown>, options, (handles) => body(createPostgresDialect(handles)));
  }
  const dialect =
    'pool' in connection
      ? createPostgresDialect(await (await import('./postgres/existing.js')).handlesFromPool(connection.pool, options))
      : await openDialect(connection.url, options);
  try {
    return await body(dialect);
  } finally {
    await dialect.close();
  }
}

/** The database names a query returns on a PostgreSQL server (fleets: --targets-query), read-only. */
export async function queryDatabaseNames(url: string | undefined, query: string): Promise<string[]> {
  const target = parseDatabaseUrl(url);
  if (target.kind !== 'postgres') {
    throw new SchemaDiffError('usage', '--targets-query lists databases on a PostgreSQL server: --database-url must be postgres://');
  }
  const { listDatabaseNames } = await import('./postgres/list-databases.js');
  return listDatabaseNames(target.url, query);
}
