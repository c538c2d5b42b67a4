import type { KyselyPlugin, RootOperationNode } from 'kysely';
import type { Dialect } from '../../src/dialect/dialect.js';
import { connectPostgres } from '../../src/dialect/postgres/connect.js';
import { createPostgresDialect } from '../../src/dialect/postgres/postgres-dialect.js';

/**
 * A read-only PostgreSQL dialect that records every statement it sends, as its SQL fragments' text: all of them
 * in order (`statements`), and each connection's apart (`on.session`, `on.pool`).
 */
export async function recordingDialect(url: string): Promise<{ dialect: Dialect; statements: string[]; on: { session: string[]; pool: string[] } }> {
  const statements: string[] = [];
  const on = { session: [] as string[], pool: [] as string[] };
  const recorder = (own: string[]): KyselyPlugin => ({
    transformQuery({ node }) {
      const raw = node as RootOperationNode & { sqlFragments?: readonly string[] };
      const text = raw.sqlFragments ? raw.sqlFragments.join('?') : node.kind;
      statements.push(text);
      own.push(text);
      return node;
    },
    transformResult: async ({ result }) => result,
  });
  const handles = await connectPostgres(url, { readOnly: true });
  const dialect = createPostgresDialect({ ...handles, session: handles.session.withPlugin(recorder(on.session)), pool: handles.pool.withPlugin(recorder(on.pool)) });
  return { dialect, statements, on };
}
