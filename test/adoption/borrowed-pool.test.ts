import { Kysely, PostgresDialect } from 'kysely';
import { apply, defineManifest, plan, pull, validate, verify } from '../../src/index.js';
import { callerPool as basePool, createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';

/** The caller's pool, its clients' errors swallowed: a hung call's client is killed by the database drop. */
function callerPool(url: string, max: number) {
  const pool = basePool(url, max);
  pool.on('connect', (c) => c.on('error', () => {}));
  return pool;
}

// verify / pull / plan (no new constraint, checkRows off) with a caller's pool need one connection, the session
// pinned for them: catalog reads and normalization never wait for a second one the caller may not have.
const SQL = `
  create schema app;
  create function app.positive(x int) returns boolean language sql immutable as 'select x > 0';
  create table public.orders (id int primary key, total int, constraint ck_total check (app.positive(total)));
  insert into public.orders values (1, 10);
`;

const manifest = defineManifest({
  version: 1,
  tables: { orders: { checks: [{ name: 'ck_total', expr: 'app.positive(total)' }] } },
} as never);

/** Resolves to 'hung' when the promise does not settle in ms (the timer cleared either way). */
async function within<T>(p: Promise<T>, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => {
    timer = setTimeout(() => r('hung'), ms);
  });
  try {
    return await Promise.race([p.then((v) => ({ ok: v }), (e: Error) => ({ error: e.message })), hung]);
  } finally {
    clearTimeout(timer);
  }
}

describeServer("a caller's pool or Kysely instance: everything read on the one connection lent as the session", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('sd_borrowed_pool');
    await runSql(db.url, SQL);
  });
  afterAll(async () => db?.drop());

  test('verify({ pool }) with a caller pool of max 1 finishes (it needs no second connection)', async () => {
    const pool = callerPool(db.url, 1);
    try {
      expect(await within(verify({ pool, manifest }), 10_000)).toEqual({ ok: [] });
    } finally {
      await pool.end();
    }
  }, 20_000);

  test('pull({ pool }) with a caller pool of max 1 finishes', async () => {
    const pool = callerPool(db.url, 1);
    try {
      const r = await within(pull({ pool, tables: ['orders'] }), 10_000);
      expect(r).not.toBe('hung');
    } finally {
      await pool.end();
    }
  }, 20_000);

  test('plan({ db }) on a Kysely over a pg pool of max 1 finishes', async () => {
    const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: callerPool(db.url, 1) }) });
    try {
      const r = (await within(plan({ db: kysely, manifest, checkRows: false }), 10_000)) as { ok?: { plan: { steps: unknown[] } } } | string;
      expect(r).not.toBe('hung');
    } finally {
      await kysely.destroy();
    }
  }, 20_000);

  test("the catalog's CHECK is read with the session's search_path, as normalization reads the manifest's", async () => {
    // an application that sets search_path on a client it returns to the pool (schema per tenant, say):
    // pg-pool lends the most recently released idle client first, so that one becomes schema-diff's session
    const pool = callerPool(db.url, 3);
    try {
      const c = await pool.connect();
      await c.query('set search_path = app, public');
      c.release();
      const { plan: p } = await plan({ pool, manifest, checkRows: false });
      // the database has exactly the manifest's CHECK: nothing to do
      expect(p.steps.map((s) => `${s.action} ${s.name}`)).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  // last: apply changes the table the tests above plan against
  test('validate({ pool }) and apply({ pool }) with a caller pool of max 1 count the rows on the pinned client', async () => {
    const pool = callerPool(db.url, 1);
    try {
      const report = (await within(validate({ pool, manifest, jobs: 2 }), 10_000)) as { ok?: { constraints: { name: string; violations: number }[] } };
      expect(report.ok?.constraints.map((r) => [r.name, r.violations])).toEqual([['ck_total', 0]]);
      const more = defineManifest({
        version: 1,
        tables: { orders: { checks: [{ name: 'ck_total', expr: 'app.positive(total)' }, { name: 'ck_total_small', expr: 'total < 100' }] } },
      } as never);
      // apply's check of the existing rows before its first change
      const applied = (await within(apply({ pool, manifest: more }), 10_000)) as { ok?: { plan: { steps: unknown[] } } };
      expect(applied.ok?.plan.steps.length).toBeGreaterThan(0);
    } finally {
      await pool.end();
    }
  }, 30_000);
});
