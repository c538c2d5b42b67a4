import type { AnyDB, LoadedManifest, Manifest } from './types.js';

/**
 * Declares a manifest. The generic parameter is optional: give your database's
 * Kysely type to have table and column names checked at compile time.
 */
export function defineManifest<DB = AnyDB>(manifest: Manifest<DB>): LoadedManifest {
  return manifest as unknown as LoadedManifest;
}
