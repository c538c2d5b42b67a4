import { describeServer } from './postgres.js';
import { pgliteTarget, postgresTarget, sqliteTarget, type TargetKind, type TestTarget } from './targets.js';

export type MakeTarget = (seed: string) => Promise<TestTarget>;

/**
 * Runs the same spec on each kind of database. The real server's block skips
 * (or fails under SCHEMA_DIFF_REQUIRE_PG=1) when no server is there. PGlite
 * instances are created per target and closed by dispose().
 */
export function describeEachDatabase(kinds: readonly TargetKind[], name: string, body: (make: MakeTarget, kind: TargetKind) => void): void {
  for (const kind of kinds) {
    const title = `${name} [${kind}]`;
    if (kind === 'postgres') describeServer(title, () => body(postgresTarget, kind));
    else if (kind === 'pglite') describe(title, () => body((seed) => pgliteTarget(seed), kind));
    else describe(title, () => body(sqliteTarget, kind));
  }
}

