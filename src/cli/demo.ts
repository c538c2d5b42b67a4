import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dialect } from '../dialect/dialect.js';
import { openDialect } from '../dialect/open.js';
import { importWithDriver } from '../dialect/optional.js';
import { mestore } from '../../manifest/mestore.js';
import { baselineSchema, demoRows, demoViolations } from '../../manifest/baseline/index.js';
import { applyManifest } from '../run/apply.js';
import { preparePlan, planHeader } from '../run/prepare.js';
import { verifyManifest } from '../run/verify.js';
import { validateManifest } from '../run/validate.js';
import { rollback } from '../run/rollback.js';
import { explainViolation } from '../runtime/index.js';
import { formatPlanText, bold } from './format-plan.js';
import { formatReportText, summaryLines } from './commands/validate.js';

const MANIFEST = 'manifest/mestore.ts';

/** The demo's bad rows removed again: what a person does after reading validate's report. */
const CLEANUP = `DELETE FROM payments WHERE id = 4;
DELETE FROM order_items WHERE id = 4;
DELETE FROM orders WHERE id IN (4, 5);
DELETE FROM products WHERE id = '10000000-0000-4000-8000-000000000005';
DELETE FROM users WHERE id IN ('00000000-0000-4000-8000-000000000006', '00000000-0000-4000-8000-000000000007');`;

/** One order the new rules refuse for one reason: a total of zero. */
const ZERO_TOTAL_ORDER = `INSERT INTO orders (id, order_number, buyer_id, subtotal, tax_amount, shipping_cost, discount_amount, total_amount, status, shipping_name, shipping_phone)
VALUES (6, 'ORD-0006', '00000000-0000-4000-8000-000000000003', 0, 0, 0, 0, 0, 'PENDING', 'Carla Compra', '+57 300 000 0003');`;

const APPLY = {
  manifestPath: MANIFEST,
  lockTimeoutMs: 25,
  lockRetries: 50,
  retryBudgetMs: 60_000,
  lockWaitMs: 5_000,
  allowNotValid: false,
  backup: false,
  confirm: async () => true,
};

export async function runDemo(kind: 'postgres' | 'sqlite', say: (s: string) => void): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'schema-diff-demo-'));
  const section = (title: string) => say(`\n${bold(`== ${title}`)}\n`);
  let dialect: Dialect | undefined;
  try {
    section(`1. MeStore as it stands today, on ${kind === 'postgres' ? 'embedded PostgreSQL (PGlite)' : 'an SQLite file'}`);
    const seed = [baselineSchema(kind), demoRows(), demoViolations()].join('\n');
    dialect = kind === 'postgres' ? await openPGlite(seed) : await openSqlite(join(scratch, 'mestore.db'), seed);
    const fks = kind === 'postgres' ? 'foreign keys with default names' : 'inline, unnamed foreign keys';
    say(`7 tables, ${fks} and no action, no CHECK constraints, and a few bad rows. Database: ${dialect.target}`);

    section('2. validate: every row that would break the plan (schema-diff validate)');
    const before = await validateManifest(dialect, mestore, { samples: 3, jobs: 1 });
    const violated = { ...before.report, constraints: before.report.constraints.filter((c) => c.violations > 0 || c.error) };
    say(formatReportText({ report: violated, catalog: before.catalog }).join('\n'));

    section('3. fix the rows, as the customer plan says: DO NOT PROCEED until validation passes');
    say(CLEANUP);
    await dialect.exec(CLEANUP);
    const after = await validateManifest(dialect, mestore, { samples: 0, jobs: 1 });
    say('\n' + summaryLines(after.report).join('\n'));

    section('4. plan: what apply will do, step by step (schema-diff plan --format text)');
    const { plan } = await preparePlan(dialect, mestore, MANIFEST);
    const kinds = ['create_index', 'add_check', 'replace_foreign_key', 'validate_constraint', 'rebuild_table'];
    const sample = kinds.flatMap((k) => plan.steps.filter((s) => s.action === k).slice(0, 1));
    const counts = kinds.map((k) => [k, plan.steps.filter((s) => s.action === k).length] as const).filter(([, n]) => n > 0);
    say(`${plan.steps.length} steps: ${counts.map(([k, n]) => `${n} ${k}`).join(', ')}. One of each kind:\n`);
    say(formatPlanText({ ...plan, steps: sample, unmanaged: plan.unmanaged }).split('\n').slice(2).join('\n'));
    section('   … and the SQL a reviewer reads (schema-diff plan > migration.sql), first steps');
    say(dialect.script(plan.steps, 'forward', planHeader(plan, 'forward')).split('\n').slice(0, 24).join('\n') + '\n   …');

    section('5. apply (schema-diff apply --yes)');
    const result = await applyManifest(dialect, mestore, APPLY);
    say(`applied ${result.plan.steps.length} steps (history run ${result.runId})`);

    section('6. verify, then plan again: nothing to do (no false diffs)');
    const drift = await verifyManifest(dialect, mestore, MANIFEST);
    say(drift.length === 0 ? 'verify: every object present, equal and valid' : `verify: ${drift.length} drift(s)!`);
    say(`plan: ${(await preparePlan(dialect, mestore, MANIFEST)).plan.steps.length} steps`);
    if (dialect.comments) {
      // the manifest's descriptions are the database's comments now: what psql's \dd shows
      const [orders] = (await dialect.introspect([{ schema: dialect.defaultSchema, name: 'orders' }])).tables;
      const ck = orders?.checks.find((c) => c.name === 'ck_order_total_positive');
      say(`comment on ck_order_total_positive, as psql \\dd shows it: ${JSON.stringify(ck?.description ?? null)}`);
    }

    section('7. the rules at work: the bad rows are now rejected');
    say(`  ${describeAttempt(await tryInsert(dialect, demoViolations()))}`);
    section('   … and the application turns a rejection into its message and code (explainViolation, docs/violations.md)');
    say(ZERO_TOTAL_ORDER);
    const refused = await tryInsert(dialect, ZERO_TOTAL_ORDER);
    say(`  ${describeAttempt(refused)}`);
    const v = refused === null ? null : explainViolation(refused, mestore, { table: 'orders', operation: 'insert' });
    say(
      v
        ? `  explainViolation(error, manifest) → HTTP ${v.httpStatus} { "code": "${v.code}", "message": "${v.message}" }  (${v.constraint} on ${v.table}, ${v.severity})`
        : '  explainViolation: not a violation of the manifest (unexpected!)',
    );

    section('8. roll back one constraint (schema-diff rollback --constraint ck_order_total_positive)');
    const one = await rollback(dialect, { ...APPLY, scope: { kind: 'objects', names: ['ck_order_total_positive'] }, dryRun: false });
    say(`undid ${one.plan.steps.length} step(s): ${one.plan.objects.join(', ')}`);
    const replan = await preparePlan(dialect, mestore, MANIFEST);
    say(`plan now shows what to re-apply: ${replan.plan.steps.map((s) => `${s.action} ${s.name}`).join('; ')}`);

    section('9. roll back the rest of the apply (schema-diff rollback), then history');
    const rest = await rollback(dialect, { ...APPLY, scope: { kind: 'last' }, dryRun: false });
    say(`undid ${rest.plan.steps.length} more step(s); plan shows ${(await preparePlan(dialect, mestore, MANIFEST)).plan.steps.length} steps again`);
    for (const run of await dialect.history()) {
      say(`  #${run.id} ${run.kind.padEnd(8)} ${run.status}  ${run.steps.length} step(s)`);
    }
    const url = kind === 'postgres' ? 'postgres://…' : 'sqlite:///./dev_test.db';
    say(`\nNext: schema-diff validate, then schema-diff plan --database-url ${url} > migration.sql, review, schema-diff apply.`);
  } finally {
    await dialect?.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function openPGlite(seed: string): Promise<Dialect> {
  const { PGlite } = await importWithDriver('@electric-sql/pglite', () => import('@electric-sql/pglite'));
  const db = new PGlite();
  await db.exec(seed);
  const dialect = await openDialect('pglite:memory', { pglite: db });
  const close = dialect.close.bind(dialect);
  return Object.assign(Object.create(Object.getPrototypeOf(dialect)), dialect, {
    close: async () => {
      await close();
      await db.close();
    },
  }) as Dialect;
}

async function openSqlite(path: string, seed: string): Promise<Dialect> {
  const { default: Database } = await importWithDriver('better-sqlite3', () => import('better-sqlite3'));
  const db = new Database(path);
  db.exec(seed);
  db.close();
  return openDialect(`sqlite:///${path}`);
}

/** The error the database answered with, or null when it accepted the statements. */
async function tryInsert(dialect: Dialect, statements: string): Promise<unknown> {
  try {
    await dialect.exec(statements);
    return null;
  } catch (e) {
    return e;
  }
}

function describeAttempt(error: unknown): string {
  return error === null ? 'accepted (unexpected!)' : `rejected: ${(error as Error).message.split('\n')[0]}`;
}
