import ts from 'typescript';
import { defineManifest } from '../../src/manifest/define.js';
import { generateConstraintsModule } from '../../src/publish/codegen.js';

test('manifest text and the path stay data in the generated module', () => {
  const hostile = "it's `${process.exit(1)}` \"quoted\"\n*/ export const pwned = 1; /*";
  const manifest = defineManifest({
    tables: { t: { checks: [{ name: "ck_'x", expr: 'a > 0', description: hostile, message: hostile }] } },
  });
  const source = generateConstraintsModule(manifest, 'm.ts\nexport const pwned = 2;');
  const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 }, reportDiagnostics: true });
  expect(out.diagnostics ?? []).toEqual([]);
  const exports: Record<string, unknown> = {};
  new Function('exports', out.outputText)(exports);
  expect(Object.keys(exports).sort()).toEqual(['constraints', 'explainViolation']);
  expect(exports.constraints).toEqual([
    expect.objectContaining({ name: "ck_'x", message: hostile, description: hostile, code: 'X', kind: 'check' }),
  ]);
});
