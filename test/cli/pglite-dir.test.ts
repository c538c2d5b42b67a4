import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectOneLineError, runCli } from './run-cli.js';

/** PGlite creates any directory it is given: a mistyped pglite: path must not become a new, empty database. */
describe('pglite:<dir> that does not exist', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'sd-pglite-dir-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  test('is refused in one line, and not created', async () => {
    const missing = join(scratch, 'mistyped');
    const result = await runCli(['plan', '-m', 'test/fixtures/manifests/plain.json', '-d', `pglite:${missing}`]);
    expectOneLineError(result, new RegExp(`^error: PGlite data directory ${missing} does not exist \\(to create it, use pglite:${missing}\\?create=true\\)$`));
    expect(existsSync(missing)).toBe(false);
  });

  test('a file where the directory should be is refused', async () => {
    const file = join(scratch, 'file');
    writeFileSync(file, '');
    const result = await runCli(['plan', '-m', 'test/fixtures/manifests/plain.json', '-d', `pglite:${file}`]);
    expectOneLineError(result, /is not a directory$/);
  });

  test('?create=true creates it', async () => {
    const fresh = join(scratch, 'fresh');
    const result = await runCli(['history', '-d', `pglite:${fresh}?create=true`]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(`pglite:${fresh}: no applies recorded\n`);
    expect(existsSync(join(fresh, 'PG_VERSION'))).toBe(true);
  }, 60_000);

  // the manifest's structure is checked before anything is opened: a bad one creates no data directory
  test('with a bad manifest, ?create=true creates nothing', async () => {
    const fresh = join(scratch, 'not-yet');
    const result = await runCli(['plan', '-m', 'test/fixtures/manifests/invalid.json', '-d', `pglite:${fresh}?create=true`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: invalid manifest /);
    expect(existsSync(fresh)).toBe(false);
  });
});
