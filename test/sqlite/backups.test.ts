import { chmodSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backupDatabase } from '../../src/dialect/sqlite/backup.js';
import { runCli } from '../cli/run-cli.js';
import { query, seededFile } from './helpers.js';

/**
 * A backup holds every row of the database: it must be no more readable than
 * the file itself, must not pile up without end, and rollback (whose undo of a
 * rebuild is a rebuild) takes the same --no-backup apply's notice suggests.
 */
const seed = `CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO t (n) VALUES (1), (2);`;
const backupsIn = (dir: string) => readdirSync(dir).filter((f) => f.includes('.schema-diff-backup-')).sort();

let umaskWas: number;
beforeAll(() => {
  // The usual umask: without care, a new file is 0644, readable by everyone.
  umaskWas = process.umask(0o022);
});
afterAll(() => process.umask(umaskWas));

test('a backup of a 0600 database is 0600', () => {
  const file = seededFile(seed);
  try {
    chmodSync(file.path, 0o600);
    const copy = backupDatabase(file.path);
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    expect(query(copy, 'SELECT count(*) AS n FROM t')).toEqual([{ n: 2 }]);
  } finally {
    file.dispose();
  }
});

test('only the newest N backups of this database are kept; other files of the folder are left alone', () => {
  const file = seededFile(seed);
  try {
    const strangers = ['other.schema-diff-backup-20200101-000000.db', 'test.db.bak', 'test.schema-diff-backup-notes.txt'];
    for (const s of strangers) writeFileSync(join(file.dir, s), 'x');
    const made = [1, 2, 3, 4, 5].map((day) => backupDatabase(file.path, 2, new Date(Date.UTC(2025, 0, day))));
    const sameSecond = backupDatabase(file.path, 2, new Date(Date.UTC(2025, 0, 5)));
    expect(backupsIn(file.dir)).toEqual(
      [made[4], sameSecond].map((p) => p.slice(file.dir.length + 1)).concat('other.schema-diff-backup-20200101-000000.db', 'test.schema-diff-backup-notes.txt').sort(),
    );
    expect(readdirSync(file.dir)).toContain('test.db.bak');
  } finally {
    file.dispose();
  }
});

test('CLI: apply --keep-backups bounds the copies, rollback --no-backup is accepted and writes none', async () => {
  const file = seededFile(seed);
  try {
    chmodSync(file.path, 0o600);
    const url = `sqlite:///${file.path}`;
    const manifest = (expr: string) => {
      const path = join(file.dir, 'manifest.json');
      writeFileSync(path, JSON.stringify({ version: 1, tables: { t: { checks: [{ name: 'ck_n', expr }] } } }));
      return path;
    };
    for (const expr of ['n > 0', 'n > -1', 'n > -2']) {
      const applied = await runCli(['apply', '-m', manifest(expr), '-d', url, '--yes', '--keep-backups', '2']);
      expect(applied.stderr).toContain('--no-backup skips it');
      expect(applied.code).toBe(0);
    }
    const kept = backupsIn(file.dir);
    expect(kept).toHaveLength(2);
    for (const k of kept) expect(statSync(join(file.dir, k)).mode & 0o777).toBe(0o600);

    const rolled = await runCli(['rollback', '-d', url, '--yes', '--no-backup']);
    expect(rolled.stderr).not.toMatch(/error|backup of the database/);
    expect(rolled.code).toBe(0);
    expect(backupsIn(file.dir)).toEqual(kept);

    const bad = await runCli(['rollback', '-d', url, '--yes', '--keep-backups', '0']);
    expect(bad.stderr).toMatch(/^error: --keep-backups: expected a whole number >= 1/);
  } finally {
    file.dispose();
  }
});
