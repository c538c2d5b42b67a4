import { sql, type Kysely } from 'kysely';
import type { DesiredTable } from '../../schema/types.js';
import { fragmentProblems, refuseManifest, wordProblems } from '../fragments.js';
import { scanExpression } from './expr-columns.js';

/**
 * Proves, before any of it reaches the database, that every SQL fragment of
 * the manifest is one PostgreSQL expression and that every index method is an
 * access method this database has (it is then rendered quoted, never as text).
 */
export async function checkManifestPostgres(db: Kysely<unknown>, desired: readonly DesiredTable[]): Promise<void> {
  const problems = [...fragmentProblems(desired, (text) => scanExpression(text).problem), ...wordProblems(desired), ...commentProblems(desired)];
  const indexes = desired.flatMap((t) => t.indexes);
  if (indexes.length > 0) {
    const methods = await indexAccessMethods(db);
    for (const ix of indexes) {
      if (!methods.includes(ix.method)) {
        problems.push(`${ix.path}.method: index ${ix.name}: unknown access method ${JSON.stringify(ix.method)} (this database has: ${methods.join(', ')})`);
      }
    }
  }
  refuseManifest(problems);
}

/** A description becomes a comment (COMMENT ON … IS '…'): PostgreSQL text cannot hold a NUL, and the step would fail half-way through a run. */
function commentProblems(desired: readonly DesiredTable[]): string[] {
  return desired
    .flatMap((t) => [...t.checks, ...t.foreignKeys, ...t.indexes])
    .filter((o) => o.description?.includes('\u0000'))
    .map((o) => `${o.path}.description: ${o.name}: contains a NUL character, which a PostgreSQL comment cannot hold`);
}

async function indexAccessMethods(db: Kysely<unknown>): Promise<string[]> {
  const { rows } = await sql<{ amname: string }>`select amname from pg_am where amtype = ${'i'} order by amname`.execute(db);
  return rows.map((r) => r.amname);
}
