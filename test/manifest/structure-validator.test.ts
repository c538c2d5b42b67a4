import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { manifestJsonSchema } from '../../src/manifest/json-schema.js';
import { STRUCTURE_OPTIONS, structureValidatorSource } from '../../src/manifest/structure-validator-source.js';
import { validate } from '../../src/manifest/structure-validator.js';
import { mestore } from '../../manifest/mestore.js';

/** The manifest's structure is checked by the schema compiled ahead of time: it must be today's schema, compiled alike. */
describe('the precompiled structure validator (src/manifest/structure-validator.ts)', () => {
  test('the committed module is the schema compiled now (run `npx tsx scripts/export-validator.ts` if not)', () => {
    expect(readFileSync('src/manifest/structure-validator.ts', 'utf8')).toBe(structureValidatorSource());
  });

  test('it says what ajv compiling the schema at run time says, errors included', () => {
    const compiled = new Ajv(STRUCTURE_OPTIONS).compile(manifestJsonSchema);
    const precompiled = validate as unknown as typeof compiled;
    const inputs: unknown[] = [
      JSON.parse(JSON.stringify(mestore)),
      JSON.parse(readFileSync('test/fixtures/manifests/plain.json', 'utf8')),
      { tables: { orders: { checks: [{ name: 'ck', expr: ' ' }, { name: '', exp: 'x > 0' }] } } },
      { version: 2, tables: { 'a.b.c': {}, t: { indexes: [{ name: 'ix', columns: [], using: 'btree', where: 7 }] } } },
      { tables: { t: { foreignKeys: [{ name: 'fk', columns: ['a'], references: { table: 'p' }, onDelete: 'cascade ' }] } } },
      // a one-code-point string of two UTF-16 units: the length helper ajv's runtime brings
      { tables: { t: { checks: [{ name: '😀', expr: '😀' }] } } },
      'not a manifest',
    ];
    for (const input of inputs) {
      expect([precompiled(input), precompiled.errors ?? null]).toEqual([compiled(input), compiled.errors ?? null]);
    }
  });
});
