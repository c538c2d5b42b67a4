/**
 * Writes src/manifest/structure-validator.ts: the manifest's JSON Schema
 * compiled ahead of time (ajv standalone code), which check.ts uses instead of
 * compiling the schema at every command's start. Run after changing
 * src/manifest/json-schema.ts:
 *
 *   npx tsx scripts/export-validator.ts
 *
 * test/manifest/structure-validator.test.ts fails while the committed module is stale.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { structureValidatorSource } from '../src/manifest/structure-validator-source.js';

const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'manifest', 'structure-validator.ts');
writeFileSync(target, structureValidatorSource());
process.stdout.write(`wrote ${target}\n`);
