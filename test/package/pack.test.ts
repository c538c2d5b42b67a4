import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/run-cli.js';

/** What `npm pack` ships: what a user needs to run and read, nothing of our tests, sources or CI. */
describe('the published package', () => {
  const files: string[] = (() => {
    // --ignore-scripts: `prepare` would rebuild dist/ under the other test files' feet
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
  })();

  test('holds the CLI, the compiled library with its types, the docs and the JSON Schema', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'bin/schema-diff',
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/src/cli/main.js',
        // the CLI as bin/schema-diff runs it: bundled, so it starts without loading hundreds of modules
        'dist/bundle/schema-diff.cjs',
        'docs/cli.md',
        'docs/manifest.schema.json',
        // the demo's MeStore tables and rows
        'dist/manifest/baseline/index.js',
        'manifest/baseline/postgres.sql',
        'manifest/baseline/sqlite.sql',
      ]),
    );
  });

  test('leaves out tests, TypeScript sources, CI, build and test configuration, source maps', () => {
    const unwanted = files.filter((f) =>
      /^(test|src|scripts|\.ci)\/|^dist\/test\/|^(jest\.config\.js|tsconfig.*\.json)$|\.map$|\.ts$/.test(f) && !f.endsWith('.d.ts'),
    );
    expect(unwanted).toEqual([]);
  });

  test('--version prints schema-diff\'s own version, from any directory', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const elsewhere = mkdtempSync(join(tmpdir(), 'sd-version-'));
    try {
      const result = await runCli(['--version'], {}, elsewhere);
      expect({ code: result.code, stdout: result.stdout.trim() }).toEqual({ code: 0, stdout: version });
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
