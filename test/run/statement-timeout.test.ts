import pg from 'pg';
import { openDialect } from '../../src/dialect/open.js';
import type { Dialect } from '../../src/dialect/dialect.js';
import { SchemaDiffError } from '../../src/errors.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { validateManifest } from '../../src/run/validate.js';
import { verifyManifest } from '../../src/run/verify.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { testApplyOptions } from '../helpers/options.js';

const ROWS = 600_000;
// Slow enough per row that the pre-check scan and the index build each outlast the database's statement_timeout.
const SLOW_CHECK = `length(md5(note || md5(note))) = 32`;
const manifest: LoadedManifest = {
  version: 1,
  tables: {
    big: {
      checks: [{ name: 'ck_big_note', expr: SLOW_CHECK }],
      indexes: [{ name: 'ix_big_note', columns: [{ expr: 'md5(md5(note))' }] }],
    },
  },
} as unknown as LoadedManifest;

/**
 * A database (or role) statement_timeout is meant for the application's
 * queries; schema-diff's scans and builds run longer on a big table. Before,
 * the pre-check was cut short and reported as a constraint that "rows
 * violate", and CREATE INDEX CONCURRENTLY failed halfway.
 */
describeServer('statement_timeout set on the database', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('sd_stmt_timeout');
    await runSql(
      db.url,
      `create table big (id int primary key, note text not null);
       insert into big select g, 'row ' || g from generate_series(1, ${ROWS}) g;
       analyze big;
       alter database ${db.name} set statement_timeout = '100ms';`,
    );
  }, 60_000);
  afterAll(async () => db?.drop());

  async function withDialect<T>(body: (dialect: Dialect) => Promise<T>): Promise<T> {
    const dialect = await openDialect(db.url);
    try {
      return await body(dialect);
    } finally {
      await dialect.close();
    }
  }

  test('the setting is in force for an ordinary session (the test would prove nothing otherwise)', async () => {
    await expect(runSql(db.url, `select count(*) from big where ${SLOW_CHECK}`)).rejects.toMatchObject({ code: '57014' });
  });

  test('validate, then apply (pre-check, index build, VALIDATE) succeed; the setting is left as it was', async () => {
    const validation = await withDialect((d) => validateManifest(d, manifest, { samples: 1, jobs: 1 }));
    expect(validation.report.constraints.map((c) => [c.name, c.violations, c.error])).toEqual([['ck_big_note', 0, undefined]]);
    const result = await withDialect((d) => applyManifest(d, manifest, { ...testApplyOptions, manifestPath: 'big' }));
    expect(result.plan.steps.length).toBeGreaterThan(0);
    expect(await withDialect((d) => verifyManifest(d, manifest, 'big'))).toEqual([]);
    const { rows } = await runSql(db.url, `show statement_timeout`);
    expect(rows[0].statement_timeout).toBe('100ms');
  }, 60_000);
});

describeServer('a pre-check cancelled midway says so', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('sd_stmt_cancel');
    await runSql(db.url, `create table big (id int primary key, note text not null);
      insert into big select g, 'row ' || g from generate_series(1, ${ROWS}) g; analyze big;`);
  }, 60_000);
  afterAll(async () => db?.drop());

  test.each([
    ['checked first', {}, /; nothing was changed$/],
    // beside the check apply builds ix_big_note (run/apply.ts): a check with no verdict drops it again
    ['with the index built beside it', { buildWhileCheckingFromBytes: 0 }, /; (nothing was changed|the 1 index\(es\) built while the rows were checked were dropped again \(journal runs \d+ and \d+\), nothing else was changed)$/],
  ])('cancelled (pg_cancel_backend), %s: "was cancelled", not "rows violate"; nothing changed', async (_how, extra, ending) => {
    const dialect = await openDialect(db.url);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    let cancelled = false;
    // Cancel the pre-check's scan of big once it runs (its count of the CHECK's violations).
    const canceller = (async () => {
      for (let i = 0; i < 2000 && !cancelled; i++) {
        const { rows } = await admin.query(
          `select pg_cancel_backend(pid) as ok from pg_stat_activity
            where datname = current_database() and application_name = 'schema-diff' and state = 'active' and query like '%count(*) FILTER%' and pid <> pg_backend_pid()`,
        );
        cancelled = rows.some((r) => r.ok);
        if (!cancelled) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      const error = await applyManifest(dialect, manifest, { ...testApplyOptions, ...extra, manifestPath: 'big' }).then(
        () => null,
        (e: unknown) => e,
      );
      await canceller;
      expect(cancelled).toBe(true);
      expect(error).toBeInstanceOf(SchemaDiffError);
      expect((error as SchemaDiffError).message).toMatch(
        /^the check of existing rows of public\.big against ck_big_note was cancelled \(by a statement_timeout or a cancel request\) before it finished: no row was judged; /,
      );
      expect((error as SchemaDiffError).message).toMatch(ending);
      expect((error as SchemaDiffError).message).not.toMatch(/violate/);
      const { rows } = await runSql(db.url, `select count(*)::int as n from pg_indexes where indexname = 'ix_big_note'
        union all select count(*)::int from pg_constraint where conname = 'ck_big_note'`);
      expect(rows.map((r) => r.n)).toEqual([0, 0]);
    } finally {
      cancelled = true;
      await admin.end();
      await dialect.close();
    }
  }, 60_000);
});
