import { PGlite } from '@electric-sql/pglite';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import type { ValidationReport } from '../../src/run/validate.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';

/** `schema-diff validate` as a user runs it: the built CLI (npm run build), its stdout, stderr and exit status. */
const CLI = join(process.cwd(), 'bin/schema-diff');
const BUILT = join(process.cwd(), 'dist/src/cli/main.js');
const fixture = readFileSync(join(process.cwd(), 'test/fixtures/validate-mestore.sql'), 'utf8');
const seed = baselineSchema('postgres') + demoRows() + fixture;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function validate(url: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const manifest = args.includes('--manifest') ? [] : ['--manifest', 'manifest/mestore.ts'];
    const child = spawn(process.execPath, [CLI, 'validate', ...manifest, '-d', url, ...args], {
      cwd: process.cwd(),
      env: { ...process.env, DATABASE_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const counts = (report: ValidationReport) => report.constraints.map((c) => [c.name, c.violations, c.groups ?? null, c.error ?? null]);

test('the CLI is built (npm run build) before these tests run', () => {
  expect(existsSync(BUILT)).toBe(true);
});

describeServer('schema-diff validate, exit codes and output formats [postgres]', () => {
  let dirty: { url: string; drop: () => Promise<void> };
  let clean: { url: string; drop: () => Promise<void> };
  const scratch = mkdtempSync(join(tmpdir(), 'sd-validate-cli-'));
  beforeAll(async () => {
    [dirty, clean] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    await runSql(dirty.url, seed);
    await runSql(clean.url, baselineSchema('postgres') + demoRows());
  });
  afterAll(async () => {
    await Promise.all([dirty?.drop(), clean?.drop()]);
    rmSync(scratch, { recursive: true, force: true });
  });

  test('text: the table, the summary, the score; exit 2 when a critical constraint is violated', async () => {
    const run = await validate(dirty.url);
    expect(run.code).toBe(2);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^constraint\s+table\s+kind\s+severity\s+violations\s+sample ids$/);
    expect(lines).toContainEqual(expect.stringMatching(/^ck_order_total_positive\s+public\.orders\s+check\s+critical\s+5\s+4, 6, 8, 9, 11$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^ix_order_transactions_gateway_id_unique\s+public\.order_transactions\s+unique\s+critical\s+3 \(2 keys\)\s+1, 4, 5, 6, 7$/),
    );
    expect(lines.slice(-3)).toEqual([
      '39 constraint(s) on 7 table(s): 31 violated, 31 critical, 0 warning; 66 violating row(s)',
      'data-quality score: 80.47 / 100 (272 of 338 row × constraint checks pass)',
      expect.stringMatching(/^NOT READY: 31 critical/),
    ]);
    expect(run.stderr).toBe('');
  });

  test('--format json on stdout and --out to a file: the same report', async () => {
    const out = join(scratch, 'report.json');
    const run = await validate(dirty.url, '--format', 'json', '--out', out, '--samples', '2');
    expect(run.code).toBe(2);
    const printed = JSON.parse(run.stdout) as ValidationReport;
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(printed);
    expect(run.stderr).toContain(`report written to ${out}`);
    expect(Object.keys(printed).slice(0, 3)).toEqual(['version', 'command', 'target']);
    expect(printed).toMatchObject({ version: 1, command: 'validate', dialect: 'postgres', score: 80.47, ready: false, totals: { constraints: 39, violations: 66 } });
    expect(printed.target).toBe(dirty.url);
    expect(printed.constraints.find((c) => c.name === 'ck_order_total_positive')).toEqual({
      name: 'ck_order_total_positive',
      table: 'public.orders',
      kind: 'check',
      severity: 'critical',
      violations: 5,
      rows: 11,
      sample: [
        { id: 4, total_amount: '-1.00' },
        { id: 6, total_amount: '0.00' },
      ],
      description: 'Ensures positive totals',
    });
    // the manifest's description is in the text report too, for each violated constraint
    const text = await validate(dirty.url, '--table', 'orders');
    expect(text.stdout).toContain('  ck_order_total_positive: Ensures positive totals');
  });

  test('--fix-sql: commented templates on stdout, the summary on stderr, nothing changed', async () => {
    const run = await validate(dirty.url, '--fix-sql', '--table', 'orders');
    expect(run.code).toBe(2);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.every((l) => l === '' || l.startsWith('--'))).toBe(true);
    expect(run.stdout).toContain('--   DELETE FROM public.orders WHERE (total_amount > 0) IS FALSE;');
    expect(run.stdout).toContain('-- fk_orders_buyer_id on public.orders (critical): 3 row(s) whose buyer_id matches no row of public.users');
    expect(run.stderr).toContain('data-quality score:');
    expect(await runSql(dirty.url, 'select count(*)::int as n from orders').then((r) => r.rows)).toEqual([{ n: 11 }]);
  });

  test('exit 0: nothing critical violated (--only a clean constraint, clean data, warning-only manifest)', async () => {
    const only = await validate(dirty.url, '--only', 'ck_order_shipping_non_negative');
    expect(only.code).toBe(0);
    expect(only.stdout).toContain('ready: no critical constraint is violated');
    expect((await validate(clean.url)).code).toBe(0);
    const warnings = join(scratch, 'warnings.json');
    writeFileSync(
      warnings,
      JSON.stringify({ version: 1, tables: { orders: { checks: [{ name: 'ck_total', expr: 'total_amount > 0', severity: 'warning' }] } } }),
    );
    const run = await validate(dirty.url, '--manifest', warnings, '--format', 'json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ready: true, totals: { violated: 1, critical: 0, warning: 1 } });
  });

  test('exit 1 on errors: unknown constraint, bad flags, unreachable database', async () => {
    const typo = await validate(dirty.url, '--only', 'ck_order_total_positiv');
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('error: --only ck_order_total_positiv: no such constraint or index in the manifest (did you mean ck_order_total_positive?)');
    expect((await validate(dirty.url, '--samples', '-1')).code).toBe(1);
    expect((await validate(dirty.url, '--fix-sql', '--format', 'json')).code).toBe(1);
    const down = await validate('postgres://postgres@127.0.0.1:1/nowhere');
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error: cannot connect/);
  });

  test('PGlite data directory: the same counts as the server, the same exit code', async () => {
    const dir = join(scratch, 'pglite');
    const db = new PGlite(dir);
    await db.exec(seed);
    await db.close();
    const [server, embedded] = await Promise.all([
      validate(dirty.url, '--format', 'json'),
      validate(`pglite:${dir}`, '--format', 'json', '--jobs', '4'),
    ]);
    expect(embedded.code).toBe(2);
    expect(counts(JSON.parse(embedded.stdout))).toEqual(counts(JSON.parse(server.stdout)));
    expect(JSON.parse(embedded.stdout).target).toBe(`pglite:${dir}`);
  });
});
