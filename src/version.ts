import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** schema-diff's version, from its own package.json: two levels up from dist/src/version.js, one from src/version.ts (tests). */
function ownVersion(): string {
  for (const path of ['../../package.json', '../package.json']) {
    try {
      const pkg = require(path) as { name?: string; version: string };
      if (pkg.name === 'schema-diff') return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

export const VERSION: string = ownVersion();
