import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadManifest } from '../../src/manifest/load.js';
import { SchemaDiffError } from '../../src/errors.js';
import type { LoadedManifest } from '../../src/manifest/types.js';

const fixture = (name: string) => join('test', 'fixtures', 'manifests', name);

type Outcome = { manifest: LoadedManifest } | { error: { code: string; message: string; details: string[] } };

/**
 * .ts manifests load through tsx's loader hooks, which jest's own module
 * system bypasses; so they are loaded by the built code (dist/, which
 * `npm test` builds first) in a plain node process, as the CLI does.
 */
function loadInNode(files: readonly string[]): Record<string, Outcome> {
  const script = `
    const { loadManifest } = await import('./dist/src/manifest/load.js');
    const out = {};
    for (const f of ${JSON.stringify(files)}) {
      try { out[f] = { manifest: await loadManifest(f) }; }
      catch (e) { out[f] = { error: { code: e.code, message: e.message, details: e.details } }; }
    }
    process.stdout.write(JSON.stringify(out));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

const tsFixtures = ['typed.ts', 'named-export.ts', 'exports-nothing.ts', 'throws.ts'].map(fixture).concat('manifest/index.ts');
let loadedTs: Record<string, Outcome>;
beforeAll(() => {
  loadedTs = loadInNode(tsFixtures);
});

function tsManifest(file: string): LoadedManifest {
  const outcome = loadedTs[file];
  if ('error' in outcome) throw new Error(`${file}: ${outcome.error.message}`);
  return outcome.manifest;
}

function tsError(file: string): { code: string; message: string } {
  const outcome = loadedTs[file];
  if (!('error' in outcome)) throw new Error(`${file} loaded, expected an error`);
  expect(outcome.error.code).toBe('manifest');
  expect(outcome.error.message).not.toContain('\n');
  return outcome.error;
}

/** The one-line error loading a file fails with. */
async function loadError(file: string): Promise<SchemaDiffError> {
  const error = await loadManifest(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SchemaDiffError);
  const err = error as SchemaDiffError;
  expect(err.code).toBe('manifest');
  expect(err.message).not.toContain('\n');
  return err;
}

describe('loadManifest loads', () => {
  test('a typed .ts manifest through tsx, without a build step', () => {
    const m = tsManifest(fixture('typed.ts'));
    expect(m.name).toBe('fixture-ts');
    expect(m.tables.orders?.foreignKeys?.[0]).toMatchObject({ name: 'fk_orders_buyer', onDelete: 'restrict' });
  });

  test('a .ts module exporting `manifest` instead of default', () => {
    const m = tsManifest(fixture('named-export.ts'));
    expect(m.tables.orders?.checks?.[0].name).toBe('ck_named');
  });

  test('a .js module', async () => {
    const m = await loadManifest(fixture('plain.js'));
    expect(m.name).toBe('fixture-js');
  });

  test('a CommonJS .cjs module', async () => {
    const m = await loadManifest(fixture('common.cjs'));
    expect(m.tables.orders?.checks?.[0].name).toBe('ck_cjs');
  });

  test('a .json manifest with a $schema reference and an expression index', async () => {
    const m = await loadManifest(fixture('plain.json'));
    expect(m.name).toBe('fixture-json');
    expect(m.tables.orders?.indexes?.[0].columns).toEqual([{ expr: 'lower(status)' }]);
  });

  test("the repository's default manifest (manifest/index.ts): MeStore's", () => {
    const m = tsManifest('manifest/index.ts');
    expect(m.name).toBe('mestore');
    expect(Object.keys(m.tables)).toEqual(
      expect.arrayContaining(['orders', 'order_items', 'payments', 'products', 'users', 'order_transactions', 'payment_methods']),
    );
  });
});

describe('loadManifest fails in one line', () => {
  test('for a missing file', async () => {
    const err = await loadError(fixture('nope.ts'));
    expect(err.message).toBe(`manifest file not found: ${fixture('nope.ts')}`);
  });

  test('for a directory', async () => {
    expect((await loadError('test/fixtures/manifests')).message).toBe('manifest test/fixtures/manifests is not a file');
  });

  test('for a file type it cannot read', async () => {
    expect((await loadError(fixture('manifest.yaml'))).message).toMatch(/manifest\.yaml: unsupported file type \(expected \.ts, .*\.json\)$/);
  });

  test('for a module exporting nothing usable', () => {
    expect(tsError(fixture('exports-nothing.ts')).message).toBe(
      `manifest ${fixture('exports-nothing.ts')} exports no manifest (expected export default defineManifest({...}))`,
    );
  });

  test('for a module that throws while loading: its first line only', () => {
    expect(tsError(fixture('throws.ts')).message).toBe(
      `cannot load manifest ${fixture('throws.ts')}: boom while building the manifest`,
    );
  });

  test('for malformed JSON', async () => {
    expect((await loadError(fixture('broken.json'))).message).toMatch(/^cannot load manifest .*broken\.json: .+/);
  });

  test('for a manifest that loads but is invalid: every problem, with the file named', async () => {
    const err = await loadError(fixture('invalid.json'));
    expect(err.message).toBe(`invalid manifest ${fixture('invalid.json')}: 3 problems (one per line below)`);
    expect(err.details).toEqual([
      'tables.orders.checks[2].expr: must be a non-empty string',
      'tables.orders.foreignKeys[0].onDelete: unknown action "nullify" (expected one of: no action, restrict, cascade, set null, set default)',
      'tables.orders.checks[1].name: duplicate constraint name "ck_a" in table orders (also tables.orders.checks[0].name)',
    ]);
  });
});
