/**
 * Writes the manifest's JSON Schema to docs/manifest.schema.json, for editors
 * and JSON manifests (`"$schema": "…/manifest.schema.json"`). Run after
 * changing src/manifest/json-schema.ts:
 *
 *   npx tsx scripts/export-schema.ts
 *
 * test/manifest/json-schema.test.ts fails while the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manifestJsonSchemaText } from '../src/manifest/json-schema.js';

const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'manifest.schema.json');
writeFileSync(target, manifestJsonSchemaText());
process.stdout.write(`wrote ${target}\n`);
