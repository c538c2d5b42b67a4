import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { manifestJsonSchema, manifestJsonSchemaText } from '../../src/manifest/json-schema.js';
import { mestore } from '../../manifest/mestore.js';

describe('the exported JSON Schema (docs/manifest.schema.json)', () => {
  test('the committed file is the schema the code checks with (run `npx tsx scripts/export-schema.ts` if not)', () => {
    expect(readFileSync('docs/manifest.schema.json', 'utf8')).toBe(manifestJsonSchemaText());
  });

  test('a plain draft-07 validator (no schema-diff code) accepts the JSON fixture and MeStore, and rejects a blank expr', () => {
    const validate = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(JSON.parse(readFileSync('docs/manifest.schema.json', 'utf8')));
    expect(validate(JSON.parse(readFileSync('test/fixtures/manifests/plain.json', 'utf8')))).toBe(true);
    expect(validate(JSON.parse(JSON.stringify(mestore)))).toBe(true);
    expect(validate({ tables: { orders: { checks: [{ name: 'ck', expr: ' ' }] } } })).toBe(false);
    expect(validate.errors?.[0]?.instancePath).toBe('/tables/orders/checks/0/expr');
  });

  test('is strict-mode clean draft-07 (editors and other validators read it as is)', () => {
    expect(() => new Ajv({ strict: true, allowUnionTypes: true }).compile(manifestJsonSchema)).not.toThrow();
  });
});
