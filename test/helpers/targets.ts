import { PGlite } from '@electric-sql/pglite';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dialect } from '../../src/dialect/dialect.js';
import { openDialect } from '../../src/dialect/open.js';
import { createTestDatabase, runSql } from './postgres.js';

/**
 * One throwaway database of each kind, seeded with an SQL script, opened
 * behind the Dialect interface. Tests loop over these kinds.
 */
export interface TestTarget {
  readonly dialect: Dialect;
  /** The URL the CLI would be given. */
  readonly url: string;
  /** Runs SQL directly, outside schema-diff. */
  sql(text: string): Promise<Record<string, unknown>[]>;
  dispose(): Promise<void>;
}

export type TargetKind = 'postgres' | 'pglite' | 'sqlite';

export async function postgresTarget(seed: string): Promise<TestTarget> {
  const db = await createTestDatabase();
  await runSql(db.url, seed);
  const dialect = await openDialect(db.url);
  return {
    dialect,
    url: db.url,
    sql: async (text) => (await runSql(db.url, text)).rows,
    dispose: async () => {
      await dialect.close();
      await db.drop();
    },
  };
}

/** A throwaway server database seeded with `seed`, its dialect open for `body`, dropped after. */
export async function onPostgres(seed: string, body: (target: TestTarget) => Promise<void>): Promise<void> {
  const target = await postgresTarget(seed);
  try {
    await body(target);
  } finally {
    await target.dispose();
  }
}

/** A fresh PGlite per target: PGlite starts in ~2 s, so files share one where they can. */
export async function pgliteTarget(seed: string, instance?: PGlite): Promise<TestTarget> {
  const db = instance ?? new PGlite();
  if (instance) await db.exec('drop schema if exists public cascade; drop schema if exists schema_diff cascade; create schema public;');
  await db.exec(seed);
  const dialect = await openDialect('pglite:memory', { pglite: db });
  return {
    dialect,
    url: 'pglite:memory',
    sql: async (text) => {
      const results = await db.exec(text);
      return (results.at(-1)?.rows ?? []) as Record<string, unknown>[];
    },
    dispose: async () => {
      await dialect.close();
      if (!instance) await db.close();
    },
  };
}

/** options: the URL's query, e.g. '?defensive=on' (SQLite's rebuild path). */
export async function sqliteTarget(seed: string, options = ''): Promise<TestTarget & { path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sd-sqlite-'));
  const path = join(dir, 'test.db');
  const raw = new Database(path);
  raw.exec(seed);
  raw.close();
  const dialect = await openDialect(`sqlite:///${path}${options}`);
  return {
    dialect,
    url: `sqlite:///${path}${options}`,
    path,
    sql: async (text) => {
      const c = new Database(path);
      try {
        const stmt = c.prepare(text);
        return stmt.reader ? (stmt.all() as Record<string, unknown>[]) : (stmt.run(), []);
      } finally {
        c.close();
      }
    },
    dispose: async () => {
      await dialect.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
