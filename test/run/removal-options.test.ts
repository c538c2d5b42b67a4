import { formatPlanText } from '../../src/cli/format-plan.js';
import { checkManifest } from '../../src/manifest/check.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import type { Plan } from '../../src/plan/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { rollback } from '../../src/run/rollback.js';
import { describeEachDatabase } from '../helpers/each.js';
import { testApplyOptions } from '../helpers/options.js';
import type { TestTarget } from '../helpers/targets.js';
import { rollbackOptions, targetsFor } from '../rollback/helpers.js';

/**
 * Removal, field by field (issue 12): every option the manifest can express,
 * on an object schema-diff created and the manifest then drops (removed,
 * owned) and on the same object made by hand (--prune); each drop rolled back
 * to the exact object (definition, validated state, name), and every plan
 * after an apply empty. One manifest carries all the fields, so the round
 * trips per dialect stay few.
 */
const PG_SEED = `
  create table parents (id int primary key, alt int not null, unique (id, alt));
  create table acc (
    id int primary key, a int, b int, name text, code text, doc tsvector,
    p1 int, p1_alt int, p2 int, p2_alt int
  );
  insert into parents values (1, 1);
  insert into acc values (1, 1, 13, 'x', 'c1', 'a b', 1, 1, 1, 1);`;

// The same objects as the manifest below, written by hand (never schema-diff's): only --prune drops them.
const PG_BY_HAND = `
  alter table acc add constraint ck_noinherit check (a > 0) no inherit;
  alter table acc add constraint ck_nv check (b <> 13) not valid;
  alter table acc add constraint fk_full foreign key (p1, p1_alt) references parents (id, alt) match full;
  alter table acc add constraint fk_setnull foreign key (p2, p2_alt) references parents (id, alt) on delete set null (p2_alt);
  create index ix_desc on acc (a desc, b);
  create index ix_nulls on acc (b nulls first);
  create index ix_opclass on acc using gist (doc tsvector_ops (siglen = 16));
  create index ix_collate on acc (name collate "C");
  create unique index ux_include on acc (a) include (b, name);
  create unique index ux_nnd on acc (name) nulls not distinct;
  create index ix_with on acc (b) with (fillfactor = 70);
  create index ix_method on acc using hash (code);
  create index ix_where on acc (a) where b > 0;
  alter table acc add constraint uq_code unique (code);`;

const toParents = { table: 'parents', columns: ['id', 'alt'] };
const PG_ALL = checkManifest({
  tables: {
    acc: {
      checks: [
        { name: 'ck_noinherit', expr: 'a > 0', noInherit: true },
        // the seeded row breaks it: applied with allowNotValid, it stays NOT VALID
        { name: 'ck_nv', expr: 'b <> 13' },
      ],
      foreignKeys: [
        { name: 'fk_full', columns: ['p1', 'p1_alt'], references: toParents, match: 'full' },
        { name: 'fk_setnull', columns: ['p2', 'p2_alt'], references: toParents, onDelete: { action: 'set null', columns: ['p2_alt'] } },
      ],
      indexes: [
        { name: 'ix_desc', columns: [{ column: 'a', desc: true }, 'b'] },
        { name: 'ix_nulls', columns: [{ column: 'b', nulls: 'first' }] },
        { name: 'ix_opclass', method: 'gist', columns: [{ column: 'doc', opclass: { name: 'tsvector_ops', params: { siglen: 16 } } }] },
        { name: 'ix_collate', columns: [{ column: 'name', collate: 'C' }] },
        { name: 'ux_include', columns: ['a'], unique: true, include: ['b', 'name'] },
        { name: 'ux_nnd', columns: ['name'], unique: true, nullsNotDistinct: true },
        { name: 'ix_with', columns: ['b'], with: { fillfactor: 70 } },
        { name: 'ix_method', method: 'hash', columns: ['code'] },
        { name: 'ix_where', columns: ['a'], where: 'b > 0' },
        { name: 'uq_code', columns: ['code'], unique: true, constraint: true },
      ],
    },
  },
});
const PG_NONE = checkManifest({ tables: { acc: {} } });
const PG_NAMES = ['ck_noinherit', 'ck_nv', 'fk_full', 'fk_setnull', 'ix_collate', 'ix_desc', 'ix_method', 'ix_nulls', 'ix_opclass', 'ix_where', 'ix_with', 'uq_code', 'ux_include', 'ux_nnd'];

const SQLITE_SEED = `
  CREATE TABLE p (id INTEGER PRIMARY KEY);
  CREATE TABLE t (id INTEGER PRIMARY KEY, a INT, b INT, name TEXT, p_id INTEGER);
  INSERT INTO p VALUES (1);
  INSERT INTO t VALUES (1, 1, 2, 'x', 1);`;

const SQLITE_BY_HAND = `
  CREATE TABLE p (id INTEGER PRIMARY KEY);
  CREATE TABLE t (id INTEGER PRIMARY KEY, a INT CHECK (a >= 0), b INT, name TEXT, p_id INTEGER REFERENCES p (id));
  INSERT INTO p VALUES (1);
  INSERT INTO t VALUES (1, 1, 2, 'x', 1);
  CREATE INDEX ix_desc ON t (a DESC, b);
  CREATE INDEX ix_collate ON t (name COLLATE NOCASE);
  CREATE INDEX ix_where ON t (a) WHERE b > 0;
  CREATE UNIQUE INDEX ux_name ON t (name);`;

const SQLITE_ALL = checkManifest({
  tables: {
    t: {
      checks: [{ expr: 'a >= 0' }],
      foreignKeys: [{ columns: ['p_id'], references: { table: 'p', columns: ['id'] } }],
      indexes: [
        { name: 'ix_desc', columns: [{ column: 'a', desc: true }, 'b'] },
        { name: 'ix_collate', columns: [{ column: 'name', collate: 'nocase' }] },
        { name: 'ix_where', columns: ['a'], where: 'b > 0' },
        { name: 'ux_name', columns: ['name'], unique: true },
      ],
    },
  },
});
const SQLITE_NONE = checkManifest({ tables: { t: {} } });
const SQLITE_NAMES = ['CHECK (a >= 0)', 'FOREIGN KEY (p_id) REFERENCES p (id)', 'ix_collate', 'ix_desc', 'ix_where', 'ux_name'];

const apply = (t: TestTarget, m: LoadedManifest, prune = false) =>
  applyManifest(t.dialect, m, { ...testApplyOptions, manifestPath: 'm', backup: false, prune, allowNotValid: true });
const plan = async (t: TestTarget, m: LoadedManifest, prune = false) => (await preparePlan(t.dialect, m, 'm', { prune })).plan;
const undoLast = (t: TestTarget) => rollback(t.dialect, rollbackOptions({ kind: 'last' }, { backup: false }));

/** The objects a plan drops, whatever the dialect made of them (SQLite: within a table rebuild). */
const dropped = (p: Plan) => p.steps.flatMap((s) => (s.effects ?? []).filter((e) => e.effect === 'dropped').map((e) => e.name)).sort();
/** A plan that only validates what apply left NOT VALID (the seeded row breaks ck_nv) changes nothing else. */
const changing = (p: Plan) => p.steps.filter((s) => s.action !== 'validate_constraint').map((s) => `${s.action} ${s.name}`);

/** Every constraint and index of the tables, as the database prints it, with its validity: a rollback must restore exactly this. */
async function pgDump(t: TestTarget): Promise<string[]> {
  const rows = await t.sql(`
    select c.relname || ' ' || con.contype::text || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid) || ' valid=' || con.convalidated as line
      from pg_constraint con join pg_class c on c.oid = con.conrelid
     where c.relnamespace = 'public'::regnamespace and c.relname in ('acc', 'parents') and con.contype <> 'n'
    union all
    select c.relname || ' i ' || pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid
      from pg_index i join pg_class c on c.oid = i.indrelid
     where c.relnamespace = 'public'::regnamespace and c.relname in ('acc', 'parents')
    order by 1`);
  return rows.map((r) => String(r.line));
}

async function sqliteDump(t: TestTarget): Promise<string[]> {
  const rows = await t.sql(`SELECT type || ' ' || name || ': ' || sql AS line FROM sqlite_schema WHERE tbl_name IN ('p', 't') AND sql IS NOT NULL ORDER BY name`);
  return rows.map((r) => String(r.line));
}

describeEachDatabase(['postgres', 'pglite', 'sqlite'], 'removal of every option', (make, kind) => {
  const targets = targetsFor(make, kind);
  afterAll(() => targets.disposeAll());
  const sqlite = kind === 'sqlite';
  const [seed, byHand, all, none, names] = sqlite
    ? [SQLITE_SEED, SQLITE_BY_HAND, SQLITE_ALL, SQLITE_NONE, SQLITE_NAMES]
    : [PG_SEED, PG_SEED + PG_BY_HAND, PG_ALL, PG_NONE, PG_NAMES];
  const dump = sqlite ? sqliteDump : pgDump;

  test('owned: added, removed from the manifest, dropped with reason and hazard, rolled back exactly, re-planned empty', async () => {
    const t = await targets.fresh(seed);
    const seeded = await dump(t);
    await apply(t, all);
    expect(changing(await plan(t, all))).toEqual([]);
    const added = await dump(t);
    if (!sqlite) {
      // the validated state is part of what the drop's rollback restores
      expect(added).toEqual(expect.arrayContaining([expect.stringMatching(/ck_nv CHECK \(\(b <> 13\)\) NOT VALID valid=false$/)]));
      expect(added).toEqual(expect.arrayContaining([expect.stringMatching(/^acc u uq_code UNIQUE \(code\)/)]));
    }

    if (!sqlite) {
      // changes the other option tests do not make: a default operator class's parameters, the access method
      const acc = PG_ALL.tables.acc ?? {};
      const indexes = (acc.indexes ?? []).map((ix) =>
        ix.name === 'ix_opclass' ? { ...ix, columns: [{ column: 'doc', opclass: { name: 'tsvector_ops', params: { siglen: 32 } } }] } : ix.name === 'ix_method' ? { ...ix, method: 'btree' } : ix,
      );
      const changed = checkManifest({ tables: { acc: { ...acc, indexes } } });
      expect(changing(await plan(t, changed)).sort()).toEqual(['replace_index ix_method', 'replace_index ix_opclass']);
    }

    const removal = await plan(t, none);
    expect(dropped(removal)).toEqual(names);
    expect(removal.steps.every((s) => s.reason.includes('was in the manifest, removed'))).toBe(true);
    expect(formatPlanText(removal)).toContain('was in the manifest, removed');
    if (!sqlite) {
      const hazards = Object.fromEntries(removal.steps.map((s) => [s.name, s.hazards]));
      expect(hazards.ck_nv).toEqual(expect.arrayContaining(['DROPS_CONSTRAINT']));
      expect(hazards.fk_full).toEqual(expect.arrayContaining(['DROPS_CONSTRAINT']));
      expect(hazards.ix_opclass).toEqual(['DROPS_INDEX']);
      expect(hazards.uq_code).toEqual(expect.arrayContaining(['DROPS_CONSTRAINT', 'DROPS_INDEX']));
      const uq = removal.steps.find((s) => s.name === 'uq_code');
      expect(uq?.action).toBe('drop_unique_constraint');
      expect(uq?.sql).toEqual(['ALTER TABLE public.acc DROP CONSTRAINT IF EXISTS uq_code']);
      expect(uq?.inverse).toEqual(['CREATE UNIQUE INDEX CONCURRENTLY uq_code ON public.acc (code)', 'ALTER TABLE public.acc ADD CONSTRAINT uq_code UNIQUE USING INDEX uq_code']);
      // online: indexes dropped concurrently, after the constraints
      expect(removal.steps.find((s) => s.name === 'ix_with')?.sql).toEqual(['DROP INDEX CONCURRENTLY IF EXISTS public.ix_with']);
    } else {
      expect(removal.steps.flatMap((s) => s.hazards)).toEqual(expect.arrayContaining(['DROPS_INDEX']));
    }

    await apply(t, none);
    expect(await dump(t)).toEqual(seeded);
    expect((await plan(t, none)).steps).toEqual([]);

    await undoLast(t);
    expect(await dump(t)).toEqual(added);
    expect(changing(await plan(t, all))).toEqual([]);
    // undone, the drop no longer counts: the objects are schema-diff's again
    expect(dropped(await plan(t, none))).toEqual(names);
  });

  test('made by hand: listed and left alone, dropped by --prune (UNIQUE constraints and primary keys never), rolled back exactly', async () => {
    const t = await targets.fresh(byHand);
    const before = await dump(t);
    const left = await plan(t, none);
    expect(left.steps).toEqual([]);
    // the UNIQUE constraint is never in the list (it is not pruned either)
    const unlisted = names.filter((n) => n !== 'uq_code');
    expect(left.unmanaged.map((u) => u.name).sort()).toEqual(unlisted);

    const pruning = await plan(t, none, true);
    expect(dropped(pruning)).toEqual(unlisted);
    expect(pruning.steps.every((s) => s.reason.includes('--prune'))).toBe(true);
    await apply(t, none, true);
    expect((await plan(t, none, true)).steps).toEqual([]);
    const after = await dump(t);
    if (!sqlite) {
      expect(after.filter((l) => l.startsWith('acc '))).toEqual([
        'acc i CREATE UNIQUE INDEX acc_pkey ON public.acc USING btree (id) valid=true',
        'acc i CREATE UNIQUE INDEX uq_code ON public.acc USING btree (code) valid=true',
        'acc p acc_pkey PRIMARY KEY (id) valid=true',
        'acc u uq_code UNIQUE (code) valid=true',
      ]);
    } else {
      expect(after).toEqual(await sqliteDump(await targets.fresh(seed)));
    }

    await undoLast(t);
    expect(await dump(t)).toEqual(before);
    expect((await plan(t, none)).steps).toEqual([]);
  });

  // PostgreSQL only: SQLite refuses `constraint: true`
  const pgTest = sqlite ? test.skip : test;
  const withUnique = checkManifest({ tables: { acc: { indexes: [{ name: 'uq_code', columns: ['code'], unique: true, constraint: true }] } } });

  pgTest('UNIQUE constraint: refused while a foreign key is bound to it, naming the key; dropped once that key is gone', async () => {
    const t = await targets.fresh(`${PG_SEED} create table refs (id int primary key, code text);`);
    await apply(t, withUnique);
    await t.sql('alter table refs add constraint refs_code_fkey foreign key (code) references acc (code)');
    await expect(plan(t, PG_NONE)).rejects.toThrow(
      /^UNIQUE constraint uq_code on public\.acc is not in the manifest, but foreign key refs_code_fkey on public\.refs depends on it .*nothing was changed$/,
    );
    await t.sql('alter table refs drop constraint refs_code_fkey');
    expect((await plan(t, PG_NONE)).steps.map((s) => `${s.action} ${s.name}`)).toEqual(['drop_unique_constraint uq_code']);
  });

  pgTest('UNIQUE constraint: one changed by hand since, or made a constraint by hand from an index schema-diff made, is left alone and says why', async () => {
    const t = await targets.fresh(PG_SEED);
    await apply(t, withUnique);
    await t.sql('alter table acc drop constraint uq_code; alter table acc add constraint uq_code unique (code, a)');
    const changed = await plan(t, PG_NONE);
    expect(changed.steps).toEqual([]);
    expect(changed.unmanaged.find((u) => u.name === 'uq_code')?.note).toContain('changed by hand since');

    const u = await targets.fresh(PG_SEED);
    await apply(u, checkManifest({ tables: { acc: { indexes: [{ name: 'ux_code', columns: ['code'], unique: true }] } } }));
    await u.sql('alter table acc add constraint ux_code unique using index ux_code');
    expect((await plan(u, PG_NONE)).steps).toEqual([]);
  });

  pgTest('UNIQUE constraint: an undo that cannot build the index again (duplicates since) leaves no INVALID index, and succeeds once they are gone', async () => {
    const t = await targets.fresh(PG_SEED);
    await apply(t, withUnique);
    await apply(t, PG_NONE);
    await t.sql("insert into acc (id, code) values (2, 'c1')");
    await expect(undoLast(t)).rejects.toThrow(/drop_unique_constraint uq_code .*failed: could not create unique index "uq_code"/);
    expect(await t.sql("select 1 from pg_class where relname = 'uq_code'")).toEqual([]);
    await t.sql('delete from acc where id = 2');
    await undoLast(t);
    expect(await pgDump(t)).toEqual(expect.arrayContaining(['acc u uq_code UNIQUE (code) valid=true']));
    expect((await plan(t, withUnique)).steps).toEqual([]);
  });
});
