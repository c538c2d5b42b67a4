import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import pg from 'pg';

/**
 * Everything a hostile input could have changed, as one comparable text:
 * relations, constraints (with their validation state), indexes (with their
 * validity), schemas and their owners, and a hash of every row of every
 * table outside the system schemas (the journal included). Temporary schemas
 * are left out: another session's temp tables are not ours to judge.
 */
export async function postgresSnapshot(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const userSchemas = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'`;
    const { rows: catalog } = await client.query<{ line: string }>(`
      select line from (
        select format('relation %I.%I kind=%s', n.nspname, c.relname, c.relkind) as line
          from pg_class c join pg_namespace n on n.oid = c.relnamespace where ${userSchemas}
        union all
        select format('constraint %s %I validated=%s %s', c.conrelid::regclass, c.conname, c.convalidated, pg_get_constraintdef(c.oid))
          from pg_constraint c join pg_namespace n on n.oid = c.connamespace where ${userSchemas}
        union all
        select format('index %s valid=%s %s', i.indexrelid::regclass, i.indisvalid, pg_get_indexdef(i.indexrelid))
          from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace where ${userSchemas}
        union all
        select format('schema %I owner=%s', n.nspname, n.nspowner::regrole) from pg_namespace n where ${userSchemas}
      ) s order by line`);
    const { rows: tables } = await client.query<{ qualified: string }>(`
      select format('%I.%I', n.nspname, c.relname) as qualified
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where c.relkind in ('r', 'p') and ${userSchemas}
       order by 1`);
    const rowHashes: string[] = [];
    for (const { qualified } of tables) {
      const { rows } = await client.query<{ n: string; h: string | null }>(
        `select count(*)::text as n, md5(string_agg(t::text, E'\\n' order by t::text)) as h from ${qualified} t`,
      );
      rowHashes.push(`rows ${qualified} n=${rows[0].n} md5=${rows[0].h}`);
    }
    return [...catalog.map((r) => r.line), ...rowHashes].join('\n');
  } finally {
    await client.end();
  }
}

/**
 * An SQLite database byte for byte: the file and any -wal/-journal beside it,
 * and the names of the files in its directory (a refused command writes no backup).
 */
export function sqliteSnapshot(path: string): string {
  const hash = (p: string) => (existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'absent');
  // The apply lock is an empty side file that stays by design (src/dialect/sqlite/lock.ts): not a change.
  const files = readdirSync(dirname(path))
    .filter((f) => !f.endsWith('.schema-diff-lock'))
    .sort();
  return [
    `file ${hash(path)}`,
    `wal ${hash(`${path}-wal`)}`,
    `journal ${hash(`${path}-journal`)}`,
    `directory ${files.join(' ')}`,
  ].join('\n');
}

/** Runs SQL on an SQLite file outside schema-diff (setup of a hostile journal row, say). */
export function sqliteRun(path: string, text: string): void {
  const db = new Database(path);
  try {
    db.exec(text);
  } finally {
    db.close();
  }
}
