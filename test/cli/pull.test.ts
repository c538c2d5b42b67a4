import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { packageTempDir } from '../helpers/manifest-files.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { postgresSnapshot, sqliteSnapshot } from '../security/snapshot.js';
import { seededFile } from '../sqlite/helpers.js';
import { expectNoPassword, expectOneLineError, runCli, withPassword, type CliResult } from './run-cli.js';

/**
 * `schema-diff pull` (alias `init`) through the real executable: the manifest
 * of the database as it is, on stdout or in a file it never overwrites
 * unasked; the database is left exactly as it was; plan with the file right
 * after has zero steps.
 */

async function pullThenPlan(url: string, dir: string, snapshot: () => Promise<string> | string): Promise<CliResult[]> {
  const before = await snapshot();
  const file = join(dir, 'constraints.ts');
  const pulled = await runCli(['pull', '--out', file, '--database-url', url]);
  expect({ code: pulled.code, stdout: pulled.stdout, stderr: pulled.stderr }).toEqual({
    code: 0,
    stdout: '',
    stderr: `manifest of 7 table(s) written to ${file}\n`,
  });
  expect(readFileSync(file, 'utf8')).toMatch(/^\/\/ Written by `schema-diff pull`.*\nimport \{ defineManifest \} from 'schema-diff';\n\nexport default defineManifest\(\{\n/);
  const asJson = await runCli(['init', '--format', 'json', '--database-url', url]);
  expect({ code: asJson.code, stderr: asJson.stderr }).toEqual({ code: 0, stderr: '' });
  writeFileSync(join(dir, 'constraints.json'), asJson.stdout);
  expect(await snapshot()).toBe(before);
  const plans = await Promise.all(
    ['constraints.ts', 'constraints.json'].map((m) => runCli(['plan', '--exit-code', '--format', 'json', '-m', join(dir, m), '--database-url', url])),
  );
  for (const plan of plans) expect({ code: plan.code, steps: (JSON.parse(plan.stdout) as { steps: unknown[] }).steps }).toEqual({ code: 0, steps: [] });
  return [pulled, asJson, ...plans];
}

async function refusals(url: string, dir: string): Promise<CliResult[]> {
  const file = join(dir, 'constraints.ts');
  const text = readFileSync(file, 'utf8');
  const again = await runCli(['pull', '--out', file, '--database-url', url]);
  expectOneLineError(again, /^error: --out .*constraints\.ts exists; nothing was written \(--force overwrites it\)$/);
  expect(readFileSync(file, 'utf8')).toBe(text);
  writeFileSync(file, '// mine\n');
  const forced = await runCli(['pull', '--out', file, '--force', '--database-url', url]);
  expect(forced.code).toBe(0);
  expect(readFileSync(file, 'utf8')).toBe(text);
  const unknown = await runCli(['pull', '--tables', 'orders,ordrs', '--database-url', url]);
  expectOneLineError(unknown, /^error: --tables: no table "ordrs"/);
  const mismatch = await runCli(['pull', '--format', 'json', '--out', join(dir, 'x.ts'), '--database-url', url]);
  expectOneLineError(mismatch, /^error: --format json does not fit --out .*x\.ts/);
  const typedJson = await runCli(['pull', '--format', 'json', '--db-type', './db.js', '--database-url', url]);
  expectOneLineError(typedJson, /^error: --db-type: only a \.ts manifest imports a DB type/);
  const two = await runCli(['pull', '--tables', 'orders', '--tables', 'users', '--db-type', './db.js', '--database-url', url]);
  expect(two.code).toBe(0);
  expect(two.stdout).toContain("import type { DB } from \"./db.js\";\n\nexport default defineManifest<DB>({");
  expect(two.stdout.match(/^ {4}[a-z_]+: \{$/gm)).toEqual(['    orders: {', '    users: {']);
  return [again, forced, unknown, mismatch, typedJson, two];
}

describeServer('schema-diff pull on MeStore (real server)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let url: string;
  let out: ReturnType<typeof packageTempDir>;
  const results: CliResult[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('sd_cli_pull');
    await runSql(db.url, baselineSchema('postgres') + demoRows());
    url = withPassword(db.url);
    out = packageTempDir('cli-pull-');
    expect((await runCli(['apply', '--yes', '--quiet', '--database-url', url])).code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    out?.dispose();
    await db?.drop();
    for (const r of results) expectNoPassword(r);
  });

  test('pull writes the manifest and changes nothing in the database; plan with it (.ts or .json) has zero steps', async () => {
    results.push(...(await pullThenPlan(url, out.dir, () => postgresSnapshot(db.url))));
  });

  test('an existing --out is refused unless --force; bad --tables, --format and --db-type are one-line errors', async () => {
    results.push(...(await refusals(url, out.dir)));
  });
});

describe('schema-diff pull on MeStore (SQLite)', () => {
  let file: ReturnType<typeof seededFile>;
  let url: string;
  let out: ReturnType<typeof packageTempDir>;
  beforeAll(async () => {
    file = seededFile(baselineSchema('sqlite') + demoRows());
    url = `sqlite:///${file.path}`;
    out = packageTempDir('cli-pull-');
    expect((await runCli(['apply', '--yes', '--quiet', '--no-backup', '--database-url', url])).code).toBe(0);
  }, 120_000);
  afterAll(() => {
    out?.dispose();
    file?.dispose();
  });

  test('pull writes the manifest and leaves the file byte for byte; plan with it has zero steps', async () => {
    await pullThenPlan(url, out.dir, () => sqliteSnapshot(file.path));
  });

  test('--schema other than main is an error on SQLite, which has no schemas', async () => {
    expectOneLineError(await runCli(['pull', '--schema', 'sales', '--database-url', url]), /^error: --schema: sqlite has no schema "sales" \(every table is in main\)$/);
  });
});
