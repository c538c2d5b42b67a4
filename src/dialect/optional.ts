import { SchemaDiffError } from '../errors.js';

/** The drivers a user installs only for the databases they use (package.json peerDependenciesMeta). */
export const OPTIONAL_DRIVERS = {
  'better-sqlite3': 'SQLite URLs',
  '@electric-sql/pglite': 'PGlite URLs',
} as const;

export type OptionalDriver = keyof typeof OPTIONAL_DRIVERS;

/**
 * Imports a module that needs an optional driver. A PostgreSQL-only project
 * does not install better-sqlite3 (compiled from source) or PGlite, so when a
 * URL needs one that is missing, the user reads which package to install
 * rather than a resolver's stack trace.
 */
export async function importWithDriver<M>(driver: OptionalDriver, load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (e) {
    if (isMissing(e, driver)) {
      throw new SchemaDiffError(
        'usage',
        `${OPTIONAL_DRIVERS[driver]} need the optional package ${driver}: npm install ${driver}`,
        [],
        { cause: e },
      );
    }
    throw e;
  }
}

function isMissing(e: unknown, driver: string): boolean {
  const err = e as { code?: string; message?: string };
  const notFound = err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND';
  return notFound && (err.message ?? '').includes(`'${driver}'`);
}
