import { checkManifest } from '../../src/manifest/check.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { pullManifest } from '../../src/run/pull.js';
import { rollback } from '../../src/run/rollback.js';
import { verifyManifest } from '../../src/run/verify.js';
import { describeEachDatabase } from '../helpers/each.js';
import { testApplyOptions } from '../helpers/options.js';
import type { TestTarget } from '../helpers/targets.js';
import { rollbackOptions } from '../rollback/helpers.js';

/**
 * Every index, CHECK and foreign-key option PostgreSQL stores, on the server
 * and PGlite: added, changed, rolled back step by step, and a plan after each
 * that is empty. One manifest carries them all, so the round trips stay few.
 */
const SEED = `
  create table parent (id int primary key, alt int not null, unique (id, alt));
  create table items (
    id int primary key, a int, b int, email text unique, name text, tag varchar(20),
    parent_id int, parent_alt int
  );`;

const fkTo = { table: 'parent', columns: ['id', 'alt'] };

const first = checkManifest({
  tables: {
    items: {
      checks: [{ name: 'ck_a', expr: 'a > 0', noInherit: true }],
      foreignKeys: [{ name: 'fk_parent', columns: ['parent_id', 'parent_alt'], references: fkTo, match: 'full' }],
      indexes: [
        { name: 'ix_desc', columns: [{ column: 'a', desc: true, nulls: 'last' }, 'b'] },
        { name: 'ix_pattern', columns: [{ column: 'name', opclass: 'text_pattern_ops' }] },
        { name: 'ix_tag', columns: [{ column: 'tag', opclass: 'varchar_pattern_ops' }, { expr: 'lower(name)', collate: 'C' }] },
        { name: 'ix_fill', columns: [{ column: 'a', opclass: 'int4_ops' }], with: { fillfactor: 70 } },
        { name: 'ix_inc', columns: ['a'], unique: true, include: ['b', 'name'] },
        { name: 'ix_nnd', columns: ['b'], unique: true, nullsNotDistinct: true },
        // the UNIQUE constraint of `email text unique`, described as it is
        { name: 'items_email_key', columns: ['email'], unique: true },
        { name: 'uq_name', columns: ['name'], unique: true, constraint: true },
        { name: 'ix_a_b', columns: ['a', 'b'], unique: true },
      ],
    },
  },
});

const second = checkManifest({
  tables: {
    items: {
      checks: [{ name: 'ck_a', expr: 'a > 0' }],
      foreignKeys: [
        { name: 'fk_parent', columns: ['parent_id', 'parent_alt'], references: fkTo, onDelete: { action: 'set null', columns: ['parent_alt'] } },
      ],
      indexes: [
        { name: 'ix_desc', columns: [{ column: 'a', desc: true }, 'b'] },
        { name: 'ix_pattern', columns: [{ column: 'name', collate: 'C' }] },
        { name: 'ix_tag', columns: [{ column: 'tag', opclass: 'varchar_pattern_ops' }, { expr: 'lower(name)', collate: 'C' }] },
        { name: 'ix_fill', columns: ['a'], with: { fillfactor: 80 } },
        { name: 'ix_inc', columns: ['a'], unique: true, include: ['b'] },
        { name: 'ix_nnd', columns: ['b'], unique: true },
        { name: 'items_email_key', columns: ['email', 'a'], unique: true },
        { name: 'uq_name', columns: ['name'], unique: true, constraint: true },
        { name: 'ix_a_b', columns: ['a', 'b'], unique: true, constraint: true },
      ],
    },
  },
});

describeEachDatabase(['postgres', 'pglite'], 'every option PostgreSQL stores', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(SEED);
  });
  afterAll(async () => target?.dispose());

  const plan = async (m: LoadedManifest) => (await preparePlan(target.dialect, m, 'options')).plan;
  const actions = async (m: LoadedManifest) => (await plan(m)).steps.map((s) => `${s.action} ${s.name}`);
  const apply = (m: LoadedManifest) => applyManifest(target.dialect, m, { ...testApplyOptions, manifestPath: 'options' });
  const dump = async () =>
    (
      await target.sql(`
        select con.conname || ' ' || pg_get_constraintdef(con.oid) as line from pg_constraint con where con.conrelid = 'items'::regclass
        union all
        select pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid from pg_index i where i.indrelid = 'items'::regclass
        order by 1`)
    ).map((r) => String(r.line));

  test('add, change, roll back each, re-plan empty', async () => {
    const initial = await dump();
    expect(await actions(first)).toEqual([
      'create_index ix_desc',
      'create_index ix_pattern',
      'create_index ix_tag',
      'create_index ix_fill',
      'create_index ix_inc',
      'create_index ix_nnd',
      'create_index uq_name',
      'create_index ix_a_b',
      'add_check ck_a',
      'add_foreign_key fk_parent',
      'validate_constraint ck_a, fk_parent',
    ]);
    await apply(first);
    expect(await actions(first)).toEqual([]);
    const afterFirst = await dump();
    expect(afterFirst).toEqual(
      expect.arrayContaining([
        'ck_a CHECK ((a > 0)) NO INHERIT',
        'fk_parent FOREIGN KEY (parent_id, parent_alt) REFERENCES parent(id, alt) MATCH FULL',
        'uq_name UNIQUE (name)',
        'CREATE INDEX ix_desc ON public.items USING btree (a DESC NULLS LAST, b) valid=true',
        'CREATE INDEX ix_fill ON public.items USING btree (a) WITH (fillfactor=\'70\') valid=true',
        'CREATE UNIQUE INDEX ix_inc ON public.items USING btree (a) INCLUDE (b, name) valid=true',
        'CREATE UNIQUE INDEX ix_nnd ON public.items USING btree (b) NULLS NOT DISTINCT valid=true',
        'CREATE INDEX ix_pattern ON public.items USING btree (name text_pattern_ops) valid=true',
      ]),
    );

    expect(await actions(second)).toEqual([
      'replace_index ix_desc',
      'replace_index ix_pattern',
      'replace_index ix_fill',
      'replace_index ix_inc',
      'replace_index ix_nnd',
      'replace_unique_constraint items_email_key',
      'add_unique_constraint ix_a_b',
      'replace_check ck_a',
      'replace_foreign_key fk_parent',
      'validate_constraint ck_a, fk_parent',
    ]);
    await apply(second);
    expect(await actions(second)).toEqual([]);
    expect(await dump()).toEqual(
      expect.arrayContaining([
        'ck_a CHECK ((a > 0))',
        'fk_parent FOREIGN KEY (parent_id, parent_alt) REFERENCES parent(id, alt) ON DELETE SET NULL (parent_alt)',
        'items_email_key UNIQUE (email, a)',
        'ix_a_b UNIQUE (a, b)',
        'CREATE INDEX ix_pattern ON public.items USING btree (name COLLATE "C") valid=true',
      ]),
    );

    // every step's inverse, rendered again from its origin
    await rollback(target.dialect, rollbackOptions({ kind: 'last' }));
    expect(await dump()).toEqual(afterFirst);
    expect(await actions(first)).toEqual([]);
    await rollback(target.dialect, rollbackOptions({ kind: 'last' }));
    expect(await dump()).toEqual(initial);
  });

  test('a UNIQUE constraint a foreign key depends on is not replaced: refused at plan, naming the key', async () => {
    await target.sql(`create table child (id int primary key, pid int, palt int, foreign key (pid, palt) references parent (id, alt))`);
    const m = checkManifest({ tables: { parent: { indexes: [{ name: 'parent_id_alt_key', columns: ['alt', 'id'], unique: true }] } } });
    await expect(plan(m)).rejects.toThrow(/parent_id_alt_key .*cannot be replaced: foreign key child_pid_palt_fkey on public\.child depends on it/);
    const same = checkManifest({ tables: { parent: { indexes: [{ name: 'parent_id_alt_key', columns: ['id', 'alt'], unique: true }] } } });
    expect(await actions(same)).toEqual([]);
  });
});

describeEachDatabase(['postgres', 'pglite'], 'DEFERRABLE UNIQUE constraints', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(`create table slots (id int primary key, board int not null, pos int not null, code text, constraint uq_code unique (code));
      create unique index ix_id_board on slots (id, board);`);
  });
  afterAll(async () => target?.dispose());

  const actions = async (m: LoadedManifest) => (await preparePlan(target.dialect, m, 'timing')).plan.steps.map((s) => `${s.action} ${s.name}`);
  const apply = (m: LoadedManifest) => applyManifest(target.dialect, m, { ...testApplyOptions, manifestPath: 'timing' });
  const constraints = async () =>
    (await target.sql(`select conname || ' ' || pg_get_constraintdef(oid) as line from pg_constraint where conrelid = 'slots'::regclass and contype = 'u' order by 1`)).map(
      (r) => String(r.line),
    );
  const manifest = (pos: Record<string, unknown>, idBoard: Record<string, unknown> = {}) =>
    checkManifest({
      tables: {
        slots: {
          indexes: [
            { name: 'uq_pos', columns: ['board', 'pos'], unique: true, constraint: true, ...pos },
            { name: 'uq_code', columns: ['code'], unique: true, constraint: true },
            { name: 'ix_id_board', columns: ['id', 'board'], unique: true, ...idBoard },
          ],
        },
      },
    });

  test('created, changed, made deferrable by hand, rolled back: each a step, each plan after it empty', async () => {
    const deferred = manifest({ initiallyDeferred: true }, { constraint: true, deferrable: true });
    expect(await actions(deferred)).toEqual(['create_index uq_pos', 'add_unique_constraint ix_id_board']);
    await apply(deferred);
    expect(await actions(deferred)).toEqual([]);
    expect(await constraints()).toEqual([
      'ix_id_board UNIQUE (id, board) DEFERRABLE',
      'uq_code UNIQUE (code)',
      'uq_pos UNIQUE (board, pos) DEFERRABLE INITIALLY DEFERRED',
    ]);
    // what deferral is for: two rows swap positions in one statement
    await target.sql(`insert into slots values (1, 1, 1, 'a'), (2, 1, 2, 'b'); update slots set pos = 3 - pos`);
    // pull writes what it read, and that manifest plans nothing
    const pulled = await pullManifest(target.dialect, { tables: ['slots'] });
    expect(JSON.stringify(pulled.manifest)).toContain('"name":"uq_pos","columns":["board","pos"],"unique":true,"constraint":true,"deferrable":true,"initiallyDeferred":true');
    expect(await actions(pulled.manifest)).toEqual([]);

    // by hand, the same name and columns, deferrable: the manifest's row-by-row constraint is rebuilt online
    await target.sql(`alter table slots drop constraint uq_code, add constraint uq_code unique (code) deferrable`);
    expect(await actions(deferred)).toEqual(['replace_unique_constraint uq_code']);
    expect((await verifyManifest(target.dialect, deferred, 'timing')).map((d) => `${d.object}: ${d.detail}`)).toEqual([
      'uq_code: UNIQUE constraint is DEFERRABLE in the database, the manifest wants it NOT DEFERRABLE',
    ]);
    await apply(deferred);

    const immediate = manifest({ deferrable: true });
    expect(await actions(immediate)).toEqual(['replace_unique_constraint uq_pos', 'replace_unique_constraint ix_id_board']);
    await apply(immediate);
    expect(await actions(immediate)).toEqual([]);
    expect(await constraints()).toEqual(['ix_id_board UNIQUE (id, board)', 'uq_code UNIQUE (code)', 'uq_pos UNIQUE (board, pos) DEFERRABLE']);

    await rollback(target.dialect, rollbackOptions({ kind: 'last' }));
    expect(await actions(deferred)).toEqual([]);
    expect(await constraints()).toEqual([
      'ix_id_board UNIQUE (id, board) DEFERRABLE',
      'uq_code UNIQUE (code)',
      'uq_pos UNIQUE (board, pos) DEFERRABLE INITIALLY DEFERRED',
    ]);
  });
});

describeEachDatabase(['postgres'], 'operator class parameters', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make('create extension if not exists pg_trgm; create table docs (id int primary key, body text);');
  });
  afterAll(async () => target?.dispose());

  test('gist_trgm_ops(siglen = 32) is added, re-planned empty, changed and rolled back', async () => {
    const withSiglen = (siglen: number) =>
      checkManifest({
        tables: { docs: { indexes: [{ name: 'ix_trgm', method: 'gist', columns: [{ column: 'body', opclass: { name: 'gist_trgm_ops', params: { siglen } } }] }] } },
      });
    const steps = async (m: LoadedManifest) => (await preparePlan(target.dialect, m, 'trgm')).plan.steps.map((s) => `${s.action} ${s.name}`);
    await applyManifest(target.dialect, withSiglen(32), { ...testApplyOptions, manifestPath: 'trgm' });
    expect(await steps(withSiglen(32))).toEqual([]);
    expect(await steps(withSiglen(64))).toEqual(['replace_index ix_trgm']);
    await applyManifest(target.dialect, withSiglen(64), { ...testApplyOptions, manifestPath: 'trgm' });
    expect(await steps(withSiglen(64))).toEqual([]);
    await rollback(target.dialect, rollbackOptions({ kind: 'last' }));
    expect(await steps(withSiglen(32))).toEqual([]);
  });
});
