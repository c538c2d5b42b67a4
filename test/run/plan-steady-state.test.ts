import { randomBytes } from 'node:crypto';
import type { Dialect } from '../../src/dialect/dialect.js';
import { openDialect } from '../../src/dialect/open.js';
import { checkManifest } from '../../src/manifest/check.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { testApplyOptions } from '../helpers/options.js';
import { recordingDialect } from '../helpers/recording.js';
import { ADMIN_URL, createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';


const manifestWith = (checkExpr: string): LoadedManifest =>
  checkManifest({
    tables: {
      orders: {
        checks: [
          { name: 'ck_orders_n', expr: checkExpr },
          { name: 'ck_orders_v', expr: "v IN ('a', 'b')" },
        ],
        indexes: [{ name: 'ix_orders_lower_v', columns: [{ expr: 'lower(v)' }], where: 'n BETWEEN 1 AND 5' }],
      },
      items: { checks: [{ name: 'ck_items_n', expr: 'n > 0' }] },
    },
  });

const isDdl = (statement: string) => /^\s*(create|alter|drop|savepoint)\b/i.test(statement);
const plannedSteps = async (dialect: Dialect, manifest: LoadedManifest) =>
  (await preparePlan(dialect, manifest, 'm')).plan.steps.map((s) => `${s.action} ${s.name}`);

/** A throwaway database made by `setup` (a role `role` created with it), with `manifest` applied. */
async function appliedDatabase(name: string, setup: string, role: string, manifest: LoadedManifest) {
  const db = await createTestDatabase(name);
  await runSql(db.url, `${setup}\nCREATE ROLE ${role};`);
  const writer = await openDialect(db.url);
  try {
    await applyManifest(writer, manifest, testApplyOptions);
  } finally {
    await writer.close();
  }
  return db;
}

async function dropApplied(db: Awaited<ReturnType<typeof createTestDatabase>> | undefined, role: string) {
  await db?.drop();
  await runSql(ADMIN_URL, `DROP ROLE IF EXISTS ${role}`);
}

/**
 * The cache entry of CHECK `check` forged to the text 'n > 1' (its canonical form left as 'n > 0' made it) while
 * `role`, another role, may write the cache; undone after `body`.
 */
async function withForgedEntry(url: string, role: string, check: string, body: () => Promise<void>) {
  await runSql(
    url,
    `GRANT USAGE ON SCHEMA schema_diff TO ${role}; GRANT UPDATE ON schema_diff.normalized TO ${role};
     UPDATE schema_diff.normalized SET source = 'n > 1' WHERE name = '${check}';`,
  );
  try {
    await body();
  } finally {
    await runSql(url, `REVOKE ALL ON schema_diff.normalized FROM ${role}; REVOKE ALL ON SCHEMA schema_diff FROM ${role};
                       UPDATE schema_diff.normalized SET source = 'n > 0' WHERE name = '${check}';`);
  }
}

/** A plan on a read-only connection pair that records every statement (recording.ts). */
async function planRecorded(url: string, manifest: LoadedManifest) {
  const { dialect, statements, on } = await recordingDialect(url);
  try {
    return { steps: await plannedSteps(dialect, manifest), statements, on };
  } finally {
    await dialect.close();
  }
}

describeServer('plan after apply: no DDL; the journal cache can skip normalization, never hide a diff', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const applied = manifestWith('n > 0');
  const changed = manifestWith('n > 1');
  const other = `sd_forger_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await appliedDatabase(
      'sd_steady',
      `CREATE TABLE orders (id integer PRIMARY KEY, n numeric, v varchar(10));
       CREATE TABLE items (id integer PRIMARY KEY, n numeric, v varchar(10));`,
      other,
      applied,
    );
  });
  afterAll(() => dropApplied(db, other));
  const planRecordedHere = (manifest: LoadedManifest) => planRecorded(db.url, manifest);

  test('a second plan after apply runs no DDL at all', async () => {
    const { steps, statements } = await planRecordedHere(applied);
    expect(steps).toEqual([]);
    expect(statements.filter(isDdl)).toEqual([]);
  });

  test('without the cache, the expressions are normalized in one batch: one temporary table, one shared index', async () => {
    await runSql(db.url, 'CREATE TABLE cache_copy AS SELECT * FROM schema_diff.normalized; DELETE FROM schema_diff.normalized;');
    try {
      const { steps, statements } = await planRecordedHere(applied);
      expect(steps).toEqual([]);
      // one CREATE TEMP TABLE with every CHECK (and the index's predicate) inline, one CREATE INDEX for every plain btree's keys
      expect(statements.filter(isDdl).map((s) => s.split(' (')[0])).toEqual([
        'CREATE TEMP TABLE sd_norm_0',
        'CREATE INDEX sd_norm_0_keys_0 ON pg_temp.sd_norm_0',
      ]);
    } finally {
      await runSql(db.url, 'INSERT INTO schema_diff.normalized SELECT * FROM cache_copy; DROP TABLE cache_copy;');
    }
  });

  test('a changed expression is normalized again and shown, though the cache holds the old one', async () => {
    expect(await planRecordedHere(changed)).toMatchObject({ steps: ['replace_check ck_orders_n', 'validate_constraint ck_orders_n'] });
  });

  test('a forged entry (the new text, the old canonical form) written while another role may write the cache is ignored', async () => {
    await withForgedEntry(db.url, other, 'ck_orders_n', async () =>
      expect((await planRecordedHere(changed)).steps).toEqual(['replace_check ck_orders_n', 'validate_constraint ck_orders_n']),
    );
  });

  test('a forged entry whose canonical form is not what the catalog holds is ignored, and its text never reaches SQL', async () => {
    const hostile = `(n > (1)::numeric)) NOT VALID; DROP TABLE items; --`;
    await runSql(db.url, `UPDATE schema_diff.normalized SET source = 'n > 1', canonical = $$${hostile}$$ WHERE name = 'ck_orders_n'`);
    try {
      const { steps, statements } = await planRecordedHere(changed);
      expect(steps).toEqual(['replace_check ck_orders_n', 'validate_constraint ck_orders_n']);
      expect(statements.join('\n')).not.toContain('DROP TABLE');
      expect((await runSql(db.url, `SELECT to_regclass('items') IS NOT NULL AS ok`)).rows).toEqual([{ ok: true }]);
    } finally {
      await runSql(db.url, `UPDATE schema_diff.normalized SET source = 'n > 0', canonical = '(n > (0)::numeric)' WHERE name = 'ck_orders_n'`);
    }
  });

  test('a column that changes type makes the entries of its table answer no more', async () => {
    await runSql(db.url, 'ALTER TABLE items ALTER COLUMN v TYPE varchar(20)');
    const { steps, statements } = await planRecordedHere(applied);
    expect(steps).toEqual([]);
    expect(statements.filter((s) => /^CREATE TEMP TABLE/.test(s)).length).toBe(1);
  });
});

/** From 50 tables on, the cache is read on the second connection beside the catalog's foreign keys (postgres-dialect.ts): the same rules hold there. */
describeServer('plan after apply at 60 tables: the cache read beside the catalog follows the same rules', () => {
  const TABLES = 60;
  const names = Array.from({ length: TABLES }, (_, i) => `t${i}`);
  const manifestOf = (firstExpr: string): LoadedManifest =>
    checkManifest({
      tables: Object.fromEntries(
        names.map((name, i) => [name, { checks: [{ name: `ck_${name}_n`, expr: i === 0 ? firstExpr : 'n > 0' }], indexes: [{ name: `ix_${name}_n`, columns: ['n'] }] }]),
      ),
    });
  const other = `sd_forger_${randomBytes(4).toString('hex')}`;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    db = await appliedDatabase('sd_steady_wide', names.map((n) => `CREATE TABLE ${n} (id integer PRIMARY KEY, n numeric);`).join('\n'), other, manifestOf('n > 0'));
  });
  afterAll(() => dropApplied(db, other));
  const planRecordedHere = (manifest: LoadedManifest) => planRecorded(db.url, manifest);

  test('a second plan runs no DDL, reads the cache once, on the second connection, and still shows a changed expression', async () => {
    const same = await planRecordedHere(manifestOf('n > 0'));
    expect(same.steps).toEqual([]);
    expect(same.statements.filter(isDdl)).toEqual([]);
    const readsCache = (s: string) => s.includes('from schema_diff.normalized');
    expect(same.on.pool.filter(readsCache)).toHaveLength(1);
    expect(same.on.session.filter(readsCache)).toEqual([]);
    expect((await planRecordedHere(manifestOf('n > 1'))).steps).toEqual(['replace_check ck_t0_n', 'validate_constraint ck_t0_n']);
  });

  test('a forged entry written while another role may write the cache is ignored', async () => {
    await withForgedEntry(db.url, other, 'ck_t0_n', async () =>
      expect((await planRecordedHere(manifestOf('n > 1'))).steps).toEqual(['replace_check ck_t0_n', 'validate_constraint ck_t0_n']),
    );
  });
});
