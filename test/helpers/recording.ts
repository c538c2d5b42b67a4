import type { KyselyPlugin, RootOperationNode } from 'kysely';
import type { Dialect } from '../../src/dialect/dialect.js';
import { connectPostgres } from '../../src/dialect/postgres/connect.js';
import { createPostgresDialect } from '../../src/dialect/postgres/postgres-dialect.js';

/** A read-only PostgreSQL dialect that records every statement it sends (both connections), as its SQL fragments' text. */
export async function recordingDialect(url: string): Promise<{ dialect: Dialect; statements: string[] }> {
  const statements: string[] = [];
  const recorder: KyselyPlugin = {
    transformQuery({ node }) {
      const raw = node as RootOperationNode & { sqlFragments?: readonly string[] };
      statements.push(raw.sqlFragments ? raw.sqlFragments.join('?') : node.kind);
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  const handles = await connectPostgres(url, { readOnly: true });
  const dialect = createPostgresDialect({ ...handles, session: handles.session.withPlugin(recorder), pool: handles.pool.withPlugin(recorder) });
  return { dialect, statements };
}
