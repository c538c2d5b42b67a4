import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { importWithDriver } from '../../src/dialect/optional.js';
import { SchemaDiffError } from '../../src/errors.js';
import { colourEnabled } from '../../src/cli/colour.js';
import { optionDefaults } from '../../src/cli/config.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { expectOneLineError, runCli } from '../cli/run-cli.js';
import { SHOP_SQL, shopProject } from './helpers.js';

describeServer('schema-diff.config.* (real server)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('sd_config');
    await runSql(db.url, SHOP_SQL);
  });
  afterAll(async () => db?.drop());

  test('found upward from a subdirectory; its manifest is relative to the file; flags and env override it', async () => {
    const project = shopProject({ 'src/deep/.keep': '' });
    try {
      writeFileSync(join(project.dir, 'schema-diff.config.json'), JSON.stringify({ manifest: 'shop.json', databaseUrl: db.url, lockTimeout: '40ms' }));
      const deep = join(project.dir, 'src/deep');
      const plan = await runCli(['plan'], {}, deep);
      expect(plan.code).toBe(0);
      expect(plan.stdout).toContain('-- manifest:    ../../shop.json');
      expect(plan.stdout).toContain("SET LOCAL lock_timeout = '40ms'");
      // a flag beats the file
      expect((await runCli(['plan', '--lock-timeout', '30ms'], {}, deep)).stdout).toContain("SET LOCAL lock_timeout = '30ms'");
      // the environment beats the file
      expectOneLineError(await runCli(['plan'], { SCHEMA_DIFF_MANIFEST: 'nowhere.json' }, deep), /manifest file not found: nowhere\.json/);
      expectOneLineError(await runCli(['plan'], { DATABASE_URL: 'postgres://u:pw@127.0.0.1:1/none' }, deep), /cannot connect to postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/none/);
    } finally {
      project.dispose();
    }
  });

  test('a .ts config with defineConfig runs through tsx; --config names one; an unknown setting is refused', async () => {
    const project = shopProject({
      'schema-diff.config.ts': `const defineConfig = <T,>(c: T): T => c;\nexport default defineConfig({ manifest: 'shop.json', databaseUrl: ${JSON.stringify(db.url)} });\n`,
      'other/custom.mjs': `export default { manifest: '../shop.json', databaseUrl: ${JSON.stringify(db.url)}, lockTimeout: 55 };\n`,
      'bad/schema-diff.config.json': JSON.stringify({ manifets: 'x.json' }),
    });
    try {
      expect((await runCli(['verify'], {}, project.dir)).code).toBe(2);
      const custom = await runCli(['plan', '--config', 'other/custom.mjs'], {}, project.dir);
      expect(custom.stdout).toContain("SET LOCAL lock_timeout = '55ms'");
      mkdirSync(join(project.dir, 'bad'), { recursive: true });
      expectOneLineError(await runCli(['plan'], {}, join(project.dir, 'bad')), /config schema-diff\.config\.json: unknown setting "manifets" \(known: manifest, databaseUrl,/);
      expectOneLineError(await runCli(['plan', '--config', 'missing.ts'], {}, project.dir), /--config: no such file missing\.ts/);
    } finally {
      project.dispose();
    }
  });
});

describe('the command line around the commands', () => {
  test('an unknown command is named, with the likely one and the list', async () => {
    expectOneLineError(await runCli(['plna']), /^error: unknown command "plna" \(did you mean plan\?\); commands: plan, apply, verify, validate, rollback, history, forget, show, pull, codegen, docs, demo, completion/);
  });

  test('an unknown flag is named once, not again in camelCase', async () => {
    expectOneLineError(await runCli(['plan', '--lock-timeot', '3']), /^error: Unknown argument: lock-timeot \(see --help\)$/);
  });

  test('completion prints a shell script; --json and --color are accepted options', async () => {
    const result = await runCli(['completion']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--get-yargs-completions');
    expect((await runCli(['plan', '--help'])).stdout).toMatch(/--json\s+same as --format json/);
  });

  test('colour: flag, then NO_COLOR, then FORCE_COLOR, then the terminal', () => {
    expect(colourEnabled({ isTTY: true }, {})).toBe(true);
    expect(colourEnabled({ isTTY: false }, {})).toBe(false);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(colourEnabled({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });

  test('--color forces colour into a pipe, --no-color removes it from FORCE_COLOR', async () => {
    const project = shopProject();
    try {
      const plan = { version: 1, dialect: 'postgres', target: 't', manifest: 'm', fingerprint: 'f', createdAt: '', steps: [], unmanaged: [{ kind: 'index', name: 'ix', table: { schema: 'public', name: 't' }, definition: 'x' }] };
      writeFileSync(join(project.dir, 'p.json'), JSON.stringify({ ...plan, steps: [{ id: 1, action: 'create_index', table: 'public.t', name: 'ix', objects: ['ix'], reason: 'r', sql: ['CREATE INDEX ix ON t (a)'], inverse: ['DROP INDEX ix'], transactional: false, lockTimeout: false, lock: 'l', hazards: [] }] }));
      const coloured = await runCli(['show', 'p.json', '-f', 'text', '--color'], { NO_COLOR: undefined }, project.dir);
      expect(coloured.stdout).toContain('\x1b[');
      const plain = await runCli(['show', 'p.json', '-f', 'text', '--no-color'], { NO_COLOR: undefined, FORCE_COLOR: '1' }, project.dir);
      expect(plain.stdout).not.toContain('\x1b[');
    } finally {
      project.dispose();
    }
  });

  test('precedence of the defaults: environment over the config file over the built-in', () => {
    const config = { path: '/p/schema-diff.config.ts', settings: { manifest: 'm.ts', databaseUrl: 'postgres://file', lockTimeout: '1s' } };
    expect(optionDefaults(null, {})).toMatchObject({ manifest: 'manifest/index.ts', 'lock-timeout': '25ms', 'database-url': undefined });
    expect(optionDefaults(config, {})).toMatchObject({ manifest: relative(process.cwd(), '/p/m.ts'), 'lock-timeout': '1s', 'database-url': 'postgres://file' });
    expect(optionDefaults(config, { DATABASE_URL: 'postgres://env', SCHEMA_DIFF_MANIFEST: 'env.ts' })).toMatchObject({ manifest: 'env.ts', 'database-url': 'postgres://env' });
  });

  test('a missing optional driver is named, with the command that installs it', async () => {
    const missing = Object.assign(new Error("Cannot find package 'better-sqlite3' imported from /x/sqlite-dialect.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    const error = await importWithDriver('better-sqlite3', () => Promise.reject(missing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaDiffError);
    expect((error as Error).message).toBe('SQLite URLs need the optional package better-sqlite3: npm install better-sqlite3');
    const other = new Error('boom');
    expect(await importWithDriver('@electric-sql/pglite', () => Promise.reject(other)).catch((e: unknown) => e)).toBe(other);
  });
});
