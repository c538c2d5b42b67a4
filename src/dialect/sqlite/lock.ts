import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { SchemaDiffError } from '../../errors.js';
import { sqliteMessage } from './sqlite-error.js';

/**
 * Serialises appliers of one database file without blocking the application.
 * A lock on the database itself would stop the application's writers for as
 * long as apply waits for its confirmation, so the lock is SQLite's own
 * EXCLUSIVE lock on an empty side file (`<file>.schema-diff-lock`): the
 * operating system drops it when the process dies, even by kill -9, and it is
 * honoured between connections of one process as between processes. The side
 * file stays (deleting it while another applier waits on it would let a third
 * one in beside the second). Writes themselves are serialised by the apply's
 * BEGIN IMMEDIATE, whatever holds this lock. The side file sits beside the
 * database's real path: an applier reaching the file through a symlink (or
 * another relative path) must meet the same lock.
 */
export async function lockFile(databasePath: string, waitMs: number): Promise<() => Promise<void>> {
  const path = `${realPathOf(databasePath)}.schema-diff-lock`;
  let db: Database.Database;
  try {
    db = new Database(path);
    db.pragma('busy_timeout = 0');
  } catch (e) {
    throw new SchemaDiffError('refused', `cannot create the apply lock ${path}: ${sqliteMessage(e)}; nothing was changed`);
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      db.exec('BEGIN EXCLUSIVE');
      break;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY') {
        db.close();
        throw e;
      }
      if (Date.now() >= deadline) {
        db.close();
        throw new SchemaDiffError(
          'refused',
          `another schema-diff apply or rollback is running on this database (it holds ${path}); nothing was changed`,
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(100, Math.max(1, deadline - Date.now()))));
    }
  }
  return async () => {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  };
}

function realPathOf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
