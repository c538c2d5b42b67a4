import ts from 'typescript';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { postgresSourceOf } from '../../src/dialect/postgres/source-of.js';
import { checkManifest } from '../../src/manifest/check.js';
import { manifestFromCatalog } from '../../src/manifest/pull.js';
import { renderManifestSource } from '../../src/publish/manifest-source.js';
import { loadManifestInNode, packageTempDir } from '../helpers/manifest-files.js';
import type { Catalog, Check, ForeignKey, Index, Table, TableRef } from '../../src/schema/types.js';

/**
 * pull's output as files: a .ts manifest typechecks (untyped, and typed with
 * the user's Kysely DB type) and loads to the very manifest pulled; names and
 * expressions from the database, hostile ones included, stay data.
 */
const HOSTILE_TABLE = 'we"ird */ ${x} `t`\\';
const HOSTILE_CHECK = "ck '\" */ /* `b` ${y} \\u0041";
const HOSTILE_EXPR = "v <> '*/ ${process.exit(1)} `rm -rf` \"\n'";

function table(ref: TableRef, parts: { checks?: Check[]; foreignKeys?: ForeignKey[]; indexes?: Index[]; primaryKey?: string[] }): Table {
  return { ref, columns: [], primaryKey: parts.primaryKey ?? [], checks: parts.checks ?? [], foreignKeys: parts.foreignKeys ?? [], indexes: parts.indexes ?? [], rowEstimate: -1 };
}

const pub = (name: string): TableRef => ({ schema: 'public', name });
const fk = (t: TableRef, name: string, columns: string[], refTable: TableRef, refColumns: string[], extra: Partial<ForeignKey> = {}): ForeignKey => ({
  name, table: t, columns, refTable, refColumns, onDelete: 'no action', onUpdate: 'no action', deferrable: false, initiallyDeferred: false, match: 'simple', validated: true, ...extra,
});
const index = (t: TableRef, name: string, extra: Partial<Index>): Index => ({
  name, table: t, keys: [], unique: false, where: null, method: 'btree', valid: true, constraintBacked: false, ...extra,
});

const orders = pub('orders');
const events: TableRef = { schema: 'audit', name: 'events' };
const hostile = pub(HOSTILE_TABLE);
const CATALOG: Catalog = {
  dialect: 'postgres',
  tables: [
    table(orders, {
      primaryKey: ['id'],
      checks: [{ name: 'ck_total', table: orders, expr: '(total_amount > (0)::numeric)', validated: true }],
      foreignKeys: [fk(orders, 'fk_buyer', ['buyer_id'], pub('users'), ['id'], { onDelete: 'restrict' })],
      indexes: [
        index(orders, 'orders_pkey', { keys: [{ column: 'id' }], unique: true, constraintBacked: true }),
        index(orders, 'ix_status', { keys: [{ column: 'status' }, { expr: 'lower(status)', desc: true }], where: '(total_amount > (0)::numeric)' }),
      ],
    }),
    table(pub('users'), { indexes: [index(pub('users'), 'users_email_key', { keys: [{ column: 'email' }], unique: true, constraintBacked: true, uniqueConstraint: true })] }),
    table(events, { foreignKeys: [fk(events, 'fk_order', ['order_id'], orders, ['id'], { onDelete: 'cascade' })] }),
  ],
};
const HOSTILE_CATALOG: Catalog = {
  dialect: 'postgres',
  tables: [
    table(hostile, {
      checks: [{ name: HOSTILE_CHECK, table: hostile, expr: HOSTILE_EXPR, validated: true }],
      foreignKeys: [fk(hostile, 'fk "x" */', ['a`b'], pub('${p}'), ['i*/d'])],
      indexes: [index(hostile, 'ix */ `${z}`', { keys: [{ column: '"c"' }, { expr: "('*/' || \"`c`\")" }], with: { fillfactor: '70' } })],
    }),
  ],
};

const shape = (tables: readonly TableRef[]) => ({ tables, defaultSchema: 'public', hasSchemas: true, sourceOf: postgresSourceOf });
const pulled = manifestFromCatalog(CATALOG, shape([orders, pub('users'), events])).manifest;
const hostilePulled = manifestFromCatalog(HOSTILE_CATALOG, shape([hostile])).manifest;

let dir = '';
let dispose = () => {};
/** The compiler's diagnostics, one program for every file (a program costs seconds). */
let found: string[] = [];
beforeAll(() => {
  ({ dir, dispose } = packageTempDir('source-'));
  copyFileSync(resolve('test/types/fixtures/shop-db.ts'), join(dir, 'db.ts'));
  writeFileSync(join(dir, 'typed.ts'), renderManifestSource(pulled, { format: 'ts', dbType: './db.js' }));
  writeFileSync(join(dir, 'untyped.ts'), renderManifestSource(pulled, { format: 'ts' }));
  writeFileSync(join(dir, 'hostile.ts'), renderManifestSource(hostilePulled, { format: 'ts' }));
  // a table the DB type does not have
  writeFileSync(join(dir, 'wrong.ts'), renderManifestSource({ version: 1, tables: { ...pulled.tables, ordrs: {} } }, { format: 'ts', dbType: './db.js' }));
  found = diagnostics(['typed.ts', 'untyped.ts', 'hostile.ts', 'wrong.ts']);
}, 120_000);
afterAll(() => dispose());

/** The compiler's diagnostics for the files, as `file:line: message`. */
function diagnostics(files: readonly string[]): string[] {
  const { config } = ts.readConfigFile(resolve('tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, resolve('.'));
  const program = ts.createProgram(files.map((f) => join(dir, f)), { ...options, noEmit: true, types: ['node'] });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    return `${d.file?.fileName ?? ''}:${line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

const load = (file: string) => loadManifestInNode(join(dir, file));

test('the catalog becomes a manifest: primary keys left out, UNIQUE constraints kept, other schemas qualified, defaults left out', () => {
  expect(pulled).toEqual({
    version: 1,
    tables: {
      'audit.events': { foreignKeys: [{ name: 'fk_order', columns: ['order_id'], references: { table: 'orders', columns: ['id'] }, onDelete: 'cascade' }] },
      orders: {
        checks: [{ name: 'ck_total', expr: '(total_amount > (0)::numeric)' }],
        foreignKeys: [{ name: 'fk_buyer', columns: ['buyer_id'], references: { table: 'users', columns: ['id'] }, onDelete: 'restrict' }],
        indexes: [{ name: 'ix_status', columns: ['status', { expr: 'lower(status)', desc: true }], where: '(total_amount > (0)::numeric)' }],
      },
      users: { indexes: [{ name: 'users_email_key', columns: ['email'], unique: true, constraint: true }] },
    },
  });
  expect(checkManifest(hostilePulled)).toBe(hostilePulled);
});

test('the .ts files typecheck: untyped, typed with the DB type (schema-qualified keys), and with hostile names', () => {
  expect(found.filter((d) => !d.includes('wrong.ts'))).toEqual([]);
});

test('with a DB type, a table the type does not have fails to compile: the import is live', () => {
  expect(found.filter((d) => d.includes('wrong.ts')).join('\n')).toMatch(/ordrs/);
});

test('each .ts file loads to exactly the manifest pulled; hostile names and expressions stay inside their literals', () => {
  expect(load('typed.ts')).toEqual(pulled);
  expect(load('untyped.ts')).toEqual(pulled);
  const loaded = load('hostile.ts');
  expect(loaded).toEqual(hostilePulled);
  expect(loaded.tables[HOSTILE_TABLE]?.checks).toEqual([{ name: HOSTILE_CHECK, expr: HOSTILE_EXPR }]);
});

test('JSON output parses to the same manifest; nothing from the database reaches a comment', () => {
  expect(JSON.parse(renderManifestSource(hostilePulled, { format: 'json' }))).toEqual(hostilePulled);
  const source = renderManifestSource(hostilePulled, { format: 'ts' });
  const comments = source.split('\n').filter((l) => l.trimStart().startsWith('//'));
  expect(comments).toEqual(['// Written by `schema-diff pull` from the database as it is: edit it to say what the database should have.']);
});

test('PostgreSQL: an IN list on varchar is written so that it reads back as printed; literals and quoted names are never rewritten', () => {
  expect(postgresSourceOf("((code)::text = ANY ((ARRAY['x'::character varying, 'y'::character varying])::text[]))")).toBe(
    "((code)::text = ANY ((ARRAY['x'::character varying, 'y'::character varying]::character varying[])::text[]))",
  );
  for (const unchanged of [
    "(note <> '(ARRAY[''x''::text])::text[]'::text)",
    "((\"(ARRAY['x'::text])::text[]\")::text = 'a'::text)",
    "((code)::text = ANY ((ARRAY['x'::character varying, 'y'::text])::text[]))",
    '(a > 0)',
  ]) {
    expect(postgresSourceOf(unchanged)).toBe(unchanged);
  }
});
