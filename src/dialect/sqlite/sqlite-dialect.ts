import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { SchemaDiffError } from '../../errors.js';
import type { Catalog, DesiredTable, TableRef } from '../../schema/types.js';
import { qualifiedName } from '../../schema/types.js';
import type { Dialect } from '../dialect.js';
import { checkManifestSqlite } from './check-manifest.js';
import { DEFAULT_BUSY_MS, executeSqlite } from './execute.js';
import { finishRun, markInterrupted, readHistory, recordRun, reserveRun, runExists, unfinishedRuns, writeRun, type PendingRun } from './history.js';
import { introspectSqlite, listSqliteTables, type RawTable } from './introspect.js';
import { inverseOfSqlite } from './inverse.js';
import { inverseNowSqlite } from './journal-indexes.js';
import { checkSqliteJournalTrust } from './journal-trust.js';
import { lockFile } from './lock.js';
import { normalizeSqlite } from './normalize.js';
import { renderSqlite } from './render.js';
import { probeSchemaEdit, type SchemaEditPolicy } from './schema-edit.js';
import { scriptRendererFor } from '../scripts.js';
import { sqliteMessage } from './sqlite-error.js';
import { undoPartSqlite } from './undo-part.js';
import { countViolationsSqlite } from './violations.js';
import { fileVersion, rowProofOf, type RowProof } from './row-proof.js';

export interface SqliteDialect extends Dialect {
  readonly path: string;
}

/**
 * The SQLite dialect over one better-sqlite3 connection to an existing file
 * (a missing file is an error: never create an empty database by accident).
 * The CREATE TABLE texts that render needs are kept beside each catalog this
 * dialect reads, keyed by the catalog object itself. A run announced by
 * startRun is written by execute, in the apply's transaction.
 */
export async function openSqliteDialect(path: string, options: { readOnly?: boolean; defensive?: boolean } = {}): Promise<SqliteDialect> {
  // Read-only commands: the file is opened read-only by SQLite itself, and query_only on top, two locks on one door.
  const db = openFile(path, options.readOnly === true);
  const keepDefensive = options.defensive === true;
  let editPolicy: SchemaEditPolicy | null = null;
  if (options.readOnly) db.pragma('query_only = ON');
  // Expressions are parsed on an empty in-memory database: they need only the columns, and the file is never written.
  let scratch: Database.Database | null = null;
  const probes = () => (scratch ??= new Database(':memory:'));
  const rawByCatalog = new WeakMap<Catalog, ReadonlyMap<string, RawTable>>();
  const pending = new Map<number, PendingRun>();
  let reader: Database.Database | null = null;
  const readOnly = () => (reader ??= new Database(path, { readonly: true, fileMustExist: true, timeout: DEFAULT_BUSY_MS }));
  // what the last count of existing rows proved (apply's check before its steps), for an edit step's scan;
  // none once a caller's script has run on this connection (exec): its settings are no longer known to be those
  // of the connection the count reads on (case_sensitive_like, a function registered …)
  let proof: RowProof | null = null;
  let scriptRun = false;

  const dialect: SqliteDialect = {
    name: 'sqlite',
    target: `sqlite:///${path}`,
    defaultSchema: 'main',
    hasSchemas: false,
    supportsNotValid: false,
    unnamedConstraints: true,
    path,

    checkManifest: async (desired: readonly DesiredTable[]) => checkManifestSqlite(desired),
    // one schema, main: asking for any other names none of its tables
    listTables: async (schemas: readonly string[] | null) => (schemas === null || schemas.includes('main') ? listSqliteTables(db) : []),
    async introspect(tables: readonly TableRef[]) {
      const { catalog, raw } = introspectSqlite(db, tables);
      rawByCatalog.set(catalog, raw);
      return catalog;
    },
    normalize: async (desired: readonly DesiredTable[], catalog: Catalog) => normalizeSqlite(probes(), desired, catalog),
    render(changes, catalog, options) {
      const raw = rawByCatalog.get(catalog);
      if (!raw) throw new Error('SQLite render needs a catalog read by the same dialect (its CREATE TABLE texts)');
      return renderSqlite(changes, catalog, raw, options, (editPolicy ??= probeSchemaEdit(db, keepDefensive)));
    },
    script: scriptRendererFor('sqlite'),

    async countViolations(targets, options) {
      const tables = [...new Map(targets.flatMap((t) => [t.table, ...(t.kind === 'foreign_key' ? [t.refTable] : [])]).map((r) => [qualifiedName(r), r])).values()];
      const { catalog } = introspectSqlite(db, tables);
      // read before the count, on this connection (the count reads on another): see row-proof.ts
      const version = fileVersion(db);
      const counts = countViolationsSqlite(readOnly(), catalog, targets, options);
      proof = scriptRun ? null : rowProofOf(version, targets, counts, options);
      return counts;
    },

    lock: (waitMs: number) => lockFile(path, waitMs),
    execute: (steps, record, options) => {
      // a proof serves the one execute that follows its count
      const given = proof;
      proof = null;
      return executeSqlite(db, path, steps, record, options, pending.get(record.runId), keepDefensive, given);
    },
    // The planned steps are not journaled: the run row and every step commit together, or nothing does.
    async startRun(kind, manifest, fingerprint) {
      const run = reserveRun(db, kind, manifest, fingerprint);
      pending.set(run.id, run);
      return run.id;
    },
    async finishRun(runId, status) {
      const run = pending.get(runId);
      pending.delete(runId);
      if (!run || runExists(db, runId)) finishRun(db, runId, status);
      // A failed run whose transaction rolled back changed nothing, and the file stays exactly as it was.
      else if (status === 'done') writeRun(db, run, status);
    },
    unfinishedRuns: async () => unfinishedRuns(db),
    async markInterrupted(runId) {
      markInterrupted(db, runId);
    },
    history: async () => readHistory(db),
    async recordRun(kind, manifest, steps) {
      const run = reserveRun(db, kind, manifest, '');
      recordRun(db, run, steps);
      return run.id;
    },
    inverseOf: inverseOfSqlite,
    inverseNow: inverseNowSqlite,
    undoPart(step, objects, catalog) {
      const raw = rawByCatalog.get(catalog);
      if (!raw) throw new Error('SQLite undoPart needs a catalog read by the same dialect (its CREATE TABLE texts)');
      return undoPartSqlite(step, objects, catalog, raw, (editPolicy ??= probeSchemaEdit(db, keepDefensive)));
    },
    async checkJournalTrust() {
      checkSqliteJournalTrust(path);
    },
    applicationNotes: () => [FOREIGN_KEYS_NOTE],
    async exec(script: string) {
      proof = null;
      scriptRun = true;
      db.exec(script);
    },
    async close() {
      reader?.close();
      scratch?.close();
      db.close();
    },
  };
  return dialect;
}

/**
 * SQLite enforces foreign keys, and runs their ON DELETE / ON UPDATE actions,
 * only on connections that ask: the setting is per connection, off by default
 * in SQLite itself (sqlite3 shell, Python's sqlite3, SQLAlchemy), on in
 * better-sqlite3. Nothing in the file can tell.
 */
const FOREIGN_KEYS_NOTE =
  'note: SQLite enforces foreign keys (and their ON DELETE/ON UPDATE actions) only on connections that run ' +
  '"PRAGMA foreign_keys = ON"; it is off by default in SQLite (sqlite3, Python, SQLAlchemy) and must be turned on ' +
  'by the application on every connection (docs/dialects.md)';

function openFile(path: string, readonly: boolean): Database.Database {
  if (!existsSync(path)) throw new SchemaDiffError('connection', `SQLite database ${path} does not exist (schema-diff never creates one)`);
  if (statSync(path).isDirectory()) throw new SchemaDiffError('connection', `SQLite database ${path} is a directory`);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly, fileMustExist: true, timeout: DEFAULT_BUSY_MS });
    db.prepare('SELECT count(*) FROM main.sqlite_schema').get();
    return db;
  } catch (e) {
    db?.close();
    throw new SchemaDiffError('connection', `cannot open SQLite database ${path}: ${sqliteMessage(e)}`);
  }
}
