import { openDialect } from '../../src/dialect/open.js';
import { checkManifest } from '../../src/manifest/check.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { testApplyOptions } from '../helpers/options.js';
import { recordingDialect } from '../helpers/recording.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { CHECK_SHAPES, INDEX_SHAPES } from '../helpers/corpus.js';
import { readFileSync } from 'node:fs';

const tempTables = (statements: readonly string[]) => statements.filter((s) => /^CREATE TEMP TABLE/.test(s)).map((s) => s.split(' (')[0]);

describeServer('batched normalization: table shapes share scratch tables, and a borrowed column is still refused', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('sd_normbatch');
    await runSql(
      db.url,
      `CREATE TABLE a (id integer PRIMARY KEY, x integer NOT NULL, v integer);
       CREATE TABLE b (id integer PRIMARY KEY, y text COLLATE "C", w varchar(10));
       CREATE TABLE c (id integer PRIMARY KEY, v text);`,
    );
  });
  afterAll(async () => db?.drop());

  async function plan(manifest: LoadedManifest) {
    const { dialect, statements } = await recordingDialect(db.url);
    try {
      const { plan } = await preparePlan(dialect, manifest, 'm');
      return { steps: plan.steps.map((s) => `${s.action} ${s.name}`), statements };
    } finally {
      await dialect.close();
    }
  }

  /** apply, then empty the journal's cache of canonical forms, so that the next plan parses every expression again. */
  async function applyThenForgetCache(m: LoadedManifest) {
    const writer = await openDialect(db.url);
    try {
      await applyManifest(writer, m, testApplyOptions);
    } finally {
      await writer.close();
    }
    await runSql(db.url, 'DELETE FROM schema_diff.normalized');
  }

  const manifest = checkManifest({
    tables: {
      a: { checks: [{ name: 'ck_a_x', expr: 'x BETWEEN 1 AND 9' }, { name: 'ck_a_v', expr: "v > '5'" }], indexes: [{ name: 'ix_a_x', columns: ['x'], where: 'v <> 3' }] },
      b: { checks: [{ name: 'ck_b_y', expr: "y LIKE 'k%'" }], indexes: [{ name: 'ix_b_lower_w', columns: [{ expr: 'lower(w)' }] }] },
      // c.v is text where a.v is integer: the same text means something else, so c parses on a table of its own
      c: { checks: [{ name: 'ck_c_v', expr: "v > '5'" }] },
    },
  });

  test('shapes that agree on their common columns share one temporary table; a disagreeing one gets its own', async () => {
    const { steps, statements } = await plan(manifest);
    expect(tempTables(statements)).toEqual(['CREATE TEMP TABLE sd_norm_0', 'CREATE TEMP TABLE sd_norm_1']);
    expect(steps.filter((s) => !/^validate/.test(s)).map((s) => s.split(' ')[1]).sort()).toEqual(['ck_a_v', 'ck_a_x', 'ck_b_y', 'ck_c_v', 'ix_a_x', 'ix_b_lower_w']);
    await applyThenForgetCache(manifest);
    // without the journal's cache every expression is parsed again, and each matches what apply made
    expect((await plan(manifest)).steps).toEqual([]);
    const { rows } = await runSql(db.url, `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname IN ('ck_a_v', 'ck_c_v') ORDER BY 1`);
    expect(rows).toEqual([
      { conname: 'ck_a_v', def: 'CHECK ((v > 5))' },
      { conname: 'ck_c_v', def: "CHECK ((v > '5'::text))" },
    ]);
  });

  test.each([
    ['a CHECK', { a: { checks: [{ name: 'ck_a_borrow', expr: "y = 'k'" }] }, b: { checks: [{ name: 'ck_b_y', expr: "y LIKE 'k%'" }] } }, 'tables.a.checks[0].expr'],
    ['an index expression', { a: { indexes: [{ name: 'ix_a_borrow', columns: [{ expr: 'lower(w)' }] }] }, b: { checks: [{ name: 'ck_b_y', expr: "y LIKE 'k%'" }] } }, 'tables.a.indexes[0]'],
    ['an index predicate', { a: { indexes: [{ name: 'ix_a_borrow', columns: ['x'], where: 'w IS NULL' }] }, b: { checks: [{ name: 'ck_b_y', expr: "y LIKE 'k%'" }] } }, 'tables.a.indexes[0]'],
  ])('%s naming a column of another table that shares the scratch table is refused, naming the entry', async (_what, tables, path) => {
    const error = await plan(checkManifest({ tables } as never)).catch((e: Error) => e);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toMatch(/does not exist/);
  });

  test('the whole expression corpus parses as the conjuncts of one CHECK per scratch table, never falling back to a CHECK each', async () => {
    await runSql(db.url, readFileSync(new URL('../fixtures/shapes.sql', import.meta.url), 'utf8'));
    const corpus = checkManifest({
      tables: {
        shapes: {
          checks: CHECK_SHAPES.map((expr, k) => ({ name: `ck_shape_${k}`, expr })),
          indexes: INDEX_SHAPES.map((ix, k) => ({ name: `ix_shape_${k}`, ...ix })),
        },
      },
    } as never);
    const { statements } = await plan(corpus);
    const created = statements.filter((s) => /^CREATE TEMP TABLE/.test(s));
    // one scratch table, its CHECKs as one: no LIKE copy, which is the one-CHECK-each fallback
    expect(created).toHaveLength(1);
    expect(created[0]).toContain('CONSTRAINT sd_checks CHECK (true AND (');
    expect(created[0]).not.toMatch(/CONSTRAINT sd_ck_/);
    expect(statements.some((s) => /\(LIKE /.test(s))).toBe(false);
  });

  test('two tables alike but for a collation are two shapes: each index key parses with its own table\'s collation', async () => {
    await runSql(db.url, `CREATE TABLE x1 (id integer, name text); CREATE TABLE x2 (id integer, name text COLLATE "C");`);
    const collated = checkManifest({
      tables: {
        x1: { indexes: [{ name: 'ix_x1_name', columns: ['name'] }] },
        x2: { indexes: [{ name: 'ix_x2_name', columns: [{ column: 'name', collate: 'C' }] }] },
      },
    });
    await applyThenForgetCache(collated);
    expect((await plan(collated)).steps).toEqual([]);
  });

  test('a system column in an index predicate is refused at plan, as CREATE INDEX would (a CHECK would take it)', async () => {
    const error = await plan(checkManifest({ tables: { a: { indexes: [{ name: 'ix_a_sys', columns: ['x'], where: 'tableoid <> 0' }] } } })).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/tables\.a\.indexes\[0\].*system column/);
  });

  test('a type the role may not name, or a type named like a scratch table, still parses (the tables are then copied with LIKE)', async () => {
    const role = `sd_nb_${process.pid}`;
    await runSql(
      db.url,
      `CREATE SCHEMA priv; CREATE DOMAIN priv.money_t AS numeric(12,2); CREATE TABLE dm (id integer, total priv.money_t);
       CREATE TYPE public.sd_norm_0 AS (x integer); CREATE TABLE y2 (id integer, k sd_norm_0);
       DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN;
       GRANT USAGE ON SCHEMA public, schema_diff TO ${role}; GRANT SELECT ON dm, y2, a TO ${role};
       GRANT SELECT ON ALL TABLES IN SCHEMA schema_diff TO ${role};`,
    );
    try {
      const url = new URL(db.url);
      url.username = role;
      const manifest = checkManifest({
        tables: { a: { checks: [{ name: 'ck_a_x2', expr: 'x < 100' }] }, dm: { checks: [{ name: 'ck_dm_total', expr: 'total >= 0' }] }, y2: { checks: [{ name: 'ck_y2_k', expr: '(k).x > 0' }] } },
      });
      const { dialect } = await recordingDialect(url.toString());
      try {
        const { plan: planned } = await preparePlan(dialect, manifest, 'm');
        expect(planned.steps.filter((s) => s.action === 'add_check').map((s) => s.name).sort()).toEqual(['ck_a_x2', 'ck_dm_total', 'ck_y2_k']);
      } finally {
        await dialect.close();
      }
    } finally {
      await runSql(db.url, `DROP OWNED BY ${role}; DROP ROLE ${role};`);
    }
  });
});
