import type { AnyDB, LoadedManifest, Manifest } from './types.js';

/**
 * Declares a manifest. The generic parameter is optional: give your database's
 * Kysely type to have table and column names checked at compile time.
 * NoInfer: without an explicit DB, the compiler must not guess one from the
 * manifest itself (it would then reject a reference to any table not listed).
 */
export function defineManifest<DB = AnyDB>(manifest: Manifest<NoInfer<DB>>): LoadedManifest {
  return manifest as unknown as LoadedManifest;
}
