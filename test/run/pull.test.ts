import { PGlite } from '@electric-sql/pglite';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { SchemaDiffError } from '../../src/errors.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { renderManifestSource } from '../../src/publish/manifest-source.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { pullManifest } from '../../src/run/pull.js';
import { describeEachDatabase, type MakeTarget } from '../helpers/each.js';
import { POSTGRES_OPTIONS_SEED, SQLITE_OPTIONS_SEED } from '../helpers/option-seeds.js';
import { loadManifestInNode, packageTempDir } from '../helpers/manifest-files.js';
import { testApplyOptions } from '../helpers/options.js';
import { pgliteTarget, type TargetKind, type TestTarget } from '../helpers/targets.js';

/**
 * `schema-diff pull` (issue 14): the manifest of what the database has, such
 * that plan against the same database right after has zero steps, on MeStore
 * once its plan is applied and on a schema using every option the manifest
 * can say. Names are data: hostile ones stay inside their string literals.
 */

// what the options seed leaves out: other schemas, methods, actions, deferral, and what the manifest cannot say
const POSTGRES_EXTRAS = `
  create schema sales;
  create table sales.invoices (
    id int primary key,
    account_id int references public.accounts (id) on update cascade deferrable initially deferred,
    backup_account int default 0 constraint fk_backup references accounts (id) on delete set default deferrable,
    amount int, kind text, code varchar(10), note text, period tsrange,
    constraint ck_kind check (kind in ('a', 'b')),
    constraint ck_code check (code in ('x', 'y') and note <> e'line\\nbreak'),
    constraint ex_period exclude using gist (period with &&)
  );
  create index ix_kind_hash on sales.invoices using hash (kind);
  create index ix_period on sales.invoices using gist (period);
  create index ix_open on sales.invoices (amount) where amount > 100 and kind is not null;
  create table public.kinds (kind text primary key);
  alter table sales.invoices add constraint fk_kind foreign key (kind) references public.kinds (kind) on delete cascade;
  create table "we""ird */ \${x} \`t\`" (id int primary key, v int constraint "ck ""q"" */ \`b\` \${y}" check (v > 0));
  create index "ix ""q"" ' */" on "we""ird */ \${x} \`t\`" (v);
  create table "dot.ted" (id int primary key, v int check (v > 0));
  create table lines (id int primary key, v int constraint "ck_line
break" check (v > 0), w int constraint ck_plain check (w > 0));`;

const SQLITE_EXTRAS = `
  CREATE TABLE parents2 (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
  CREATE TABLE kids (
    id INTEGER PRIMARY KEY,
    parent_id INT REFERENCES parents2 ON DELETE CASCADE,
    code TEXT, qty INT CHECK (qty > 0),
    CHECK (qty < 1000),
    CONSTRAINT ck_named CHECK (code <> ''),
    CONSTRAINT fk_code FOREIGN KEY (code) REFERENCES parents2 (code) ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED
  );
  CREATE UNIQUE INDEX ix_kids_partial ON kids (code) WHERE qty > 10;
  CREATE TABLE "we""ird */ \${x} \`t\`" (id INTEGER PRIMARY KEY, v INT CONSTRAINT "ck ""q"" */ \`b\` \${y}" CHECK (v > 0));
  CREATE INDEX "ix ""q"" ' */" ON "we""ird */ \${x} \`t\`" (v);
  CREATE TABLE "dot.ted" (id INTEGER PRIMARY KEY, v INT CHECK (v > 0));`;

const HOSTILE_TABLE = 'we"ird */ ${x} `t`';

// one PGlite for the file (it starts in seconds): each target resets its schemas
let sharedPglite: PGlite | undefined;
afterAll(async () => sharedPglite?.close());
const makeFor = (make: MakeTarget, kind: TargetKind): MakeTarget =>
  kind === 'pglite' ? (seed) => pgliteTarget(seed, (sharedPglite ??= new PGlite())) : make;

async function planSteps(target: TestTarget, manifest: LoadedManifest): Promise<string[]> {
  const { plan } = await preparePlan(target.dialect, manifest, 'pulled');
  return plan.steps.map((s) => `${s.action} ${s.table} ${s.name}`);
}

/** A generated .ts manifest, in a file that imports 'schema-diff' as a project's would. */
function writeInPackage(name: string, text: string): { path: string; dispose: () => void } {
  const { dir, dispose } = packageTempDir('pull-');
  writeFileSync(join(dir, name), text);
  return { path: join(dir, name), dispose };
}

describeEachDatabase(['postgres', 'pglite', 'sqlite'], 'pull on MeStore with its plan applied', (make, kind) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await makeFor(make, kind)(baselineSchema(kind === 'sqlite' ? 'sqlite' : 'postgres') + demoRows());
    await applyManifest(target.dialect, mestore, testApplyOptions);
  }, 120_000);
  afterAll(async () => target?.dispose());

  test('every object of the plan is pulled, and plan with the pulled manifest has zero steps', async () => {
    const { manifest, notes, tables } = await pullManifest(target.dialect);
    expect(notes).toEqual([]);
    expect(tables.map((t) => t.name)).toEqual(Object.keys(mestore.tables).sort());
    const names = (m: LoadedManifest) =>
      Object.values(m.tables).flatMap((t) => [...(t?.checks ?? []), ...(t?.foreignKeys ?? []), ...(t?.indexes ?? [])].map((o) => o.name));
    const pulled = new Set(names(manifest));
    for (const name of names(mestore)) expect(pulled).toContain(name);
    expect(await planSteps(target, manifest)).toEqual([]);
  });

  test('a second pull writes the same text (stable order), and the .ts file loads to the same manifest and plans nothing', async () => {
    const first = await pullManifest(target.dialect);
    const second = await pullManifest(target.dialect);
    const ts = renderManifestSource(first.manifest, { format: 'ts' });
    expect(renderManifestSource(second.manifest, { format: 'ts' })).toBe(ts);
    const file = writeInPackage('pulled.ts', ts);
    try {
      const loaded = loadManifestInNode(file.path);
      expect(loaded).toEqual(first.manifest);
      expect(await planSteps(target, loaded)).toEqual([]);
    } finally {
      file.dispose();
    }
  });
});

describeEachDatabase(['postgres', 'pglite', 'sqlite'], 'pull on a schema using every supported option', (make, kind) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await makeFor(make, kind)(kind === 'sqlite' ? SQLITE_OPTIONS_SEED + SQLITE_EXTRAS : POSTGRES_OPTIONS_SEED + POSTGRES_EXTRAS);
  }, 120_000);
  afterAll(async () => target?.dispose());

  test('plan with the pulled manifest has zero steps, through JSON and through TypeScript', async () => {
    const { manifest } = await pullManifest(target.dialect);
    expect(await planSteps(target, manifest)).toEqual([]);
    expect(await planSteps(target, JSON.parse(renderManifestSource(manifest, { format: 'json' })) as LoadedManifest)).toEqual([]);
    const file = writeInPackage('pulled.ts', renderManifestSource(manifest, { format: 'ts' }));
    try {
      expect(loadManifestInNode(file.path)).toEqual(manifest);
    } finally {
      file.dispose();
    }
  });

  test('hostile names are pulled as they are; what the manifest cannot say is named, not dropped silently', async () => {
    const { manifest, notes } = await pullManifest(target.dialect);
    const hostile = manifest.tables[HOSTILE_TABLE];
    expect(hostile?.checks).toEqual([{ name: 'ck "q" */ `b` ${y}', expr: kind === 'sqlite' ? 'v > 0' : '(v > 0)' }]);
    expect(hostile?.indexes).toEqual([{ name: `ix "q" ' */`, columns: ['v'] }]);
    const main = kind === 'sqlite' ? 'main' : 'public';
    const expected = [{ object: `${main}.dot.ted`, reason: expect.stringContaining('a name with a dot') as unknown, skipped: true }];
    if (kind !== 'sqlite') {
      expected.push(
        { object: 'public.lines: check ck_line\\nbreak', reason: expect.stringContaining('control character') as unknown, skipped: true },
        { object: 'sales.invoices: index ex_period', reason: expect.stringContaining('EXCLUDE') as unknown, skipped: true },
      );
      expect(manifest.tables.lines?.checks).toEqual([{ name: 'ck_plain', expr: '(w > 0)' }]);
    }
    expect(notes).toEqual(expected);
  });

  if (kind === 'sqlite') {
    test('unnamed CHECKs and foreign keys go unnamed; omitted parent columns are spelled out', async () => {
      const { manifest } = await pullManifest(target.dialect, { tables: ['kids'] });
      expect(manifest).toEqual({
        version: 1,
        tables: {
          kids: {
            checks: [
              { expr: 'qty < 1000' },
              { expr: 'qty > 0' },
              { name: 'ck_named', expr: "code <> ''" },
            ],
            foreignKeys: [
              { columns: ['parent_id'], references: { table: 'parents2', columns: ['id'] }, onDelete: 'cascade' },
              {
                name: 'fk_code',
                columns: ['code'],
                references: { table: 'parents2', columns: ['code'] },
                onUpdate: 'set null',
                deferrable: true,
                initiallyDeferred: true,
              },
            ],
            indexes: [{ name: 'ix_kids_partial', columns: ['code'], unique: true, where: 'qty > 10' }],
          },
        },
      });
    });
  } else {
    test('every PostgreSQL option is written as the manifest spells it', async () => {
      const { manifest } = await pullManifest(target.dialect, { tables: ['accounts', 'sales.invoices'] });
      expect(Object.keys(manifest.tables)).toEqual(['accounts', 'sales.invoices']);
      const accounts = manifest.tables.accounts;
      expect(accounts?.checks).toEqual([{ name: 'ck_a', expr: '(a > 0)', noInherit: true }]);
      expect(accounts?.foreignKeys).toEqual([
        {
          name: 'fk_parent',
          columns: ['parent_id', 'parent_alt'],
          references: { table: 'parents', columns: ['id', 'alt'] },
          onDelete: { action: 'set null', columns: ['parent_alt'] },
          match: 'full',
        },
      ]);
      const indexes = Object.fromEntries((accounts?.indexes ?? []).map(({ name, ...rest }) => [name, rest]));
      expect(indexes).toEqual({
        accounts_a_b_key: { columns: ['a', 'b'], unique: true, constraint: true },
        accounts_email_key: { columns: ['email'], unique: true, constraint: true },
        ix_collate: { columns: [{ column: 'name', collate: 'C' }] },
        ix_desc: { columns: [{ column: 'a', desc: true, nulls: 'last' }, 'b'] },
        ix_expr: { columns: [{ expr: 'lower(name)', desc: true, collate: 'C' }] },
        ix_fill: { columns: ['b'], with: { fillfactor: 70 } },
        ix_include: { columns: ['a'], unique: true, include: ['b', 'name'] },
        ix_nnd: { columns: ['name'], unique: true, nullsNotDistinct: true },
        ix_nulls: { columns: [{ column: 'b', nulls: 'first' }] },
        ix_pattern: { columns: [{ column: 'name', opclass: 'text_pattern_ops' }, { column: 'code', opclass: 'varchar_pattern_ops' }] },
      });
      const invoices = manifest.tables['sales.invoices'];
      // an IN list on varchar, written so that it reads back as PostgreSQL printed it (dialect/postgres/source-of.ts)
      expect(invoices?.checks).toEqual([
        {
          name: 'ck_code',
          expr: "(((code)::text = ANY ((ARRAY['x'::character varying, 'y'::character varying]::character varying[])::text[])) AND (note <> 'line\nbreak'::text))",
        },
        { name: 'ck_kind', expr: "(kind = ANY (ARRAY['a'::text, 'b'::text]))" },
      ]);
      expect(invoices?.foreignKeys).toEqual([
        {
          name: 'fk_backup',
          columns: ['backup_account'],
          references: { table: 'accounts', columns: ['id'] },
          onDelete: 'set default',
          deferrable: true,
        },
        { name: 'fk_kind', columns: ['kind'], references: { table: 'kinds', columns: ['kind'] }, onDelete: 'cascade' },
        {
          name: 'invoices_account_id_fkey',
          columns: ['account_id'],
          references: { table: 'accounts', columns: ['id'] },
          onUpdate: 'cascade',
          deferrable: true,
          initiallyDeferred: true,
        },
      ]);
      expect(invoices?.indexes).toEqual([
        { name: 'ix_kind_hash', columns: ['kind'], method: 'hash' },
        { name: 'ix_open', columns: ['amount'], where: '((amount > 100) AND (kind IS NOT NULL))' },
        { name: 'ix_period', columns: ['period'], method: 'gist' },
      ]);
    });

    test('--schema reads only that schema; a NOT VALID constraint is pulled with a note, and plan validates it', async () => {
      const sales = await pullManifest(target.dialect, { schemas: ['sales'] });
      expect(Object.keys(sales.manifest.tables)).toEqual(['sales.invoices']);
      await target.sql('create table later (id int primary key, v int); alter table later add constraint ck_later check (v > 0) not valid');
      const { manifest, notes } = await pullManifest(target.dialect, { tables: ['later'] });
      expect(notes).toEqual([{ object: 'public.later: check ck_later', reason: expect.stringContaining('NOT VALID') as unknown, skipped: false }]);
      expect(await planSteps(target, manifest)).toEqual(['validate_constraint public.later ck_later']);
    });
  }

  test('--tables: only those tables (not their parents); an unknown one is an error naming it', async () => {
    const { manifest } = await pullManifest(target.dialect, { tables: ['accounts'] });
    expect(Object.keys(manifest.tables)).toEqual(['accounts']);
    await expect(pullManifest(target.dialect, { tables: ['acounts'] })).rejects.toThrow(new SchemaDiffError('usage', '--tables: no table "acounts" (schema-diff\'s own tables and system tables are never pulled)'));
  });
});
