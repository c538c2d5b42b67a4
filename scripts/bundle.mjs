/**
 * Bundles the compiled CLI (dist/src/cli/main.js, written by tsc) into one
 * CommonJS file, dist/bundle/schema-diff.cjs, which bin/schema-diff requires.
 * `npm run build` runs it after tsc.
 *
 * One file, not one per command: Node's ES module loader pays for each module
 * it resolves, links and evaluates, and `plan` loaded nineteen of forty; as one
 * CommonJS file it starts about 80 ms sooner at 1,000 tables (bench, taking
 * turns). Modules a command imports lazily still run only when it imports them
 * (esbuild wraps each in an init function). The optional drivers and tsx stay
 * outside and load on use; pg-native and pg-cloudflare are never used.
 */
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist/bundle', { recursive: true, force: true });
await build({
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/bundle/schema-diff.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', '@electric-sql/pglite', 'tsx', 'pg-native', 'pg-cloudflare'],
  define: {
    // import.meta has no meaning in CommonJS: the modules that use it (createRequire, tsx's tsImport) get the bundle's own URL
    'import.meta.url': '__schemaDiffUrl',
    // what Node 21 and later define themselves: pg asks it whether it runs in a Cloudflare Worker, and on Node 20,
    // which has none, asks by building a Response, which loads Node's fetch (about 40 ms of every command)
    navigator: '{"userAgent":"Node.js"}',
  },
  banner: { js: "const __schemaDiffUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
