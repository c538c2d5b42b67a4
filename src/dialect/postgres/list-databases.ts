import { sql } from 'kysely';
import { SchemaDiffError } from '../../errors.js';
import { connectPostgres } from './connect.js';

/**
 * Runs the user's query listing a fleet's databases (--targets-query) on a
 * read-only connection, as one statement of the extended protocol; the first
 * column of each row is a database name, taken as data.
 */
export async function listDatabaseNames(url: string, query: string): Promise<string[]> {
  const handles = await connectPostgres(url, { poolSize: 1, readOnly: true });
  try {
    let rows: readonly Record<string, unknown>[];
    try {
      rows = (await sql.raw(query).execute(handles.session)).rows as Record<string, unknown>[];
    } catch (e) {
      throw new SchemaDiffError('usage', `--targets-query failed on ${handles.target}: ${(e as Error).message}`);
    }
    return rows.map((row) => {
      const value = Object.values(row)[0];
      if (typeof value !== 'string' || value === '') {
        throw new SchemaDiffError('usage', '--targets-query: its first column must hold database names (non-empty text)');
      }
      return value;
    });
  } finally {
    await handles.close();
  }
}
