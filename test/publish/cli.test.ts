import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mestore } from '../../manifest/mestore.js';
import { generateConstraintsModule } from '../../src/publish/codegen.js';
import { runCli } from '../cli/run-cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sd-publish-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('codegen --out writes the module, docs prints to stdout; neither needs a database', async () => {
  const out = join(dir, 'src', 'constraints.ts');
  const codegen = await runCli(['codegen', '-m', 'manifest/mestore.ts', '--out', out]);
  expect(codegen.code).toBe(0);
  expect(codegen.stderr).toBe(`constraints module written to ${out}\n`);
  expect(readFileSync(out, 'utf8')).toBe(generateConstraintsModule(mestore, 'manifest/mestore.ts'));
  const docs = await runCli(['docs', '-m', 'manifest/mestore.ts']);
  expect(docs.code).toBe(0);
  expect(docs.stdout).toBe(readFileSync('docs/constraints.md', 'utf8'));
});

test('the demo shows a rejected insert turned into its message and code', async () => {
  const demo = await runCli(['demo', '--dialect', 'sqlite']);
  expect(demo.code).toBe(0);
  expect(demo.stdout).toContain('explainViolation(error, manifest) → HTTP 422 { "code": "ORDER_TOTAL_NOT_POSITIVE", "message": "The order total must be greater than zero." }');
}, 60_000);
