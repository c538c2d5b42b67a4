import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplyOptions } from '../../src/run/apply.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { testApplyOptions } from '../helpers/options.js';

export const applyOptions: ApplyOptions = { ...testApplyOptions, manifestPath: 'test-manifest' };

/** A fresh file seeded with SQL, in its own temporary directory (removed by dispose). */
export function seededFile(seed: string): { path: string; dir: string; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sd-sqlite-'));
  const path = join(dir, 'test.db');
  const db = new Database(path);
  db.exec(seed);
  db.close();
  return { path, dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a read on its own connection (never the dialect's). */
export function query<T = Record<string, unknown>>(path: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path, { fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** name → CREATE text of every object of the file, except schema-diff's own journal. */
/** Runs a statement on its own connection (foreign_keys on, as better-sqlite3 opens it). */
export function run(path: string, sql: string, ...params: unknown[]): void {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

export function schemaTexts(path: string): Record<string, string> {
  const rows = query<{ type: string; name: string; sql: string }>(
    path,
    `SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'schema_diff_%' ORDER BY type, name`,
  );
  return Object.fromEntries(rows.map((r) => [`${r.type} ${r.name}`, r.sql]));
}

/** Per user table: row count and a digest of every row (rowid included where there is one), in key order. */
export function tableChecksums(path: string): Record<string, { rows: number; digest: string }> {
  const db = new Database(path, { fileMustExist: true, readonly: true });
  try {
    const tables = db
      .prepare(`SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'schema_diff_%' ORDER BY name`)
      .all() as Array<{ name: string; sql: string }>;
    const out: Record<string, { rows: number; digest: string }> = {};
    for (const t of tables) {
      const q = `"${t.name.replace(/"/g, '""')}"`;
      const withoutRowid = /WITHOUT\s+ROWID/i.test(t.sql);
      const select = withoutRowid ? `SELECT * FROM ${q} ORDER BY 1` : `SELECT _rowid_ AS __rowid, * FROM ${q} ORDER BY _rowid_`;
      const hash = createHash('sha256');
      let rows = 0;
      for (const row of db.prepare(select).iterate()) {
        hash.update(JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) ? v.toString('hex') : v)));
        rows++;
      }
      out[t.name] = { rows, digest: hash.digest('hex') };
    }
    return out;
  } finally {
    db.close();
  }
}

export function fileDigest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function manifestOf(tables: LoadedManifest['tables']): LoadedManifest {
  return { version: 1, tables };
}
