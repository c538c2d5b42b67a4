import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHOP_MANIFEST, SHOP_SQL } from '../adoption/helpers.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';

/**
 * Done when (issue 14): the packed tarball installs into a fresh project from
 * the npm cache `npm ci` filled, and works there as a user would run it: the
 * CLI through npx (pull among its commands), the library from ESM and CommonJS. The optional drivers
 * (better-sqlite3, PGlite) are not installed, as for a PostgreSQL-only user.
 */
describeServer('the packed package installed into a fresh project (real server)', () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  let dir = '';
  let installed = false;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const run = (command: string, args: string[]) =>
    spawnSync(command, args, { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, DATABASE_URL: undefined, NO_COLOR: '1' } });
  const npx = (...args: string[]) => run('npx', ['--no-install', 'schema-diff', ...args]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sd-install-'));
    // --ignore-scripts: `prepare` would rebuild dist/ under the other test files' feet (npm test built it)
    const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const tarball = join(dir, (JSON.parse(packed) as { filename: string }[])[0].filename);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'adopter', private: true, version: '1.0.0' }));
    const install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball]);
    installed = install.status === 0;
    if (!installed) console.warn(`SKIPPED install test: npm install from the cache failed (registry or cache unavailable?): ${install.stderr.split('\n').slice(-3).join(' ')}`);
    db = await createTestDatabase('sd_install');
    await runSql(db.url, SHOP_SQL);
    writeFileSync(join(dir, 'shop.json'), JSON.stringify(SHOP_MANIFEST));
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('neither optional driver is installed; npx schema-diff --version prints its own version', () => {
    if (!installed) return;
    expect(existsSync(join(dir, 'node_modules/better-sqlite3'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules/@electric-sql/pglite'))).toBe(false);
    const result = npx('--version');
    expect({ status: result.status, stdout: result.stdout.trim() }).toEqual({ status: 0, stdout: version });
  });

  test('plan, apply, verify and pull on PostgreSQL; a SQLite or PGlite URL names the package to install', () => {
    if (!installed) return;
    const target = ['-m', 'shop.json', '-d', db.url];
    const plan = npx('plan', ...target);
    expect(plan.status).toBe(0);
    expect(plan.stdout).toContain('CREATE INDEX CONCURRENTLY ix_orders_status');
    const apply = npx('apply', '--yes', '--quiet', ...target);
    expect({ status: apply.status, stderr: apply.stderr }).toEqual({ status: 0, stderr: '' });
    expect(npx('verify', ...target).status).toBe(0);
    // start from the database you have: pull writes a .ts manifest importing the installed package; plan with it changes nothing
    const pull = npx('pull', '--out', 'db/constraints.ts', '-d', db.url);
    expect({ status: pull.status, stderr: pull.stderr }).toEqual({ status: 0, stderr: 'manifest of 2 table(s) written to db/constraints.ts\n' });
    const replan = npx('plan', '--exit-code', '-m', 'db/constraints.ts', '-d', db.url);
    // (stderr keeps plan's FK_WITHOUT_INDEX warning: the shop's foreign key has no index, and pull says what is there)
    expect({ status: replan.status, steps: /^-- steps: +(\d+)$/m.exec(replan.stdout)?.[1] }).toEqual({ status: 0, steps: '0' });
    writeFileSync(join(dir, 'app.db'), '');
    const sqlite = npx('plan', '-m', 'shop.json', '-d', 'sqlite:///app.db');
    expect({ status: sqlite.status, stderr: sqlite.stderr }).toEqual({
      status: 1,
      stderr: 'error: SQLite URLs need the optional package better-sqlite3: npm install better-sqlite3\n',
    });
    expect(npx('plan', '-m', 'shop.json', '-d', 'pglite:memory').stderr).toBe(
      'error: PGlite URLs need the optional package @electric-sql/pglite: npm install @electric-sql/pglite\n',
    );
  });

  test('the library imports from ESM and from CommonJS', () => {
    if (!installed) return;
    writeFileSync(join(dir, 'esm.mjs'), "import { plan, apply, renderScript, defineConfig, VERSION } from 'schema-diff';\nconsole.log(typeof plan, typeof apply, typeof renderScript, typeof defineConfig, VERSION);\n");
    expect(run(process.execPath, ['esm.mjs']).stdout.trim()).toBe(`function function function function ${version}`);
    // require() of an ES module: on by default from Node 20.19 and 22.12; before, `await import()` (docs/library.md)
    const [major, minor] = process.versions.node.split('.').map(Number);
    const requireEsm = major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);
    const cjs = requireEsm
      ? "const { plan, VERSION } = require('schema-diff');\nconsole.log(typeof plan, VERSION);\n"
      : "import('schema-diff').then(({ plan, VERSION }) => console.log(typeof plan, VERSION));\n";
    writeFileSync(join(dir, 'cjs.cjs'), cjs);
    const result = run(process.execPath, ['cjs.cjs']);
    expect({ stdout: result.stdout.trim(), stderr: result.stderr.replace(/^\(node:\d+\) ExperimentalWarning.*\n.*\n?/m, '') }).toEqual({ stdout: `function ${version}`, stderr: '' });
    expect(readdirSync(join(dir, 'node_modules/schema-diff/dist/src')).includes('index.d.ts')).toBe(true);
  });
});
