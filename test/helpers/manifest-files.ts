import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LoadedManifest } from '../../src/manifest/types.js';

/**
 * A directory inside the package (.sd-tmp/, git-ignored): a generated .ts
 * manifest there imports 'schema-diff', which resolves to this package (a
 * self-reference) as it would in a project that installed it.
 */
export function packageTempDir(prefix: string): { dir: string; dispose: () => void } {
  mkdirSync(resolve('.sd-tmp'), { recursive: true });
  const dir = mkdtempSync(join(resolve('.sd-tmp'), prefix));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A manifest file loaded as the CLI loads it: tsx's loader hooks, which
 * jest's module system bypasses, in a plain node process over dist/ (built first).
 */
export function loadManifestInNode(path: string): LoadedManifest {
  const script = `const { loadManifest } = await import('./dist/src/manifest/load.js');
    process.stdout.write(JSON.stringify(await loadManifest(${JSON.stringify(path)})));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as LoadedManifest;
}
