import { SchemaDiffError } from '../errors.js';
import { printable } from '../schema/printable.js';

/**
 * An Alembic revision id is written into Python source (revision = '…') and
 * names the revision file: letters, digits and _ only, checked before any
 * database is opened.
 */
export function checkRevisionId(flag: string, id: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(id)) throw new SchemaDiffError('usage', `${flag} ${JSON.stringify(printable(id))}: a revision id is letters, digits and _ only`);
  return id;
}
