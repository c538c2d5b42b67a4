import Database from 'better-sqlite3';
import { closeSync, existsSync, fchmodSync, openSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { quoteString } from './quote.js';

/** How many backups of one database are kept when the caller does not say (apply/rollback --keep-backups). */
export const DEFAULT_KEEP_BACKUPS = 3;

/**
 * Writes a copy of the database with VACUUM INTO, from a second, read-only
 * connection: the apply's connection already holds the write lock (so the copy
 * is exactly the state the rebuild starts from, and nobody can write in
 * between), and VACUUM cannot run inside its transaction. A reader may read
 * while a RESERVED lock is held; in WAL mode, always. Then only the newest
 * `keep` backups of this database are kept.
 */
export function backupDatabase(path: string, keep = DEFAULT_KEEP_BACKUPS, now = new Date()): string {
  const target = backupPath(path, now);
  createWithModeOf(path, target);
  const reader = new Database(path, { readonly: true, fileMustExist: true });
  try {
    reader.prepare(`VACUUM INTO ${quoteString(target)}`).run();
  } catch (e) {
    unlinkSync(target);
    throw e;
  } finally {
    reader.close();
  }
  pruneBackups(path, keep);
  return target;
}

/**
 * The copy holds every row of the database: it gets the database file's
 * permissions, not the umask's. Created empty first (VACUUM INTO accepts an
 * empty file) so that it is never readable by others, not even for a moment.
 */
function createWithModeOf(source: string, target: string): void {
  const mode = statSync(source).mode & 0o777;
  const fd = openSync(target, 'wx', mode & 0o700);
  try {
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/** `dir/name.schema-diff-backup-20250102-030405.db`: beside the file, openable as a .db path, never overwritten. */
function backupPath(path: string, now: Date): string {
  const { dir, stem, ext } = partsOf(path);
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  let candidate = join(dir, `${stem}.schema-diff-backup-${stamp}${ext}`);
  for (let n = 2; existsSync(candidate); n++) candidate = join(dir, `${stem}.schema-diff-backup-${stamp}-${n}${ext}`);
  return candidate;
}

function partsOf(path: string) {
  return { dir: dirname(path), stem: basename(path, extname(path)), ext: extname(path) || '.db' };
}

/**
 * Removes all but the newest `keep` backups of this database: only files whose
 * name is exactly one backupPath gives for it, never another file of the folder.
 */
export function pruneBackups(path: string, keep: number): string[] {
  const { dir, stem, ext } = partsOf(path);
  const pattern = new RegExp(`^${escapeRegExp(stem)}\\.schema-diff-backup-(\\d{8}-\\d{6})(?:-(\\d+))?${escapeRegExp(ext)}$`);
  const ours = readdirSync(dir)
    .map((name) => ({ name, m: pattern.exec(name) }))
    .filter((f): f is { name: string; m: RegExpExecArray } => f.m !== null)
    .map((f) => ({ name: f.name, stamp: f.m[1], n: Number(f.m[2] ?? 1) }))
    .sort((a, b) => (a.stamp === b.stamp ? b.n - a.n : a.stamp < b.stamp ? 1 : -1));
  const removed = ours.slice(Math.max(keep, 1)).map((f) => join(dir, f.name));
  for (const file of removed) unlinkSync(file);
  return removed;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
