import type Database from 'better-sqlite3';
import { SchemaDiffError } from '../../errors.js';
import type { Catalog, DesiredIndex, DesiredTable, IndexKey, Table } from '../../schema/types.js';
import { findTable, freeze, unnamedCheckName } from '../../schema/types.js';
import { normalizeExpression, soleColumn } from './expression.js';
import { quoteIdent } from './quote.js';
import { sqliteMessage } from './sqlite-error.js';

const PROBE = 'schema_diff_probe';

/**
 * Brings the manifest's expressions to the canonical spelling the catalog's
 * are read in (see expression.ts), after letting SQLite itself parse each one:
 * a CHECK is declared on an empty TEMP copy of the table's columns, an index is
 * created on it. `db` is a scratch in-memory database, never the user's file.
 */
export function normalizeSqlite(db: Database.Database, desired: readonly DesiredTable[], catalog: Catalog): readonly DesiredTable[] {
  const problems: string[] = [];
  const result = desired.map((table) => {
    const live = findTable(catalog, table.ref);
    return live ? normalizeTable(db, table, live, problems) : table;
  });
  if (problems.length > 0) {
    const head = problems.length === 1 ? problems[0] : `${problems.length} expressions do not parse: ${problems[0]} …`;
    throw new SchemaDiffError('manifest', `manifest ${head}`, problems);
  }
  return freeze(result);
}

function normalizeTable(db: Database.Database, table: DesiredTable, live: Table, problems: string[]): DesiredTable {
  const columns = live.columns.map((c) => c.name);
  const columnDefs = live.columns.map((c) => `${quoteIdent(c.name)} ${c.type}`.trim()).join(', ');
  const checks = table.checks.map((check) => {
    const ok = probe(db, `CREATE TEMP TABLE ${PROBE} (${columnDefs}, CHECK (${check.expr}))`, `${check.path}.expr`, problems);
    if (!ok) return check;
    const expr = normalizeExpression(check.expr, columns);
    // an unnamed CHECK is known by its expression in the catalog's spelling
    return { ...check, expr, ...(check.unnamed ? { name: unnamedCheckName(expr) } : {}) };
  });
  const indexes = table.indexes.map((index) => {
    const statement = [`CREATE TEMP TABLE ${PROBE} (${columnDefs})`, createIndexSql(`${PROBE}_ix`, PROBE, index)];
    const ok = probe(db, statement, index.path, problems);
    return ok ? normalizeIndex(index, columns) : index;
  });
  return { ...table, checks, indexes };
}

function normalizeIndex(index: DesiredIndex, columns: readonly string[]): DesiredIndex {
  const keys = index.keys.map((k): IndexKey => {
    const options = { ...(k.desc ? { desc: true } : {}), ...(k.collate !== undefined ? { collate: k.collate.toUpperCase() } : {}) };
    if ('column' in k) return { column: k.column, ...options };
    const column = soleColumn(k.expr, columns);
    return column !== null ? { column, ...options } : { expr: normalizeExpression(k.expr, columns), ...options };
  });
  return { ...index, keys, where: index.where === null ? null : normalizeExpression(index.where, columns) };
}

/** Runs probe statements; a failure becomes a manifest problem. The probe table is always dropped. */
function probe(db: Database.Database, statements: string | readonly string[], path: string, problems: string[]): boolean {
  try {
    for (const s of typeof statements === 'string' ? [statements] : statements) db.prepare(s).run();
    return true;
  } catch (e) {
    problems.push(`${path}: ${sqliteMessage(e)}`);
    return false;
  } finally {
    db.prepare(`DROP TABLE IF EXISTS temp.${PROBE}`).run();
  }
}

/** CREATE INDEX for an index of the manifest (render writes it into the database as is). */
export function createIndexSql(name: string, table: string, index: Pick<DesiredIndex, 'unique' | 'keys' | 'where'>): string {
  const keys = index.keys.map(renderKey).join(', ');
  return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(name)} ON ${table} (${keys})${index.where ? ` WHERE ${index.where}` : ''}`;
}

/** `a COLLATE "NOCASE" DESC`: the collation a name (quoted), as SQLite's grammar takes it after the expression. */
function renderKey(key: IndexKey): string {
  const target = 'column' in key ? quoteIdent(key.column) : key.expr;
  const collate = key.collate !== undefined ? ` COLLATE ${quoteIdent(key.collate)}` : '';
  return `${target}${collate}${key.desc ? ' DESC' : ''}`;
}
