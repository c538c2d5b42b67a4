import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { quoteString } from './quote.js';

/**
 * Writes a copy of the database with VACUUM INTO, from a second, read-only
 * connection: the apply's connection already holds the write lock (so the copy
 * is exactly the state the rebuild starts from, and nobody can write in
 * between), and VACUUM cannot run inside its transaction. A reader may read
 * while a RESERVED lock is held; in WAL mode, always.
 */
export function backupDatabase(path: string, now = new Date()): string {
  const target = backupPath(path, now);
  const reader = new Database(path, { readonly: true, fileMustExist: true });
  try {
    reader.prepare(`VACUUM INTO ${quoteString(target)}`).run();
  } finally {
    reader.close();
  }
  return target;
}

/** `dir/name.schema-diff-backup-20250102-030405.db`: beside the file, openable as a .db path, never overwritten. */
function backupPath(path: string, now: Date): string {
  const ext = extname(path) || '.db';
  const stem = basename(path, extname(path));
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  let candidate = join(dirname(path), `${stem}.schema-diff-backup-${stamp}${ext}`);
  for (let n = 2; existsSync(candidate); n++) candidate = join(dirname(path), `${stem}.schema-diff-backup-${stamp}-${n}${ext}`);
  return candidate;
}
