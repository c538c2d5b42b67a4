import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { BIN, expectOneLineError, runCli } from '../cli/run-cli.js';
import { SHOP_SQL, shopProject } from './helpers.js';

/** Review before you confirm: the plan is shown, saved, rendered, gated, and its blockers told, before anything changes. */
describeServer('review before you confirm (real server)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let project: ReturnType<typeof shopProject>;
  const constraints = async () =>
    Number((await runSql(db.url, `select count(*) as n from pg_constraint where conrelid = 'orders'::regclass and contype in ('c', 'f')`)).rows[0].n);

  beforeAll(async () => {
    db = await createTestDatabase('sd_review');
    await runSql(db.url, SHOP_SQL);
    project = shopProject();
  });
  afterAll(async () => {
    project?.dispose();
    await db?.drop();
  });
  const cli = (args: string[], env: Record<string, string | undefined> = {}) =>
    runCli([...args, '-m', project.manifest], { DATABASE_URL: db.url, ...env }, project.dir);

  test('plan --format text shows each object\'s description and hazards', async () => {
    const result = await cli(['plan', '--format', 'text']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('     An order costs something');
    expect(result.stdout).toContain('     Orders belong to a user');
    expect(result.stdout).toMatch(/hazards: .*INDEX_BUILD/);
  });

  test('plan --fail-on exits 2 on a listed hazard, 0 otherwise; an unknown name lists the known ones', async () => {
    const hit = await cli(['plan', '--fail-on', 'CHANGES_DELETE_BEHAVIOUR,INDEX_BUILD']);
    expect(hit.code).toBe(2);
    expect(hit.stderr).toMatch(/--fail-on: \d step\(s\) carry a listed hazard: .*ix_orders_status \(INDEX_BUILD\)/);
    expect((await cli(['plan', '--fail-on', 'TABLE_REBUILD'])).code).toBe(0);
    expectOneLineError(await cli(['plan', '--fail-on', 'DROPS_EVERYTHING']), /^error: --fail-on: unknown hazard DROPS_EVERYTHING \(known: ACQUIRES_ACCESS_EXCLUSIVE_LOCK, .*CHANGES_DELETE_BEHAVIOUR, DROPS_CONSTRAINT, DROPS_INDEX, FK_WITHOUT_INDEX\)/);
  });

  test('apply --dry-run prints the plan, exits 0 and changes nothing', async () => {
    const result = await cli(['apply', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^4 step\(s\) for postgres:\/\/.* from .*shop\.json/);
    expect(await constraints()).toBe(0);
  });

  test('apply without --yes refuses when stdin is not a terminal, even if stderr is one', async () => {
    // stderr on a terminal and stdin a pipe: the answer could never be read, so apply must refuse
    const result = spawnSync('script', ['-qfec', `${process.execPath} ${BIN} apply -m ${project.manifest} < /dev/null`, '/dev/null'], {
      env: { ...process.env, DATABASE_URL: db.url, NO_COLOR: '1' },
      encoding: 'utf8',
    });
    if (result.error) return console.warn(`SKIPPED: no script(1) for a terminal (${result.error.message})`);
    expect(result.stdout).toMatch(/error: refusing to change the database without confirmation: stdin is not a terminal; pass --yes/);
    expect(await constraints()).toBe(0);
  });

  test('apply on a terminal shows the plan before its [y/N]; answering no changes nothing', async () => {
    const result = spawnSync('script', ['-qfec', `${process.execPath} ${BIN} apply -m ${project.manifest}`, '/dev/null'], {
      env: { ...process.env, DATABASE_URL: db.url, NO_COLOR: '1' },
      input: 'n\n',
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (result.error) return console.warn(`SKIPPED: no script(1) for a terminal (${result.error.message})`);
    const shown = result.stdout.indexOf('4 step(s) for postgres://');
    const asked = result.stdout.indexOf('[y/N]');
    expect(shown).toBeGreaterThanOrEqual(0);
    expect(asked).toBeGreaterThan(shown);
    expect(result.stdout).toContain('apply not confirmed; nothing was changed');
    expect(await constraints()).toBe(0);
  });

  test('plan -o, then show renders the saved plan as sql, text and JSON without a database', async () => {
    const saved = join(project.dir, 'plan.json');
    expect((await cli(['plan', '-o', saved])).code).toBe(0);
    const sql = await runCli(['show', saved], {}, project.dir);
    expect(sql.code).toBe(0);
    expect(sql.stdout).toContain('CREATE INDEX CONCURRENTLY ix_orders_status');
    const text = await runCli(['show', saved, '--format', 'text'], {}, project.dir);
    expect(text.stdout).toContain('     Listings by status');
    const json = JSON.parse((await runCli(['show', saved, '--json'], {}, project.dir)).stdout) as Record<string, unknown>;
    expect(Object.keys(json).slice(0, 4)).toEqual(['version', 'command', 'target', 'dialect']);
    expect(json.command).toBe('show');
    writeFileSync(join(project.dir, 'bad.json'), JSON.stringify({ ...JSON.parse(readFileSync(saved, 'utf8')), dialect: 'oracle' }));
    expectOneLineError(await runCli(['show', 'bad.json'], {}, project.dir), /unknown dialect "oracle"/);
  });

  test('apply --plan takes the manifest from the plan when -m is not given; a plan naming a file outside is refused', async () => {
    const saved = join(project.dir, 'rel-plan.json');
    // a plan made with a relative manifest path, from the project directory
    expect((await runCli(['plan', '-m', 'shop.json', '-o', saved], { DATABASE_URL: db.url }, project.dir)).code).toBe(0);
    const outside = { ...JSON.parse(readFileSync(saved, 'utf8')), manifest: '../elsewhere/evil.ts' };
    writeFileSync(join(project.dir, 'evil-plan.json'), JSON.stringify(outside));
    expectOneLineError(
      await runCli(['apply', '--yes', '--plan', 'evil-plan.json'], { DATABASE_URL: db.url }, project.dir),
      /names its manifest as "\.\.\/elsewhere\/evil\.ts": only a path inside the working directory/,
    );
    const applied = await runCli(['apply', '--yes', '--plan', saved, '--json'], { DATABASE_URL: db.url }, project.dir);
    expect(applied.stderr).toContain(`manifest: shop.json (from ${saved})`);
    expect(applied.code).toBe(0);
    const result = JSON.parse(applied.stdout) as Record<string, unknown>;
    expect(Object.keys(result).slice(0, 3)).toEqual(['version', 'command', 'target']);
    expect(result).toMatchObject({ version: 1, command: 'apply', steps: 4 });
    expect(await constraints()).toBe(2);
  });

  test('every command\'s JSON starts with version, command, target', async () => {
    for (const command of ['plan', 'verify', 'validate', 'history', 'rollback']) {
      const args = command === 'rollback' ? ['rollback', '--dry-run', '--json'] : [command, '--json'];
      const result = await cli(args);
      const json = JSON.parse(result.stdout) as Record<string, unknown>;
      expect([command, Object.keys(json).slice(0, 3)]).toEqual([command, ['version', 'command', 'target']]);
      expect(json.command).toBe(command);
    }
  });

  test('plan tells when existing rows would block apply (stderr, text, JSON); apply refuses the same', async () => {
    await runSql(db.url, `alter table orders drop constraint ck_total_positive; insert into orders values (3, 1, 0, 'free')`);
    const json = await cli(['plan', '--json']);
    expect(json.stderr).toMatch(/^note: existing rows would block apply of 1 constraint\(s\): ck_total_positive$/m);
    expect(JSON.parse(json.stdout).blockers).toEqual([{ name: 'ck_total_positive', table: 'public.orders', kind: 'check', violations: 1 }]);
    const text = await cli(['plan', '--format', 'text']);
    expect(text.stdout).toMatch(/existing rows would block apply: 1 constraint\(s\)[^\n]*\n {2}ck_total_positive on public\.orders: 1 row/);
    // no word on rows (its manifest's foreign key has no index: that warning is there, rightly)
    expect((await cli(['plan', '--no-check-rows'])).stderr).not.toContain('existing rows');
    expectOneLineError(await cli(['apply', '--yes', '--quiet']), /existing rows violate 1 constraint\(s\): ck_total_positive on public\.orders \(1 row\)/);
  });

  test('verify piped into a reader that stops early exits quietly: no EPIPE stack trace', async () => {
    const err = join(project.dir, 'err.txt');
    const result = spawnSync('bash', ['-c', `set -o pipefail; ${process.execPath} ${BIN} verify -m ${project.manifest} 2>${err} | true; echo "status $?"`], {
      env: { ...process.env, DATABASE_URL: db.url },
      encoding: 'utf8',
    });
    expect(existsSync(err) ? readFileSync(err, 'utf8') : '').not.toMatch(/EPIPE|at .*:\d+:\d+/);
    expect(result.stdout).toMatch(/^status (0|2)$/m);
  });
});
