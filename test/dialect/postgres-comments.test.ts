import { defineManifest } from '../../src/manifest/define.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { rollback } from '../../src/run/rollback.js';
import { describeEachDatabase } from '../helpers/each.js';
import { testApplyOptions } from '../helpers/options.js';
import type { TestTarget } from '../helpers/targets.js';
import { rollbackOptions, targetsFor } from '../rollback/helpers.js';

/**
 * A manifest's `description` is the object's comment on PostgreSQL (COMMENT ON
 * CONSTRAINT / INDEX), written by apply, undone by rollback; SQLite has no
 * comments, and plans none. Hostile text stays a string literal.
 */
const manifest = (tables: Record<string, unknown>) => defineManifest({ version: 1, name: 't', tables } as never) as LoadedManifest;

const SEED = `
  CREATE TABLE users (id integer PRIMARY KEY, email text);
  CREATE TABLE orders (id integer PRIMARY KEY, user_id integer, total integer, code text,
    CONSTRAINT ck_orders_code_hand CHECK (code <> ''));
  CREATE TABLE victim (id integer PRIMARY KEY);
  INSERT INTO users VALUES (1, 'a');
  INSERT INTO orders VALUES (1, 1, 5, 'x');`;

const HOSTILE = [
  "it's the buyer's total",
  'back\\slash \\x41 \\\\ and \\',
  'dollar $$ quoted $tag$ body $tag$',
  'two\nlines\r\nand a tab\t.',
  "'; DROP TABLE victim; --",
  "\\'; DROP TABLE victim; --",
  'unicode: prix ≥ 0 € 🛒',
];

const ck = (description?: string) => ({ name: 'ck_orders_total', expr: 'total >= 0', ...(description !== undefined ? { description } : {}) });
const fk = (description?: string) => ({
  name: 'fk_orders_user',
  columns: ['user_id'],
  references: { table: 'users', columns: ['id'] },
  ...(description !== undefined ? { description } : {}),
});
const ix = (description?: string) => ({ name: 'ix_orders_code', columns: ['code'], ...(description !== undefined ? { description } : {}) });
const uq = (description?: string) => ({
  name: 'uq_users_email',
  columns: ['email'],
  unique: true,
  constraint: true,
  ...(description !== undefined ? { description } : {}),
});
const all = (d: (i: number) => string | undefined) =>
  manifest({ orders: { checks: [ck(d(0))], foreignKeys: [fk(d(1))], indexes: [ix(d(2))] }, users: { indexes: [uq(d(3))] } });

const apply = (t: TestTarget, m: LoadedManifest) => applyManifest(t.dialect, m, { ...testApplyOptions, backup: false });
const plan = async (t: TestTarget, m: LoadedManifest) => (await preparePlan(t.dialect, m, 'm')).plan;
const steps = async (t: TestTarget, m: LoadedManifest) => (await plan(t, m)).steps.map((s) => `${s.action} ${s.name}`);

/** The comments PostgreSQL holds on the objects, as it stores them (a constraint-backed index: its constraint's). */
async function comments(t: TestTarget): Promise<Record<string, string | null>> {
  const rows = await t.sql(`
    select con.conname as name, obj_description(con.oid, 'pg_constraint') as comment
      from pg_constraint con join pg_class c on c.oid = con.conrelid
     where c.relname in ('users', 'orders') and con.contype in ('c', 'f', 'u')
    union all
    select ic.relname, obj_description(ic.oid, 'pg_class')
      from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_class c on c.oid = i.indrelid
     where c.relname in ('users', 'orders') and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
    order by 1`);
  return Object.fromEntries(rows.map((r) => [String(r.name), (r.comment as string | null) ?? null]));
}

/** Tables and constraints of the schema: a payload must change nothing but comments. */
async function shape(t: TestTarget): Promise<string[]> {
  const rows = await t.sql(`
    select c.relname || ' ' || c.relkind::text as line from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'
    union all
    select con.conname || ' ' || pg_get_constraintdef(con.oid) from pg_constraint con join pg_namespace n on n.oid = con.connamespace where n.nspname = 'public'
    order by 1`);
  return rows.map((r) => String(r.line));
}

describeEachDatabase(['postgres', 'pglite'], 'descriptions become comments', (make, kind) => {
  const targets = targetsFor(make, kind);
  afterAll(() => targets.disposeAll());

  test('created objects get their description in the same step; plan is then empty; rollback removes them with the objects', async () => {
    const t = await targets.fresh(SEED);
    const m = all((i) => `rule ${i}: ${HOSTILE[i]}`);
    const p = await plan(t, m);
    expect(p.steps.map((s) => s.action)).not.toContain('comment_constraint');
    expect(p.steps.find((s) => s.name === 'ck_orders_total')?.sql.at(-1)).toMatch(/^COMMENT ON CONSTRAINT ck_orders_total ON public\.orders IS /);
    await apply(t, m);
    expect(await comments(t)).toMatchObject({
      ck_orders_total: `rule 0: ${HOSTILE[0]}`,
      fk_orders_user: `rule 1: ${HOSTILE[1]}`,
      ix_orders_code: `rule 2: ${HOSTILE[2]}`,
      uq_users_email: `rule 3: ${HOSTILE[3]}`,
    });
    expect(await steps(t, m)).toEqual([]);
    await rollback(t.dialect, rollbackOptions({ kind: 'last' }, { backup: false }));
    expect(Object.keys(await comments(t)).filter((n) => !n.endsWith('_pkey'))).toEqual(['ck_orders_code_hand']);
  });

  test('hostile text is stored as written and runs nothing else, on every kind of object', async () => {
    const t = await targets.fresh(SEED);
    await apply(t, all(() => undefined));
    const before = await shape(t);
    for (const text of HOSTILE) {
      const m = all(() => text);
      const p = await plan(t, m);
      expect(p.steps.map((s) => s.action).sort()).toEqual(['comment_constraint', 'comment_constraint', 'comment_constraint', 'comment_index']);
      await apply(t, m);
      const now = await comments(t);
      for (const name of ['ck_orders_total', 'fk_orders_user', 'ix_orders_code', 'uq_users_email']) expect(now[name]).toBe(text);
      expect(await shape(t)).toEqual(before);
      expect(await steps(t, m)).toEqual([]);
    }
  });

  test('a changed description is one metadata-only step, under lock_timeout, whose rollback puts the previous comment back', async () => {
    const t = await targets.fresh(SEED);
    await apply(t, all(() => 'first'));
    const p = await plan(t, all(() => 'second'));
    const step = p.steps.find((s) => s.name === 'ck_orders_total');
    expect(step).toMatchObject({
      action: 'comment_constraint',
      sql: ["COMMENT ON CONSTRAINT ck_orders_total ON public.orders IS 'second'"],
      inverse: ["COMMENT ON CONSTRAINT ck_orders_total ON public.orders IS 'first'"],
      transactional: true,
      lockTimeout: true,
      hazards: [],
      before: 'first',
      after: 'second',
    });
    expect(step?.lock).toContain('ACCESS SHARE on public.orders and SHARE UPDATE EXCLUSIVE on constraint ck_orders_total');
    expect(p.steps.find((s) => s.name === 'ix_orders_code')).toMatchObject({
      action: 'comment_index',
      sql: ["COMMENT ON INDEX public.ix_orders_code IS 'second'"],
    });
    await apply(t, all(() => 'second'));
    expect(Object.values(await comments(t)).filter((c) => c === 'second')).toHaveLength(4);
    await rollback(t.dialect, rollbackOptions({ kind: 'last' }, { backup: false }));
    expect(Object.values(await comments(t)).filter((c) => c === 'first')).toHaveLength(4);
    expect(await steps(t, all(() => 'first'))).toEqual([]);
  });

  test('objects dropped after their removal from the manifest come back with their comments on rollback', async () => {
    const t = await targets.fresh(SEED);
    await apply(t, all((i) => `kept ${i}`));
    const none = manifest({ orders: {}, users: {} });
    expect((await plan(t, none)).steps.map((s) => s.action).sort()).toEqual(['drop_check', 'drop_foreign_key', 'drop_index', 'drop_unique_constraint']);
    await apply(t, none);
    expect(Object.keys(await comments(t)).filter((n) => !n.endsWith('_pkey'))).toEqual(['ck_orders_code_hand']);
    await rollback(t.dialect, rollbackOptions({ kind: 'last' }, { backup: false }));
    expect(await comments(t)).toMatchObject({ ck_orders_total: 'kept 0', fk_orders_user: 'kept 1', ix_orders_code: 'kept 2', uq_users_email: 'kept 3' });
    expect(await steps(t, all((i) => `kept ${i}`))).toEqual([]);
  });

  test('rollback refuses to write the previous comment over one changed by hand since', async () => {
    const t = await targets.fresh(SEED);
    await apply(t, all(() => 'first'));
    await apply(t, all(() => 'second'));
    await t.sql(`COMMENT ON CONSTRAINT ck_orders_total ON orders IS 'by hand'`);
    await expect(rollback(t.dialect, rollbackOptions({ kind: 'last' }, { backup: false }))).rejects.toMatchObject({
      message: expect.stringContaining('the comment on ck_orders_total on public.orders was changed by hand since apply 2: it is now "by hand"'),
    });
    expect((await comments(t)).ix_orders_code).toBe('second');
  });

  test('without a description a comment is not managed: a hand-written one stays; one schema-diff wrote is cleared', async () => {
    const t = await targets.fresh(SEED);
    await apply(t, all(() => 'ours'));
    await t.sql(`COMMENT ON CONSTRAINT ck_orders_code_hand ON orders IS 'by hand'`);
    await t.sql(`COMMENT ON CONSTRAINT fk_orders_user ON orders IS 'changed by hand'`);
    const bare = manifest({
      orders: { checks: [ck(), { name: 'ck_orders_code_hand', expr: "code <> ''" }], foreignKeys: [fk()], indexes: [ix()] },
      users: { indexes: [uq()] },
    });
    const p = await plan(t, bare);
    // the FK's comment was changed by hand since: no longer schema-diff's to clear
    expect(p.steps.map((s) => `${s.action} ${s.name} ${s.sql.join('')}`).sort()).toEqual([
      'comment_constraint ck_orders_total COMMENT ON CONSTRAINT ck_orders_total ON public.orders IS NULL',
      'comment_constraint uq_users_email COMMENT ON CONSTRAINT uq_users_email ON public.users IS NULL',
      'comment_index ix_orders_code COMMENT ON INDEX public.ix_orders_code IS NULL',
    ]);
    await apply(t, bare);
    expect(await comments(t)).toMatchObject({ ck_orders_total: null, ix_orders_code: null, uq_users_email: null, fk_orders_user: 'changed by hand', ck_orders_code_hand: 'by hand' });
    expect(await steps(t, bare)).toEqual([]);
    // cleared: writing nothing again, even once the comment is set by hand
    await t.sql(`COMMENT ON INDEX ix_orders_code IS 'by hand later'`);
    expect(await steps(t, bare)).toEqual([]);
  });

  test('a rebuilt object keeps the comment it had when the manifest gives none, and its inverse restores the old one', async () => {
    const t = await targets.fresh(SEED);
    await t.sql(`CREATE INDEX ix_orders_code ON orders (code, id); COMMENT ON INDEX ix_orders_code IS 'hand index';
                 ALTER TABLE orders ADD CONSTRAINT ck_orders_total CHECK (total > 0); COMMENT ON CONSTRAINT ck_orders_total ON orders IS 'hand check'`);
    const m = manifest({ orders: { checks: [ck()], indexes: [ix('described')] } });
    const p = await plan(t, m);
    expect(p.steps.map((s) => s.action)).toEqual(['replace_index', 'replace_check', 'validate_constraint']);
    const replaceCheck = p.steps[1];
    expect(replaceCheck.sql.at(-1)).toBe("COMMENT ON CONSTRAINT ck_orders_total ON public.orders IS 'hand check'");
    expect(replaceCheck.inverse.at(-1)).toBe('ALTER TABLE public.orders VALIDATE CONSTRAINT ck_orders_total');
    expect(replaceCheck.inverse[replaceCheck.scans?.inverse[0] ?? -1]).toMatch(/VALIDATE/);
    await apply(t, m);
    expect(await comments(t)).toMatchObject({ ix_orders_code: 'described', ck_orders_total: 'hand check' });
    expect(await steps(t, m)).toEqual([]);
    await rollback(t.dialect, rollbackOptions({ kind: 'last' }, { backup: false }));
    expect(await comments(t)).toMatchObject({ ix_orders_code: 'hand index', ck_orders_total: 'hand check' });
  });
});

describeEachDatabase(['pglite'], 'descriptions PostgreSQL cannot hold', (make) => {
  test('a NUL character is refused at plan, naming where it is', async () => {
    const t = await make(SEED);
    try {
      await expect(plan(t, manifest({ orders: { checks: [ck('a\u0000b')] } }))).rejects.toMatchObject({
        code: 'manifest',
        message: expect.stringContaining('tables.orders.checks[0].description: ck_orders_total: contains a NUL character'),
      });
    } finally {
      await t.dispose();
    }
  });
});

describeEachDatabase(['sqlite'], 'descriptions on a database without comments', (make) => {
  test('plans no comment step, and after apply plans nothing', async () => {
    const t = await make(SEED);
    try {
      const m = manifest({ orders: { checks: [ck(HOSTILE[4])], indexes: [ix(HOSTILE[1])] } });
      expect((await plan(t, m)).steps.every((s) => !s.sql.some((q) => q.includes('COMMENT')))).toBe(true);
      await apply(t, m);
      expect(await steps(t, m)).toEqual([]);
    } finally {
      await t.dispose();
    }
  });
});
