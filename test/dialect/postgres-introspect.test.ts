import pg from 'pg';
import { openDialect } from '../../src/dialect/open.js';
import type { Dialect } from '../../src/dialect/dialect.js';
import { checkManifest } from '../../src/manifest/check.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { introspectPostgres } from '../../src/dialect/postgres/introspect.js';
import type { PostgresDialect } from '../../src/dialect/postgres/postgres-dialect.js';

describeServer('PostgreSQL introspection', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dialect: Dialect;
  beforeAll(async () => {
    db = await createTestDatabase();
    await runSql(
      db.url,
      `CREATE TABLE parent (id int PRIMARY KEY, code text UNIQUE);
       CREATE TABLE child (
         id int PRIMARY KEY, a int, b int, code text,
         CONSTRAINT ck_a CHECK (a > 0),
         CONSTRAINT fk_child_parent FOREIGN KEY (a) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED);
       ALTER TABLE child ADD CONSTRAINT ck_b CHECK (b > 0) NOT VALID;
       ALTER TABLE child ADD CONSTRAINT fk_child_code FOREIGN KEY (code) REFERENCES parent (code) MATCH FULL NOT VALID;
       CREATE INDEX ix_child_expr ON child (lower(code), b) WHERE b IS NOT NULL;
       INSERT INTO child VALUES (1, NULL, 7, NULL), (2, NULL, 7, NULL);`,
    );
    // a failed concurrent build leaves an INVALID index behind
    await runSql(db.url, 'CREATE UNIQUE INDEX CONCURRENTLY ix_child_b_unique ON child (b)').catch(() => {});
    dialect = await openDialect(db.url);
  });
  afterAll(async () => {
    await dialect?.close();
    await db?.drop();
  });

  test('reads checks, validity, FK actions, deferrability, match type, expression and INVALID indexes', async () => {
    const catalog = await dialect.introspect([{ schema: 'public', name: 'child' }]);
    const child = catalog.tables[0];
    expect(child.primaryKey).toEqual(['id']);
    expect(child.checks.map((c) => [c.name, c.expr, c.validated])).toEqual([
      ['ck_a', '(a > 0)', true],
      ['ck_b', '(b > 0)', false],
    ]);
    const fk = child.foreignKeys.find((f) => f.name === 'fk_child_parent');
    expect(fk).toMatchObject({
      columns: ['a'],
      refTable: { schema: 'public', name: 'parent' },
      refColumns: ['id'],
      onDelete: 'cascade',
      onUpdate: 'set null',
      deferrable: true,
      initiallyDeferred: true,
      match: 'simple',
      validated: true,
    });
    expect(child.foreignKeys.find((f) => f.name === 'fk_child_code')).toMatchObject({ match: 'full', validated: false });
    const expr = child.indexes.find((i) => i.name === 'ix_child_expr');
    expect(expr).toMatchObject({ keys: [{ expr: 'lower(code)' }, { column: 'b' }], where: '(b IS NOT NULL)', valid: true });
    expect(child.indexes.find((i) => i.name === 'ix_child_b_unique')).toMatchObject({ unique: true, valid: false });
    expect(child.indexes.find((i) => i.name === 'child_pkey')).toMatchObject({ constraintBacked: true });
  });

  test('NOT VALID gets only a VALIDATE step; an INVALID index is dropped and rebuilt', async () => {
    const manifest = checkManifest({
      tables: {
        child: {
          checks: [{ name: 'ck_b', expr: 'b > 0' }],
          indexes: [{ name: 'ix_child_b_unique', columns: ['b'], unique: true, where: 'a IS NOT NULL' }],
        },
      },
    });
    const { plan } = await preparePlan(dialect, manifest, 'm');
    expect(plan.steps.map((s) => `${s.action} ${s.name}`)).toEqual(['replace_index ix_child_b_unique', 'validate_constraint ck_b']);
    expect(plan.steps[0].sql[0]).toMatch(/^DROP INDEX CONCURRENTLY IF EXISTS public\.ix_child_b_unique$/);
    await applyManifest(dialect, manifest, {
      manifestPath: 'm',
      lockTimeoutMs: 50,
      lockRetries: 5,
      retryBudgetMs: 5000,
      lockWaitMs: 1000,
      allowNotValid: false,
      confirm: async () => true,
    });
    expect((await preparePlan(dialect, manifest, 'm')).plan.steps).toEqual([]);
  });

  test('a catalog of 1,000 tables is read in one query per kind of object', async () => {
    const many = await createTestDatabase();
    try {
      await runSql(
        many.url,
        `CREATE TABLE hub (id int PRIMARY KEY);
         DO $$ BEGIN FOR k IN 1..1000 LOOP
           EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, hub_id int REFERENCES hub (id), v int CHECK (v > %s))', k, k);
           EXECUTE format('CREATE INDEX t%s_v ON t%s (v) WHERE v IS NOT NULL', k, k);
         END LOOP; END $$;`,
      );
      const d = await openDialect(many.url);
      try {
        const refs = Array.from({ length: 1000 }, (_, k) => ({ schema: 'public', name: `t${k + 1}` }));
        // the statements sent, whatever the number of tables: 100 (past the second connection's threshold) as 1,000,
        // once the handle has read what the server supports (once per connection)
        await d.introspect(refs.slice(0, 1));
        const { result: catalog, queries } = await countingQueries(() => d.introspect(refs));
        expect(queries).toBe((await countingQueries(() => d.introspect(refs.slice(0, 100)))).queries);
        expect(queries).toBeLessThan(20);
        expect(catalog.tables).toHaveLength(1000);
        expect(catalog.tables.every((t) => t.checks.length === 1 && t.foreignKeys.length === 1 && t.indexes.length === 2)).toBe(true);
        // read on two connections (constraints beside indexes) as on one: the same catalog
        const oneConnection = await introspectPostgres((d as PostgresDialect).handles.session, refs);
        expect(JSON.stringify(catalog.tables.map(({ ref, checks, foreignKeys, indexes, referencedBy }) => ({ ref, checks, foreignKeys, indexes, referencedBy })))).toBe(
          JSON.stringify(oneConnection.tables.map(({ ref, checks, foreignKeys, indexes, referencedBy }) => ({ ref, checks, foreignKeys, indexes, referencedBy }))),
        );
        expect(catalog.relations).toEqual(oneConnection.relations);
      } finally {
        await d.close();
      }
    } finally {
      await many.drop();
    }
  });
});

/** Runs body, counting the statements every pg client of this process sends meanwhile (one body at a time). */
async function countingQueries<T>(body: () => Promise<T>): Promise<{ result: T; queries: number }> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  let queries = 0;
  proto.query = function (this: unknown, ...args: unknown[]) {
    queries++;
    return original.apply(this, args);
  };
  try {
    return { result: await body(), queries };
  } finally {
    proto.query = original;
  }
}
