import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * schema-diff/runtime is what an application loads in production: it must
 * pull in no driver, no Kysely, no yargs, no ajv, no tsx. The built files'
 * import graph proves it (every import relative, inside dist/src/runtime/),
 * and a child process loads it by its package name. Needs `npm run build`.
 */
const ENTRY = resolve('dist/src/runtime/index.js');

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)];
  return specifiers.map((m) => m[1] ?? m[2] ?? m[3]);
}

test('the runtime entry imports only its own files', () => {
  const seen = new Set<string>();
  const outside: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) outside.push(`${relative('.', file)} imports ${spec}`);
      else visit(resolve(dirname(file), spec));
    }
  };
  visit(ENTRY);
  expect(outside).toEqual([]);
  const files = [...seen].map((f) => relative('dist/src', f));
  expect(files.every((f) => f.startsWith(join('runtime', '')))).toBe(true);
  expect(files.length).toBeGreaterThanOrEqual(3);
});

test('schema-diff/runtime loads by its package name and explains an error', () => {
  // a child process: the package's `exports` map, as an application resolves it
  const script = `
    const { explainViolation } = await import('schema-diff/runtime');
    const manifest = { tables: { orders: { checks: [{ name: 'ck_order_total_positive', expr: 'total_amount > 0', message: 'The order total must be greater than zero.' }] } } };
    const error = Object.assign(new Error('CHECK constraint failed: ck_order_total_positive'), { code: 'SQLITE_CONSTRAINT_CHECK' });
    process.stdout.write(JSON.stringify(explainViolation(error, manifest)));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(child.stderr).toBe('');
  expect(JSON.parse(child.stdout)).toMatchObject({ constraint: 'ck_order_total_positive', code: 'ORDER_TOTAL_POSITIVE', httpStatus: 422 });
});
