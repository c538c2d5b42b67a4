import ts from 'typescript';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Type-level behaviour of defineManifest, checked by the TypeScript compiler
 * itself on fixtures under test/types/fixtures (excluded from the project's
 * own type-check, since one of them must not compile).
 */
const fixtures = resolve('test/types/fixtures');
const GOOD = resolve(fixtures, 'typed-good.ts');
const BAD = resolve(fixtures, 'typed-bad.ts');
const UNTYPED = resolve(fixtures, 'untyped.ts');
const MESTORE = resolve('manifest/mestore.ts');

interface Found {
  readonly line: number;
  readonly text: string;
}

let diagnostics: Map<string, Found[]>;

beforeAll(() => {
  const { config } = ts.readConfigFile(resolve('tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, resolve('.'));
  const program = ts.createProgram([GOOD, BAD, UNTYPED, MESTORE], { ...options, noEmit: true, types: ['node'] });
  diagnostics = new Map();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file?.fileName ?? '(global)';
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    const found = diagnostics.get(resolve(file)) ?? [];
    found.push({ line, text: ts.flattenDiagnosticMessageText(d.messageText, '\n') });
    diagnostics.set(resolve(file), found);
  }
}, 60_000);

/** Lines of a fixture marked `// error`. */
function markedLines(file: string): number[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((text, i) => (/\/\/ error\s*$/.test(text) ? [i + 1] : []));
}

test('no diagnostics outside the fixture that must fail', () => {
  const elsewhere = [...diagnostics].filter(([file]) => file !== BAD);
  expect(elsewhere).toEqual([]);
});

test('with a DB type, a typed manifest using real names compiles (kysely-codegen shapes, schema-qualified keys, as const)', () => {
  expect(diagnostics.get(GOOD)).toBeUndefined();
  expect(diagnostics.get(MESTORE)).toBeUndefined();
});

test('without a DB type, any table and column name is accepted', () => {
  expect(diagnostics.get(UNTYPED)).toBeUndefined();
});

test('with a DB type, each misspelled table or column fails to compile on its own line, and nothing else does', () => {
  const expected = markedLines(BAD);
  expect(expected.length).toBe(8);
  const lines = [...new Set((diagnostics.get(BAD) ?? []).map((d) => d.line))].sort((a, b) => a - b);
  expect(lines).toEqual(expected);
});

test('the compiler names the misspelling and suggests the real name', () => {
  const texts = (diagnostics.get(BAD) ?? []).map((d) => d.text).join('\n');
  expect(texts).toMatch(/"totl_amount".*Did you mean '"total_amount"'/);
  expect(texts).toMatch(/"buyerid".*Did you mean '"buyer_id"'/);
  expect(texts).toMatch(/'ordrs' does not exist.*Did you mean to write 'orders'/);
  expect(texts).toMatch(/"usrs".*Did you mean '"users"'/);
  expect(texts).toMatch(/"nullify"/);
  expect(texts).toMatch(/"totl"/);
  expect(texts).toMatch(/"stat"/);
});
