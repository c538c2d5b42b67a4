import Database from 'better-sqlite3';
import { readdirSync } from 'node:fs';
import { baselineSchema, demoRows, demoViolations } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { openDialect } from '../../src/dialect/open.js';
import { SchemaDiffError } from '../../src/errors.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { verifyManifest } from '../../src/run/verify.js';
import { applyOptions, fileDigest, schemaTexts, seededFile, tableChecksums } from './helpers.js';

const baseline = baselineSchema('sqlite') + demoRows();

async function refusedApply(seed: string, options = applyOptions) {
  const file = seededFile(seed);
  const digest = fileDigest(file.path);
  const dialect = await openDialect(`sqlite:///${file.path}`);
  try {
    const error = await applyManifest(dialect, mestore, options).then(
      () => null,
      (e: unknown) => e,
    );
    return { error: error as SchemaDiffError, unchanged: fileDigest(file.path) === digest, files: readdirSync(file.dir) };
  } finally {
    await dialect.close();
    file.dispose();
  }
}

describe('apply refuses when rows violate, and leaves the file untouched', () => {
  test('orphan rows under a foreign key being replaced', async () => {
    const orphan = `PRAGMA foreign_keys = OFF;
      INSERT INTO orders (id, order_number, buyer_id, subtotal, tax_amount, shipping_cost, discount_amount, total_amount, status, shipping_name, shipping_phone)
      VALUES (9, 'ORD-0009', 'no-such-user', 1, 0, 0, 0, 1, 'PENDING', 'Ghost', '+57 9');`;
    const { error, unchanged, files } = await refusedApply(baseline + orphan);
    expect(error).toBeInstanceOf(SchemaDiffError);
    expect(error.code).toBe('refused');
    expect(error.message).toContain('fk_orders_buyer_id on main.orders (1 row)');
    expect(error.message).toContain('nothing was changed');
    expect(unchanged).toBe(true);
    expect(files.filter((f) => f.includes('backup'))).toEqual([]);
  });

  test('rows violating new CHECKs and a partial unique index, with the counts', async () => {
    const { error, unchanged } = await refusedApply(baseline + demoViolations());
    expect(error.code).toBe('refused');
    for (const part of [
      'ck_order_total_positive on main.orders (1 row)',
      'ck_order_total_calculation on main.orders (2 rows)',
      'ck_user_email_format on main.users (1 row)',
      'ix_payments_wompi_transaction_id_unique on main.payments (1 row)',
    ]) {
      expect(error.message).toContain(part);
    }
    expect(unchanged).toBe(true);
  });

  test('--allow-not-valid cannot help: SQLite has no NOT VALID', async () => {
    const withoutUnique = demoViolations().replace(/INSERT INTO payments[\s\S]*$/, '');
    const { error, unchanged } = await refusedApply(baseline + withoutUnique, { ...applyOptions, allowNotValid: true });
    expect(error.code).toBe('refused');
    expect(error.message).toMatch(/SQLite has no NOT VALID/);
    expect(unchanged).toBe(true);
  });
});

/** MeStore's plan on the baseline: 12 index builds, then 7 definitions edited in place (no rebuild). */
const MESTORE_STEPS = 19;

describe('safety of execution', () => {
  test('a plan whose table changed since it was made stops at its safety check; nothing is changed', async () => {
    const file = seededFile(baseline);
    const dialect = await openDialect(`sqlite:///${file.path}`);
    try {
      const { plan } = await preparePlan(dialect, mestore, 'm');
      const raw = new Database(file.path);
      raw.exec('ALTER TABLE orders ADD COLUMN coupon TEXT');
      raw.close();
      const before = schemaTexts(file.path);
      const rows = tableChecksums(file.path);
      const digest = fileDigest(file.path);
      const runId = await dialect.startRun('apply', 'm', plan.fingerprint);
      const error = await dialect.execute(plan.steps, { runId }, { ...applyOptions, backup: false }).catch((e: unknown) => e as SchemaDiffError);
      await dialect.finishRun(runId, 'failed');
      expect(error).toBeInstanceOf(SchemaDiffError);
      expect((error as SchemaDiffError).message).toMatch(/edit_table .* on main\.orders\) stopped by a safety check: not true that main\.orders, its indexes and triggers are as the plan expects/);
      expect(schemaTexts(file.path)).toEqual(before);
      expect(tableChecksums(file.path)).toEqual(rows);
      // all or nothing: not even the journal keeps a trace of a run that changed nothing
      expect(await dialect.history()).toEqual([]);
      expect(fileDigest(file.path)).toBe(digest);
    } finally {
      await dialect.close();
      file.dispose();
    }
  });

  test('a second applier waits for the first, then finds nothing to do', async () => {
    const file = seededFile(baseline);
    const a = await openDialect(`sqlite:///${file.path}`);
    const b = await openDialect(`sqlite:///${file.path}`);
    try {
      const options = { ...applyOptions, backup: false, lockWaitMs: 20_000 } as typeof applyOptions;
      const results = await Promise.all([applyManifest(a, mestore, options), applyManifest(b, mestore, options)]);
      expect(results.map((r) => r.plan.steps.length).sort((x, y) => x - y)).toEqual([0, MESTORE_STEPS]);
      expect(await verifyManifest(a, mestore, 'm')).toEqual([]);
      expect((await a.history()).filter((r) => r.kind === 'apply')).toHaveLength(1);
    } finally {
      await a.close();
      await b.close();
      file.dispose();
    }
  });

  test('the apply lock: a second holder is refused after its wait, and gets it once released', async () => {
    const file = seededFile(baseline);
    const a = await openDialect(`sqlite:///${file.path}`);
    const b = await openDialect(`sqlite:///${file.path}`);
    try {
      const release = await a.lock(100);
      await expect(b.lock(150)).rejects.toThrow(/another schema-diff apply or rollback is running/);
      await release();
      const again = await b.lock(150);
      await again();
    } finally {
      await a.close();
      await b.close();
      file.dispose();
    }
  });

  test("the application's write lock: apply retries BEGIN IMMEDIATE, then gives up cleanly; later it succeeds", async () => {
    const file = seededFile(baseline);
    const digest = fileDigest(file.path);
    const dialect = await openDialect(`sqlite:///${file.path}`);
    const app = new Database(file.path);
    try {
      app.exec('BEGIN IMMEDIATE');
      const retries: string[] = [];
      const options = { ...applyOptions, backup: false, lockRetries: 4, retryBudgetMs: 2_000, events: { retrying: (_s: unknown, n: number, why: string) => retries.push(`${n} ${why}`) } };
      const error = await applyManifest(dialect, mestore, options as typeof applyOptions).catch((e: unknown) => e as SchemaDiffError);
      expect((error as SchemaDiffError).code).toBe('lock');
      expect((error as SchemaDiffError).message).toMatch(/could not get the database's write lock in 4 attempts/);
      expect(retries).toEqual(['1 database busy', '2 database busy', '3 database busy']);
      app.exec('ROLLBACK');
      expect(fileDigest(file.path)).toBe(digest);
      const result = await applyManifest(dialect, mestore, { ...applyOptions, backup: false } as typeof applyOptions);
      expect(result.plan.steps).toHaveLength(MESTORE_STEPS);
      expect((await dialect.history()).map((r) => r.status)).toEqual(['done']);
    } finally {
      app.close();
      await dialect.close();
      file.dispose();
    }
  });
});
