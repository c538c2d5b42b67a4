import { existsSync, statSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import { SchemaDiffError } from '../errors.js';
import type { Dialect } from './dialect.js';
import { parseDatabaseUrl } from './url.js';
import { connectPGlite, connectPostgres } from './postgres/connect.js';
import { createPostgresDialect } from './postgres/postgres-dialect.js';
import { openSqliteDialect } from './sqlite/sqlite-dialect.js';

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
    case 'sqlite':
      return openSqliteDialect(target.path, options);
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

/** The database names a query returns on a PostgreSQL server (fleets: --targets-query), read-only. */
export async function queryDatabaseNames(url: string | undefined, query: string): Promise<string[]> {
  const target = parseDatabaseUrl(url);
  if (target.kind !== 'postgres') {
    throw new SchemaDiffError('usage', '--targets-query lists databases on a PostgreSQL server: --database-url must be postgres://');
  }
  const { listDatabaseNames } = await import('./postgres/list-databases.js');
  return listDatabaseNames(target.url, query);
}
