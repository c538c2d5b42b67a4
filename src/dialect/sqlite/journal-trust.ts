import { statSync } from 'node:fs';
import { SchemaDiffError } from '../../errors.js';

/**
 * SQLite has no owners inside a file: the journal tables are as trustworthy
 * as the file, and whoever can write the file can write them. So rollback
 * refuses a file that another user owns or that others may write (the
 * permission bits; ACLs and the folder are the operator's part, docs/rollback.md).
 * root, which may read everyone's files, trusts only files root owns.
 */
export function checkSqliteJournalTrust(path: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return; // Windows: no POSIX owner to compare
  const st = statSync(path);
  if (st.uid !== uid) {
    throw new SchemaDiffError(
      'refused',
      `${path} is owned by uid ${st.uid}, not by the user running schema-diff (uid ${uid}); its journal could say anything: ` +
        'run rollback as the file\'s owner (docs/rollback.md)',
    );
  }
  if ((st.mode & 0o002) !== 0) {
    throw new SchemaDiffError(
      'refused',
      `${path} is writable by every user (mode ${(st.mode & 0o777).toString(8)}); its journal could say anything: chmod o-w it first (docs/rollback.md)`,
    );
  }
}
