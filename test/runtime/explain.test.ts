import { PGlite } from '@electric-sql/pglite';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import ts from 'typescript';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { PGliteDialect } from '../../src/dialect/postgres/pglite-driver.js';
import { generateConstraintsModule } from '../../src/publish/codegen.js';
import { applyManifest } from '../../src/run/apply.js';
import { createViolationExplainer, explainViolation, type ConstraintViolation, type ExplainOptions } from '../../src/runtime/index.js';
import { callerPool, describeServer } from '../helpers/postgres.js';
import { testApplyOptions } from '../helpers/options.js';
import { pgliteTarget, postgresTarget, sqliteTarget, type TestTarget } from '../helpers/targets.js';

/** One write per kind of violation, on MeStore's demo rows after apply. */
const WRITES = {
  check: {
    sql: 'UPDATE orders SET subtotal = 0, tax_amount = 0, shipping_cost = 0, discount_amount = 0, total_amount = 0 WHERE id = 3',
    hint: { table: 'orders', operation: 'update' },
  },
  missingParent: {
    sql: "INSERT INTO order_items (id, order_id, product_id, product_name, product_sku, unit_price, quantity, total_price) VALUES (99, 1, 'no-such-product', 'x', 'x', 1, 1, 1)",
    hint: { table: 'order_items', operation: 'insert' },
  },
  parentReferenced: {
    sql: "DELETE FROM products WHERE id = '10000000-0000-4000-8000-000000000001'",
    hint: { table: 'products', operation: 'delete' },
  },
  unique: {
    sql: "UPDATE payments SET wompi_transaction_id = 'wompi-tx-1' WHERE id = 2",
    hint: { table: 'payments', operation: 'update' },
  },
} satisfies Record<string, { sql: string; hint: ExplainOptions }>;

type WriteName = keyof typeof WRITES;

const EXPECTED: Record<WriteName, ConstraintViolation> = {
  check: {
    constraint: 'ck_order_total_positive',
    table: 'orders',
    kind: 'check',
    severity: 'critical',
    description: 'Ensures positive totals',
    message: 'The order total must be greater than zero.',
    httpStatus: 422,
    code: 'ORDER_TOTAL_NOT_POSITIVE',
    side: null,
  },
  missingParent: {
    constraint: 'fk_order_items_product_id',
    table: 'order_items',
    kind: 'foreign_key',
    severity: 'critical',
    description: 'Protect products in orders',
    message: 'The product does not exist, or is part of an order and cannot be deleted.',
    httpStatus: 422,
    code: 'ORDER_ITEM_PRODUCT_CONFLICT',
    side: 'child',
  },
  parentReferenced: {
    constraint: 'fk_order_items_product_id',
    table: 'order_items',
    kind: 'foreign_key',
    severity: 'critical',
    description: 'Protect products in orders',
    message: 'The product does not exist, or is part of an order and cannot be deleted.',
    httpStatus: 409,
    code: 'ORDER_ITEM_PRODUCT_CONFLICT',
    side: 'parent',
  },
  unique: {
    constraint: 'ix_payments_wompi_transaction_id_unique',
    table: 'payments',
    kind: 'unique',
    severity: 'critical',
    description: 'External Wompi transaction ids are unique',
    message: 'This Wompi transaction is already recorded.',
    httpStatus: 409,
    code: 'PAYMENT_WOMPI_TRANSACTION_DUPLICATE',
    side: null,
  },
};

/** How a test reaches the database outside schema-diff: the raw driver, and Kysely over it. */
interface Clients {
  target: TestTarget;
  raw(text: string): Promise<unknown>;
  kysely: Kysely<unknown>;
  close(): Promise<void>;
}

async function failureOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (e) {
    return e;
  }
  throw new Error('the write was accepted');
}

type Generated = { explainViolation(error: unknown, options?: ExplainOptions): ConstraintViolation | null };
let generated: Generated;
let scratch: string;

// The generated module, type-checked by tsc and loaded as JavaScript: it must agree with the runtime on every real error.
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'sd-codegen-'));
  const source = generateConstraintsModule(mestore, 'manifest/mestore.ts');
  writeFileSync(join(scratch, 'constraints.ts'), source);
  const tsc = spawnSync(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '--noEmit', '--strict', '--target', 'es2020', '--module', 'es2020', '--moduleResolution', 'bundler', join(scratch, 'constraints.ts')],
    { encoding: 'utf8' },
  );
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
  const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.ES2020 } }).outputText;
  writeFileSync(join(scratch, 'constraints.mjs'), js);
  generated = (await import(pathToFileURL(join(scratch, 'constraints.mjs')).href)) as Generated;
}, 60_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function specFor(name: string, open: () => Promise<Clients>, sqlite: boolean) {
  describe(name, () => {
    let c: Clients;
    beforeAll(async () => {
      c = await open();
      await applyManifest(c.target.dialect, mestore, testApplyOptions);
    }, 60_000);
    afterAll(async () => c?.close());

    for (const write of Object.keys(WRITES) as WriteName[]) {
      const { sql: text, hint } = WRITES[write];
      // SQLite names no foreign key: the write's table and kind find it
      const options = sqlite || write === 'check' ? hint : {};
      test(`${write}: the raw driver's error`, async () => {
        const error = await failureOf(() => c.raw(text));
        expect(explainViolation(error, mestore, options)).toEqual(EXPECTED[write]);
        expect(generated.explainViolation(error, options)).toEqual(EXPECTED[write]);
      });
      test(`${write}: through Kysely, and wrapped in cause`, async () => {
        const error = await failureOf(() => sql.raw(text).execute(c.kysely));
        const wrapped = new Error('could not save the order', { cause: error });
        expect(explainViolation(wrapped, mestore, options)).toEqual(EXPECTED[write]);
        expect(generated.explainViolation(wrapped, options)).toEqual(EXPECTED[write]);
      });
    }

    test('onViolation sees each violation; other errors are null and call nothing', async () => {
      const seen: string[] = [];
      const explain = createViolationExplainer(mestore, { onViolation: (v) => seen.push(v.code) });
      expect(explain(await failureOf(() => c.raw(WRITES.check.sql)))).not.toBeNull();
      expect(explain(await failureOf(() => c.raw('SELECT no_such_column FROM orders')))).toBeNull();
      // a primary key is no manifest rule
      expect(explain(await failureOf(() => c.raw("INSERT INTO users (id, email) VALUES ('00000000-0000-4000-8000-000000000001', 'new@example.com')")))).toBeNull();
      expect(seen).toEqual(['ORDER_TOTAL_NOT_POSITIVE']);
    });

    if (sqlite) {
      test('a foreign key without the write it came from is a generic answer', async () => {
        const error = await failureOf(() => c.raw(WRITES.missingParent.sql));
        const generic = {
          constraint: null,
          table: null,
          kind: 'foreign_key',
          severity: 'critical',
          description: null,
          message: 'The record refers to a record that does not exist, or is still referred to by other records.',
          httpStatus: 409,
          code: 'FOREIGN_KEY_VIOLATION',
          side: null,
        };
        expect(explainViolation(error, mestore)).toEqual(generic);
        expect(generated.explainViolation(error)).toEqual(generic);
        // products has a key of its own and one pointing at it: an update could have broken either
        expect(explainViolation(error, mestore, { table: 'products', operation: 'update' })?.constraint).toBeNull();
      });
    }
  });
}

describeServer('explainViolation [postgres]', () => {
  specFor('node-postgres', async () => {
    const target = await postgresTarget(baselineSchema('postgres') + demoRows());
    const pool = callerPool(target.url, 2);
    const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    return { target, raw: (text) => pool.query(text), kysely, close: async () => (await kysely.destroy(), await target.dispose()) };
  }, false);
});

describe('explainViolation [pglite]', () => {
  specFor('PGlite', async () => {
    const db = new PGlite();
    const target = await pgliteTarget(baselineSchema('postgres') + demoRows(), db);
    const kysely = new Kysely<unknown>({ dialect: new PGliteDialect(db) });
    return { target, raw: (text) => db.query(text), kysely, close: async () => (await target.dispose(), await db.close()) };
  }, false);
});

describe('explainViolation [sqlite]', () => {
  specFor('better-sqlite3', async () => {
    const target = await sqliteTarget(baselineSchema('sqlite') + demoRows());
    // as the application must (docs/dialects.md): foreign keys are per connection
    const rawDb = new Database(target.path);
    rawDb.pragma('foreign_keys = ON');
    const kyselyDb = new Database(target.path);
    kyselyDb.pragma('foreign_keys = ON');
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: kyselyDb }) });
    return {
      target,
      raw: async (text) => rawDb.prepare(text).run(),
      kysely,
      close: async () => {
        rawDb.close();
        await kysely.destroy();
        await target.dispose();
      },
    };
  }, true);
});
