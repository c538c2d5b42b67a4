import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import { defineManifest, plan, pull, rollback, validate, verify, renderScript, apply } from '../../src/index.js';
import { callerPool, createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { SHOP_MANIFEST, SHOP_SQL } from './helpers.js';

const manifest = defineManifest(SHOP_MANIFEST as never);

describeServer('the library on a URL, a Kysely instance or a pg.Pool (real server)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('sd_library');
    await runSql(db.url, SHOP_SQL);
  });
  afterAll(async () => db?.drop());

  test('docs/library.md\'s migration script runs as written', () => {
    const doc = readFileSync('docs/library.md', 'utf8');
    const script = /```ts\n([\s\S]*?)```/.exec(doc)![1];
    expect(script.split('\n').length).toBeLessThanOrEqual(30);
    // inside the package, so that `from 'schema-diff'` resolves to this package (dist/, built by npm test)
    const file = resolve(`.library-example-${process.pid}.mts`);
    writeFileSync(file, script);
    try {
      const run = spawnSync(process.execPath, ['--import', 'tsx', file], { env: { ...process.env, DATABASE_URL: db.url }, encoding: 'utf8', timeout: 60_000 });
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
      expect(run.stdout).toContain('CREATE INDEX CONCURRENTLY ix_orders_status');
      expect(run.stdout).toMatch(/applied run 1; drift left: 0\n$/);
    } finally {
      rmSync(file, { force: true });
    }
  });

  test('every function takes { url }, { db } or { pool }, with defaults, and leaves the caller\'s handles open', async () => {
    const pool = callerPool(db.url, 3);
    const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: callerPool(db.url, 3) }) });
    try {
      // the docs' script applied the check and index; the foreign key of SHOP_MANIFEST is still to do
      const planned = await plan({ url: db.url, manifest });
      expect(planned.plan.steps.map((s) => s.name)).toEqual(['fk_orders_buyer', 'fk_orders_buyer']);
      expect(planned.plan.manifest).toBe('(manifest in code)');
      expect(renderScript(planned.plan)).toContain('ADD CONSTRAINT fk_orders_buyer');
      expect((await apply({ pool, manifest, manifestPath: 'shop.ts' })).plan.steps).toHaveLength(2);
      expect(await verify({ db: kysely, manifest })).toEqual([]);
      const report = await validate({ pool, manifest });
      expect(report).toMatchObject({ ready: true, totals: { constraints: 2 } });
      const undone = await rollback({ db: kysely });
      expect(undone.plan.objects).toEqual(['fk_orders_buyer']);
      expect((await verify({ pool, manifest })).map((d) => d.object)).toEqual(['fk_orders_buyer']);
      // still usable: nothing of ours ended them, and the borrowed session settings were reset
      expect((await pool.query('show jit')).rows[0].jit).toBe('on');
      expect((await pool.query('show default_transaction_read_only')).rows[0].default_transaction_read_only).toBe('off');
    } finally {
      await pool.end();
      await kysely.destroy();
    }
  });

  test('pull gives the manifest of what the database has, and its source text; plan with it has nothing to do', async () => {
    const pool = callerPool(db.url, 2);
    try {
      const pulled = await pull({ pool, tables: ['orders'], format: 'json' });
      expect(pulled.tables).toEqual([{ schema: 'public', name: 'orders' }]);
      expect(JSON.parse(pulled.source as string)).toEqual(JSON.parse(JSON.stringify(pulled.manifest)));
      expect((await plan({ pool, manifest: pulled.manifest })).plan.steps).toEqual([]);
      expect((await pull({ url: db.url, tables: ['orders'] })).source).toBeUndefined();
    } finally {
      await pool.end();
    }
  });
});

test('a file manifest path is loaded and named', async () => {
  // no database needed to see that a path is accepted where an object is: the connection error comes after loading
  const error = await plan({ url: 'postgres://u@127.0.0.1:1/none', manifest: join('test', 'fixtures', 'manifests', 'plain.json') }).catch((e: Error) => e);
  expect((error as Error).message).toMatch(/^cannot connect to postgres:\/\/u@127\.0\.0\.1:1\/none/);
});
