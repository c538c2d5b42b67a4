import { randomBytes } from 'node:crypto';
import { rollbackQuestion } from '../../src/cli/commands/rollback.js';
import { renderPostgres } from '../../src/dialect/postgres/render.js';
import { rebuildStatements, type RebuildSpec } from '../../src/dialect/sqlite/rebuild.js';
import type { EditSpec } from '../../src/dialect/sqlite/schema-edit.js';
import type { Change } from '../../src/diff/changes.js';
import type { Dialect } from '../../src/dialect/dialect.js';
import { openDialect } from '../../src/dialect/open.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { planRollback, rollback, type RollbackOptions } from '../../src/run/rollback.js';
import { expectOneLineError, runCli } from '../cli/run-cli.js';
import { describeEachDatabase } from '../helpers/each.js';
import { testApplyOptions } from '../helpers/options.js';
import { ADMIN_URL, createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import type { TestTarget } from '../helpers/targets.js';

/**
 * The journal is a table: whoever can write it must not thereby choose what
 * rollback runs. Rollback renders each inverse again from the step's recorded
 * change and refuses a stored inverse that says otherwise; a row that is not
 * what schema-diff writes is a one-line error naming its run and step.
 */
const seed = `
  CREATE TABLE victim (id integer PRIMARY KEY);
  INSERT INTO victim VALUES (1);
  CREATE TABLE t (id integer PRIMARY KEY, n integer NOT NULL);
  INSERT INTO t VALUES (1, 1), (2, 2);
`;
const manifest: LoadedManifest = {
  version: 1,
  tables: { t: { checks: [{ name: 'ck_t_n', expr: 'n >= 0' }], indexes: [{ name: 'ix_t_n', columns: ['n'] }] } },
};
const rollbackOptions: RollbackOptions = {
  scope: { kind: 'last' },
  dryRun: false,
  lockTimeoutMs: 25,
  lockRetries: 50,
  retryBudgetMs: 30_000,
  lockWaitMs: 2_000,
  backup: false,
  confirm: async () => true,
};

describeEachDatabase(['postgres', 'pglite', 'sqlite'], 'journal rows are checked, never trusted', (make, kind) => {
  let target: TestTarget;
  const steps = kind === 'sqlite' ? 'schema_diff_steps' : 'schema_diff.steps';
  const list = (...items: string[]) =>
    kind === 'sqlite' ? `'${JSON.stringify(items)}'` : `array[${items.map((i) => `'${i.replace(/'/g, "''")}'`).join(', ')}]::text[]`;
  const victimCount = async () => Number((await target.sql('SELECT count(*) AS n FROM victim'))[0].n);

  beforeAll(async () => {
    target = await make(seed);
    await applyManifest(target.dialect, manifest, { ...testApplyOptions, backup: false });
    await target.sql(`CREATE TABLE journal_copy AS SELECT * FROM ${steps}`);
  });
  afterAll(async () => {
    await target?.dispose();
  });
  afterEach(async () => {
    await target.sql(`DELETE FROM ${steps}`);
    await target.sql(`INSERT INTO ${steps} SELECT * FROM journal_copy`);
  });

  test('a tampered inverse: rollback refuses naming run and step, runs nothing', async () => {
    await target.sql(`UPDATE ${steps} SET inverse = ${list('DROP TABLE victim')} WHERE seq = 1`);
    const error = await rollback(target.dialect, rollbackOptions).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^journal run 1 step \d+: its stored inverse differs from the one rendered from its recorded change \((create_index ix_t_n|rebuild_table t)\)/);
    expect(await victimCount()).toBe(1);
    expect((await target.dialect.history()).filter((r) => r.kind === 'rollback')).toEqual([]);
  });

  test('an inverse given to a step that had none (VALIDATE) or a recorded change edited to another object: refused', async () => {
    if (kind !== 'sqlite') {
      await target.sql(`UPDATE ${steps} SET inverse = ${list('DROP TABLE victim')} WHERE action = 'validate_constraint'`);
      await expect(rollback(target.dialect, rollbackOptions)).rejects.toThrow(/^journal run 1 step \d+: no recorded (change|origin)/);
      await target.sql(`DELETE FROM ${steps}`);
      await target.sql(`INSERT INTO ${steps} SELECT * FROM journal_copy`);
    }
    await target.sql(`UPDATE ${steps} SET origin = replace(origin, 'ix_t_n', 'victim_pkey') WHERE origin LIKE '%ix_t_n%'`);
    await expect(rollback(target.dialect, rollbackOptions)).rejects.toThrow(/^journal run 1 step \d+: /);
    expect(await victimCount()).toBe(1);
  });

  test('a forged origin and inverse that agree: every expression is checked again, so no DROP COLUMN hides in one', async () => {
    const quoted = (v: unknown) => `'${JSON.stringify(v).replace(/'/g, "''")}'`;
    const columnsOfT = async () => (await target.sql(kind === 'sqlite' ? `SELECT name FROM pragma_table_info('t')` : `select attname::text as name from pg_attribute where attrelid = 't'::regclass and attnum > 0 and not attisdropped order by attnum`)).map((r) => r.name);
    if (kind === 'sqlite') {
      // the table's step is a rebuild, or an in-place edit of its text: either way the forgery claims a rebuild
      const [row] = await target.sql(`SELECT seq, origin FROM ${steps} WHERE action IN ('rebuild_table', 'edit_table')`);
      const origin = JSON.parse(String(row.origin)) as { kind: 'rebuild'; back: RebuildSpec } | { kind: 'edit'; back: EditSpec };
      const base: RebuildSpec =
        origin.kind === 'rebuild'
          ? origin.back
          : { table: origin.back.table, fromText: origin.back.fromText, toText: origin.back.toText, indexesBefore: origin.back.indexes,
              indexesAfter: origin.back.indexes, triggers: origin.back.triggers, views: [], copyColumns: ['id', 'n'], rowidName: null,
              autoincrement: false, children: [] };
      // the table put back without column n, and nothing left that would fail for lack of it
      const back: RebuildSpec = { ...base, toText: 'CREATE TABLE t (id integer PRIMARY KEY)', copyColumns: ['id'], indexesAfter: [] };
      await target.sql(`UPDATE ${steps} SET action = 'rebuild_table', origin = ${quoted({ kind: 'rebuild', back })}, inverse = ${quoted(rebuildStatements(back))} WHERE seq = ${row.seq}`);
      await expect(rollback(target.dialect, rollbackOptions)).rejects.toThrow(/^journal run 1 step \d+: its recorded rebuild does not keep the columns the table has/);
    } else {
      const [row] = await target.sql(`select seq, origin from ${steps} where action = 'add_check'`);
      const added = JSON.parse(String(row.origin)) as Extract<Change, { kind: 'add_check' }>;
      const forged: Change = { kind: 'replace_check', table: added.table, desired: added.desired, current: { name: 'ck_t_n', table: added.table, expr: 'true) , DROP COLUMN n , ADD CHECK (true', validated: false } };
      const [rendered] = renderPostgres([forged], { dialect: 'postgres', tables: [] });
      await target.sql(`UPDATE ${steps} SET action = 'replace_check', origin = ${quoted(forged)}, inverse = ${list(...rendered.inverse)} WHERE seq = ${row.seq}`);
      await expect(rollback(target.dialect, rollbackOptions)).rejects.toThrow(
        /^journal run 1 step \d+: its recorded change has expr that is not a single SQL expression \(unbalanced "\)"\)/,
      );
      // and a change whose other side names another table than the step's
      await target.sql(`DELETE FROM ${steps}`);
      await target.sql(`INSERT INTO ${steps} SELECT * FROM journal_copy`);
      const [ix] = await target.sql(`select seq, origin from ${steps} where action = 'create_index'`);
      const created = JSON.parse(String(ix.origin)) as Extract<Change, { kind: 'create_index' }>;
      const elsewhere: Change = { kind: 'replace_index', table: created.table, desired: created.desired, current: { ...created.desired, keys: [{ column: 'id' }], table: { schema: 'public', name: 'victim' } } };
      const [swap] = renderPostgres([elsewhere], { dialect: 'postgres', tables: [] });
      await target.sql(`UPDATE ${steps} SET action = 'replace_index', origin = ${quoted(elsewhere)}, inverse = ${list(...swap.inverse)} WHERE seq = ${ix.seq}`);
      await expect(rollback(target.dialect, rollbackOptions)).rejects.toThrow(/^journal run 1 step \d+: its recorded change names table public\.victim, not the step's public\.t/);
    }
    expect(await columnsOfT()).toEqual(['id', 'n']);
    expect(await victimCount()).toBe(1);
  });

  test.each([
    ['an unknown action', `action = 'drop_everything'`, /unknown action "drop_everything"/],
    ['a NULL (or, SQLite, a blob) for a name', `name = %NAME%`, /name is (NULL|object "A"), expected text/],
    ['a list holding a NULL', `sql = ${'%LIST%'}`, /sql is not a list of text/],
    ['an origin that is not JSON', `origin = 'not json {'`, /origin is not JSON/],
  ])('%s: history and rollback give one line naming run and step', async (_what, set, message) => {
    const nullList = kind === 'sqlite' ? `'[null]'` : 'array[null]::text[]';
    if (kind !== 'sqlite' && set.startsWith('name')) await target.sql(`ALTER TABLE ${steps} ALTER COLUMN name DROP NOT NULL`);
    const assignment = set.replace('%LIST%', nullList).replace('%NAME%', kind === 'sqlite' ? "x'41'" : 'NULL');
    await target.sql(`UPDATE ${steps} SET ${assignment} WHERE seq = 1`);
    await expect(target.dialect.history()).rejects.toThrow(new RegExp(`^journal run 1 step 1: ${message.source}`));
    await expect(rollback(target.dialect, rollbackOptions)).rejects.toThrow(/^journal run 1 step 1: /);
    expect(await victimCount()).toBe(1);
  });

  if (kind === 'sqlite') {
    test('SQLite: a part_of that is not a step position, or names a step it cannot be part of: one line, nothing run', async () => {
      await target.sql(`UPDATE ${steps} SET part_of = '{"runId":"1; DROP TABLE victim"}' WHERE seq = 1`);
      await expect(target.dialect.history()).rejects.toThrow(/^journal run 1 step 1: part_of is "\{\\"runId\\":\\"1; DROP TABLE victim\\"\}", expected the run and position of an applied step/);
      await target.sql(`UPDATE ${steps} SET part_of = NULL WHERE seq = 1`);
      await target.sql(`UPDATE ${steps} SET part_of = '{"runId":1,"seq":1}' WHERE seq = 2`);
      await expect(rollback(target.dialect, rollbackOptions)).rejects.toThrow(
        /^journal run 1 step 2: part_of names run 1 step 1, which is not an earlier applied step of main\.t with its objects/,
      );
      expect(await victimCount()).toBe(1);
    });

    test('SQLite: lists that are not JSON', async () => {
      await target.sql(`UPDATE ${steps} SET sql = 'DROP TABLE victim' WHERE seq = 1`);
      await expect(target.dialect.history()).rejects.toThrow(/^journal run 1 step 1: sql is not a list \("DROP TABLE victim"\)/);
    });
  }

  test('the confirmation shows every statement rollback will run; an untampered journal rolls back', async () => {
    const plan = await planRollback(target.dialect, { kind: 'last' });
    const question = rollbackQuestion(plan);
    for (const s of plan.steps.flatMap((p) => p.sql)) expect(question).toContain(s);
    expect(question).toMatch(/DROP (INDEX|CONSTRAINT|TABLE)/);
    expect(question.split('\n').at(-1)).toMatch(/^undo \d step\(s\) of apply run 1 on /);
    const result = await rollback(target.dialect, rollbackOptions);
    expect(result.runId).not.toBeNull();
    await target.sql(`CREATE TABLE journal_keep AS SELECT 1 AS x`);
  });
});

describeServer('the journal belongs to the current user or a superuser [postgres]', () => {
  const applier = `sd_applier_${randomBytes(4).toString('hex')}`;
  const other = `sd_other_${randomBytes(4).toString('hex')}`;
  let db: { url: string; name: string; drop: () => Promise<void> };
  let dialect: Dialect;
  let url: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    await runSql(ADMIN_URL, `CREATE ROLE ${applier} LOGIN; CREATE ROLE ${other} LOGIN`);
    await runSql(db.url, `GRANT CREATE ON DATABASE ${db.name} TO ${applier}; ALTER SCHEMA public OWNER TO ${applier}`);
    const u = new URL(db.url);
    u.username = applier;
    url = u.toString();
    await runSql(url, seed);
    dialect = await openDialect(url);
    await applyManifest(dialect, manifest, { ...testApplyOptions, backup: false });
  });
  afterAll(async () => {
    await dialect?.close();
    await db?.drop();
    await runSql(ADMIN_URL, `DROP ROLE IF EXISTS ${applier}; DROP ROLE IF EXISTS ${other}`);
  });

  test('schema_diff owned by another role: refused, with what to do', async () => {
    await runSql(db.url, `ALTER SCHEMA schema_diff OWNER TO ${other}`);
    try {
      await expect(rollback(dialect, rollbackOptions)).rejects.toThrow(
        new RegExp(`^the journal's schema schema_diff is owned by role ${other}, not by the current user or a superuser`),
      );
      const cli = await runCli(['rollback', '-d', url, '--yes']);
      expectOneLineError(cli, /owned by role/);
    } finally {
      await runSql(db.url, `ALTER SCHEMA schema_diff OWNER TO ${applier}`);
    }
  });

  test('another role granted UPDATE on the journal: refused', async () => {
    await runSql(db.url, `GRANT UPDATE ON schema_diff.steps TO ${other}`);
    try {
      await expect(rollback(dialect, rollbackOptions)).rejects.toThrow(new RegExp(`^role ${other} may UPDATE the journal table schema_diff.steps`));
    } finally {
      await runSql(db.url, `REVOKE UPDATE ON schema_diff.steps FROM ${other}`);
    }
  });

  test.each([
    ['UPDATE on two columns of the steps', (r: string) => `GRANT UPDATE (origin, inverse) ON schema_diff.steps TO ${r}`, /^role \S+ may UPDATE column (origin|inverse) of the journal table schema_diff\.steps; .*REVOKE UPDATE \((origin|inverse)\) ON schema_diff\.steps FROM /],
    ['INSERT on one column of the runs', (r: string) => `GRANT INSERT (manifest) ON schema_diff.runs TO ${r}`, /^role \S+ may INSERT column manifest of the journal table schema_diff\.runs/],
    ['TRIGGER on the steps (a trigger runs as whoever writes the row)', (r: string) => `GRANT TRIGGER ON schema_diff.steps TO ${r}`, /^role \S+ may TRIGGER the journal table schema_diff\.steps/],
    ['membership in the owner role', (r: string) => `GRANT ${applier} TO ${r}`, new RegExp(`^role \\S+ is a member of role ${applier}, which owns the journal's schema schema_diff`)],
  ])('another role with %s: refused', async (_what, grant, message) => {
    await runSql(db.url, grant(other));
    try {
      await expect(rollback(dialect, rollbackOptions)).rejects.toThrow(message);
      expectOneLineError(await runCli(['rollback', '-d', url, '--yes']), /^error: role /);
    } finally {
      await runSql(db.url, grant(other).replace(/^GRANT/, 'REVOKE').replace(/ TO /, ' FROM '));
    }
    const victim = await runSql(url, 'select count(*)::int as n from victim');
    expect(victim.rows[0].n).toBe(1);
  });

  test('CLI: a tampered journal row is one error line in history and rollback', async () => {
    await runSql(db.url, `UPDATE schema_diff.steps SET action = 'nope' WHERE run_id = 1 AND seq = 2`);
    expectOneLineError(await runCli(['history', '-d', url]), /^error: journal run 1 step 2: unknown action "nope"/);
    expectOneLineError(await runCli(['rollback', '-d', url, '--yes']), /^error: journal run 1 step 2: unknown action "nope"/);
    const victim = await runSql(url, 'select count(*)::int as n from victim');
    expect(victim.rows[0].n).toBe(1);
  });
});
