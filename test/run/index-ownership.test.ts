import pg from 'pg';
import { defineManifest } from '../../src/manifest/define.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { rollback } from '../../src/run/rollback.js';
import { describeEachDatabase } from '../helpers/each.js';
import { testApplyOptions } from '../helpers/options.js';
import { describeServer } from '../helpers/postgres.js';
import { postgresTarget, type TestTarget } from '../helpers/targets.js';
import { rollbackOptions } from '../rollback/helpers.js';

const manifest = (tables: Record<string, unknown>) => defineManifest({ version: 1, name: 't', tables } as never) as LoadedManifest;

const usersAndOrders = `
  CREATE TABLE users (id int PRIMARY KEY, email text);
  CREATE UNIQUE INDEX ux_users_email ON users (email);
  CREATE TABLE orders (id int PRIMARY KEY, email text, code text);
  INSERT INTO users VALUES (1, 'a@x'), (2, 'b@x');
  INSERT INTO orders VALUES (1, 'a@x', 'A'), (2, 'a@x', 'B');`;

const parentChild = `
  CREATE TABLE p (id int PRIMARY KEY, code text NOT NULL);
  CREATE UNIQUE INDEX ux_p_code ON p (code);
  CREATE TABLE c (id int PRIMARY KEY, code text REFERENCES p (code));
  INSERT INTO p VALUES (1, 'a'), (2, 'b');
  INSERT INTO c VALUES (1, 'a');`;

const partialParent = manifest({ p: { indexes: [{ name: 'ux_p_code', columns: ['code'], unique: true, where: "code <> ''" }] } });

async function indexesOf(t: TestTarget, table: string): Promise<string[]> {
  const rows = await t.sql(
    `select ic.relname || case when i.indisvalid then '' else ' INVALID' end as ix
       from pg_index i join pg_class ic on ic.oid = i.indexrelid
      where i.indrelid = '${table}'::regclass order by 1`,
  );
  return rows.map((r) => r.ix as string);
}

describeEachDatabase(['postgres', 'pglite'], 'index names and the keys that rely on indexes', (make) => {
  test('an index name taken by another table is refused at plan, and that index stays', async () => {
    const t = await make(usersAndOrders);
    try {
      const taken = manifest({ orders: { indexes: [{ name: 'ux_users_email', columns: ['code'], unique: true }] } });
      await expect(preparePlan(t.dialect, taken, 'm')).rejects.toMatchObject({
        code: 'catalog',
        message: expect.stringContaining('manifest tables.orders.indexes[0]: index name "ux_users_email" is already used by an index on public.users'),
      });
      await expect(applyManifest(t.dialect, taken, testApplyOptions)).rejects.toMatchObject({ code: 'catalog' });
      const asTable = manifest({ orders: { indexes: [{ name: 'users', columns: ['code'] }] } });
      await expect(preparePlan(t.dialect, asTable, 'm')).rejects.toThrow('index name "users" is already used by table public.users');
      expect(await indexesOf(t, 'users')).toEqual(['users_pkey', 'ux_users_email']);
    } finally {
      await t.dispose();
    }
  });

  test('replacing a unique index a foreign key is bound to is refused at plan, naming the key', async () => {
    const t = await make(parentChild);
    try {
      await expect(preparePlan(t.dialect, partialParent, 'm')).rejects.toMatchObject({
        code: 'refused',
        message: expect.stringContaining('index ux_p_code on public.p cannot be replaced: foreign key c_code_fkey on public.c depends on it'),
      });
      expect(await indexesOf(t, 'p')).toEqual(['p_pkey', 'ux_p_code']);
    } finally {
      await t.dispose();
    }
  });
});

describeServer('a failed concurrent build cleans up only what it created', () => {
  test('an index created by hand under the same name after the plan is left alone (42P07)', async () => {
    const t = await postgresTarget(usersAndOrders);
    try {
      const wanted = manifest({ orders: { indexes: [{ name: 'ux_dup', columns: ['code'] }] } });
      const { plan } = await preparePlan(t.dialect, wanted, 'm');
      await t.sql('CREATE UNIQUE INDEX ux_dup ON users (email)');
      const runId = await t.dialect.startRun('apply', 'm', plan.fingerprint);
      await expect(t.dialect.execute(plan.steps, { runId }, testApplyOptions)).rejects.toThrow(/already exists/);
      expect(await indexesOf(t, 'users')).toEqual(['users_pkey', 'ux_dup', 'ux_users_email']);
    } finally {
      await t.dispose();
    }
  });

  test('a unique build over duplicate rows drops its own INVALID index and nothing else', async () => {
    const t = await postgresTarget(usersAndOrders);
    try {
      const wanted = manifest({ orders: { indexes: [{ name: 'ux_orders_code', columns: ['code'], unique: true }] } });
      const { plan } = await preparePlan(t.dialect, wanted, 'm');
      await t.sql(`INSERT INTO orders VALUES (3, 'b@x', 'A')`);
      const runId = await t.dialect.startRun('apply', 'm', plan.fingerprint);
      await expect(t.dialect.execute(plan.steps, { runId }, testApplyOptions)).rejects.toThrow(/could not create unique index/);
      expect(await indexesOf(t, 'orders')).toEqual(['orders_pkey']);
      expect(await indexesOf(t, 'users')).toEqual(['users_pkey', 'ux_users_email']);
    } finally {
      await t.dispose();
    }
  });
});

describeServer('a half-done index swap converges on the next apply', () => {
  const wider = manifest({ p: { indexes: [{ name: 'ux_p_code', columns: ['code', 'id'], unique: true }] } });

  test('swap failed at DROP INDEX (a key was added meanwhile): the built scratch index is adopted', async () => {
    const t = await postgresTarget(parentChild.replace('REFERENCES p (code)', ''));
    try {
      const { plan } = await preparePlan(t.dialect, wider, 'm');
      await t.sql('ALTER TABLE c ADD CONSTRAINT c_code_fkey FOREIGN KEY (code) REFERENCES p (code)');
      // as apply does: the run's steps journaled 'planned' first, so the leftover is known to be ours
      const runId = await t.dialect.startRun('apply', 'm', plan.fingerprint, plan.steps);
      await expect(t.dialect.execute(plan.steps, { runId }, testApplyOptions)).rejects.toThrow(/depend/);
      await t.dialect.finishRun(runId, 'failed');
      expect(await indexesOf(t, 'p')).toEqual(['p_pkey', 'ux_p_code', 'ux_p_code_sd_new']);
      await t.sql('ALTER TABLE c DROP CONSTRAINT c_code_fkey');
      await applyManifest(t.dialect, wider, testApplyOptions);
      expect(await indexesOf(t, 'p')).toEqual(['p_pkey', 'ux_p_code']);
      expect((await preparePlan(t.dialect, wider, 'm')).plan.steps).toEqual([]);
    } finally {
      await t.dispose();
    }
  });

  test('swap killed during the build (an INVALID scratch index): dropped, then the swap runs', async () => {
    const t = await postgresTarget(parentChild.replace('REFERENCES p (code)', ''));
    try {
      // What a kill -9 during CREATE INDEX CONCURRENTLY leaves: a run still 'running' that planned the swap,
      // and an INVALID index under the scratch name.
      const { plan } = await preparePlan(t.dialect, wider, 'm');
      await t.dialect.startRun('apply', 'm', plan.fingerprint, plan.steps);
      await t.sql(`DROP INDEX ux_p_code; INSERT INTO p VALUES (3, 'a')`);
      await expect(t.sql('CREATE UNIQUE INDEX CONCURRENTLY ux_p_code_sd_new ON p (code)')).rejects.toThrow(/could not create unique index/);
      await t.sql(`UPDATE p SET code = 'c' WHERE id = 3; CREATE UNIQUE INDEX ux_p_code ON p (code)`);
      expect(await indexesOf(t, 'p')).toEqual(['p_pkey', 'ux_p_code', 'ux_p_code_sd_new INVALID']);
      await applyManifest(t.dialect, wider, testApplyOptions);
      expect(await indexesOf(t, 'p')).toEqual(['p_pkey', 'ux_p_code']);
      expect((await preparePlan(t.dialect, wider, 'm')).plan.steps).toEqual([]);
    } finally {
      await t.dispose();
    }
  });
});

describeServer('a scratch-named index nobody of ours left is never taken over', () => {
  const wider = manifest({ p: { indexes: [{ name: 'ux_p_code', columns: ['code', 'id'], unique: true }] } });

  test('someone else\'s ux_p_code_sd_new on the same table: plan refuses naming it, apply leaves it alone', async () => {
    const t = await postgresTarget(parentChild.replace('REFERENCES p (code)', ''));
    try {
      await t.sql('CREATE UNIQUE INDEX ux_p_code_sd_new ON p (code, id)');
      const message = /^manifest tables\.p\.indexes\[0\]: index name "ux_p_code_sd_new" \(the scratch name for rebuilding ux_p_code\) is already used by an index on public\.p \(not left by an unfinished schema-diff run: drop or rename it\)/;
      await expect(preparePlan(t.dialect, wider, 'm')).rejects.toThrow(message);
      // a journal that shows the swap done (or never planned) does not make it ours either
      await expect(applyManifest(t.dialect, wider, testApplyOptions)).rejects.toThrow(message);
      expect(await indexesOf(t, 'p')).toEqual(['p_pkey', 'ux_p_code', 'ux_p_code_sd_new']);
    } finally {
      await t.dispose();
    }
  });
});

const weirdSeed = `
  CREATE TABLE "We""ird; Tbl" (id int PRIMARY KEY, n int);
  ALTER TABLE "We""ird; Tbl" ADD CONSTRAINT ck_n CHECK (n > 0);
  INSERT INTO "We""ird; Tbl" VALUES (1, 5);`;
const looser = manifest({ 'We"ird; Tbl': { checks: [{ name: 'ck_n', expr: 'n > -10' }] } });

describeEachDatabase(['postgres', 'pglite'], 'a table named We"ird; Tbl', (make) => {
  test('the rollback of a replaced CHECK validates in its own transaction, after the swap committed', async () => {
    const t = await make(weirdSeed);
    try {
      const applied = await applyManifest(t.dialect, looser, testApplyOptions);
      expect(applied.plan.steps.map((s) => s.action)).toEqual(['replace_check', 'validate_constraint']);
      await t.sql(`INSERT INTO "We""ird; Tbl" VALUES (2, -1)`);
      // The old CHECK comes back NOT VALID and its VALIDATE fails on row 2: in a transaction of its own, the swap stays.
      await expect(rollback(t.dialect, rollbackOptions({ kind: 'last' }))).rejects.toThrow(/violated/);
      const [ck] = await t.sql(`select pg_get_constraintdef(oid) as def, convalidated from pg_constraint where conname = 'ck_n'`);
      expect(ck).toEqual({ def: 'CHECK ((n > 0)) NOT VALID', convalidated: false });
    } finally {
      await t.dispose();
    }
  });
});

describeServer('a table named We"ird; Tbl, on the server', () => {

  test('when its lock cannot be had, the message names the session holding it', async () => {
    const t = await postgresTarget(weirdSeed);
    const holder = new pg.Client({ connectionString: t.url, application_name: 'blocker' });
    await holder.connect();
    try {
      await holder.query(`BEGIN; SELECT * FROM "We""ird; Tbl"`);
      await expect(applyManifest(t.dialect, looser, { ...testApplyOptions, lockRetries: 2, retryBudgetMs: 2_000 })).rejects.toThrow(
        /blocked by: pid \d+ \(blocker/,
      );
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
      await t.dispose();
    }
  });
});
