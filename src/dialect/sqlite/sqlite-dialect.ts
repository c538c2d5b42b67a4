import { SchemaDiffError } from '../../errors.js';
import type { Dialect } from '../dialect.js';

export async function openSqliteDialect(path: string): Promise<Dialect> {
  throw new SchemaDiffError('usage', `SQLite is not supported yet (${path})`);
}
