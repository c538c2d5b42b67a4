import { readdirSync } from 'node:fs';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { openDialect } from '../../src/dialect/open.js';
import { SchemaDiffError } from '../../src/errors.js';
import { applyManifest } from '../../src/run/apply.js';
import { rollback } from '../../src/run/rollback.js';
import { validateManifest } from '../../src/run/validate.js';
import { applyOptions, fileDigest, seededFile } from '../sqlite/helpers.js';
import { expectOneLineError, runCli } from './run-cli.js';

/**
 * Numeric flags where 0, a negative, a fraction or NaN means nothing (or, for
 * --lock-timeout 0, turns the lock timeout off so an ACCESS EXCLUSIVE request
 * waits for ever) are refused before the database is even opened: one line,
 * exit 1, the file byte for byte as it was, no lock file beside it.
 */
describe('numeric flags out of range are refused, nothing touched', () => {
  let file: ReturnType<typeof seededFile>;
  beforeAll(() => {
    file = seededFile(baselineSchema('sqlite') + demoRows());
  });
  afterAll(() => file.dispose());

  const manifest = ['-m', 'manifest/mestore.ts'];
  test.each([
    [['apply', '--yes', '--lock-timeout', '0'], /^error: --lock-timeout: expected a whole number of ms >= 1, got "0" \(lock_timeout 0 turns the timeout off/],
    [['apply', '--yes', '--lock-timeout', '0.4ms'], /^error: --lock-timeout: expected a whole number of ms >= 1, got "0\.4ms" \(0ms\) \(lock_timeout 0/],
    [['apply', '--yes', '--lock-timeout=-5ms'], /^error: --lock-timeout: expected a duration like 25ms, 2s or 1m, got "-5ms"$/],
    [['apply', '--yes', '--lock-timeout', '99999999s'], /^error: --lock-timeout: expected at most 2147483647ms/],
    [['apply', '--yes', '--lock-retries', '-1'], /^error: --lock-retries: expected a whole number >= 0, got -1$/],
    [['apply', '--yes', '--lock-retries', '1.5'], /^error: --lock-retries: expected a whole number >= 0, got 1\.5$/],
    [['apply', '--yes', '--lock-retries', 'many'], /^error: --lock-retries: expected a whole number >= 0, got NaN$/],
    [['apply', '--yes', '--retry-budget=-1s'], /^error: --retry-budget: expected a duration/],
    [['apply', '--yes', '--lock-wait', 'soon'], /^error: --lock-wait: expected a duration/],
    [['rollback', '--yes', '--lock-timeout', '0.4ms'], /^error: --lock-timeout: expected a whole number of ms >= 1/],
    [['rollback', '--yes', '--lock-retries', '-3'], /^error: --lock-retries: expected a whole number >= 0, got -3$/],
    [['plan', '--lock-timeout', '0'], /^error: --lock-timeout: expected a whole number of ms >= 1/],
    [['validate', '--jobs', '0'], /^error: --jobs: expected a whole number >= 1, got 0$/],
    [['validate', '--samples', '-1'], /^error: --samples: expected a whole number >= 0, got -1$/],
    [['validate', '--jobs', 'NaN'], /^error: --jobs: expected a whole number >= 1, got NaN$/],
  ])('%j', async (args, message) => {
    const before = fileDigest(file.path);
    const result = await runCli([...args, ...manifest, '-d', `sqlite:///${file.path}`]);
    expectOneLineError(result, message);
    expect(fileDigest(file.path)).toBe(before);
    expect(readdirSync(file.dir)).toEqual(['test.db']);
  });
});

describe('the library refuses the same values at its boundary', () => {
  let file: ReturnType<typeof seededFile>;
  beforeAll(() => {
    file = seededFile(baselineSchema('sqlite') + demoRows());
  });
  afterAll(() => file.dispose());

  async function refusal(run: (dialect: Awaited<ReturnType<typeof openDialect>>) => Promise<unknown>): Promise<SchemaDiffError> {
    const before = fileDigest(file.path);
    const dialect = await openDialect(`sqlite:///${file.path}`);
    try {
      const error = await run(dialect).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(SchemaDiffError);
      expect(fileDigest(file.path)).toBe(before);
      return error as SchemaDiffError;
    } finally {
      await dialect.close();
    }
  }

  test.each([
    [{ lockTimeoutMs: 0 }, /^lockTimeoutMs: expected a whole number of ms >= 1, got 0 \(lock_timeout 0/],
    [{ lockTimeoutMs: 0.4 }, /^lockTimeoutMs: expected a whole number of ms >= 1, got 0\.4/],
    [{ lockRetries: -1 }, /^lockRetries: expected a whole number >= 0, got -1$/],
    [{ retryBudgetMs: Number.NaN }, /^retryBudgetMs: expected a whole number of ms >= 0, got NaN$/],
    [{ lockWaitMs: -10 }, /^lockWaitMs: expected a whole number of ms >= 0, got -10$/],
  ])('applyManifest %j', async (bad, message) => {
    const error = await refusal((dialect) => applyManifest(dialect, mestore, { ...applyOptions, ...bad }));
    expect(error.code).toBe('usage');
    expect(error.message).toMatch(message);
  });

  test('rollback', async () => {
    const error = await refusal((dialect) =>
      rollback(dialect, { ...applyOptions, lockTimeoutMs: 0, scope: { kind: 'last' }, dryRun: false, confirm: async () => true }),
    );
    expect(error.message).toMatch(/^lockTimeoutMs: expected a whole number of ms >= 1/);
  });

  test('validateManifest', async () => {
    const error = await refusal((dialect) => validateManifest(dialect, mestore, { samples: 5, jobs: Number.NaN }));
    expect(error.message).toBe('jobs: expected a whole number >= 1, got NaN');
  });
});
