import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dialect } from '../dialect/dialect.js';
import { openDialect } from '../dialect/open.js';
import { mestore } from '../../manifest/mestore.js';
import { baselineSchema, demoRows, demoViolations } from '../../manifest/baseline/index.js';
import { applyManifest } from '../run/apply.js';
import { preparePlan, planHeader } from '../run/prepare.js';
import { verifyManifest } from '../run/verify.js';
import { desiredFor } from '../run/prepare.js';
import { targetsOfManifest } from '../run/targets.js';
import { formatPlanText, bold } from './format-plan.js';

const MANIFEST = 'manifest/mestore.ts';

export async function runDemo(kind: 'postgres' | 'sqlite', say: (s: string) => void): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'schema-diff-demo-'));
  const section = (title: string) => say(`\n${bold(`== ${title}`)}\n`);
  let dialect: Dialect | undefined;
  try {
    section(`1. MeStore as it stands today, on ${kind === 'postgres' ? 'embedded PostgreSQL (PGlite)' : 'an SQLite file'}`);
    const seed = [baselineSchema(kind), demoRows()].join('\n');
    dialect = kind === 'postgres' ? await openPGlite(seed) : await openSqlite(join(scratch, 'mestore.db'), seed);
    const fks = kind === 'postgres' ? 'foreign keys with default names' : 'inline, unnamed foreign keys';
    say(`7 tables, ${fks} and no action, no CHECK constraints. Database: ${dialect.target}`);

    section('2. validate: rows that would break the plan (none in the clean demo data)');
    const desired = desiredFor(dialect, mestore);
    const counts = await dialect.countViolations(targetsOfManifest(desired), { samples: 3, jobs: 1 });
    say(`${counts.length} constraints checked, ${counts.filter((c) => c.violations > 0).length} violated`);

    section('3. plan: what apply will do, step by step (schema-diff plan --format text)');
    const { plan } = await preparePlan(dialect, mestore, MANIFEST);
    say(formatPlanText(plan));
    section('   … and the SQL a reviewer reads (schema-diff plan > migration.sql), first steps');
    say(dialect.script(plan.steps, 'forward', planHeader(plan, 'forward')).split('\n').slice(0, 30).join('\n') + '\n   …');

    section('4. apply (schema-diff apply --yes)');
    const result = await applyManifest(dialect, mestore, {
      manifestPath: MANIFEST,
      lockTimeoutMs: 25,
      lockRetries: 50,
      retryBudgetMs: 60_000,
      lockWaitMs: 5_000,
      allowNotValid: false,
      confirm: async () => true,
    });
    say(`applied ${result.plan.steps.length} steps (history run ${result.runId})`);

    section('5. verify');
    const drift = await verifyManifest(dialect, mestore, MANIFEST);
    say(drift.length === 0 ? 'every object present, equal and valid' : `${drift.length} drift(s)!`);

    section('6. plan again: nothing to do (no false diffs)');
    const again = await preparePlan(dialect, mestore, MANIFEST);
    say(`${again.plan.steps.length} steps`);

    section('7. the rules at work: rows that break them are now rejected');
    const bad = await dialect.countViolations(
      targetsOfManifest(desired).filter((t) => t.name === 'ck_order_total_positive'),
      { samples: 0, jobs: 1 },
    );
    say(`ck_order_total_positive violations in the data: ${bad[0]?.violations ?? 0}`);
    say(`inserting the demo's bad rows (manifest/baseline/demo-violations.sql) now fails:`);
    say(`  ${await tryInsert(dialect, demoViolations())}`);
    const url = kind === 'postgres' ? 'postgres://…' : 'sqlite:///./dev_test.db';
    say(`\nNext: schema-diff plan --database-url ${url} > migration.sql, review, then schema-diff apply.`);
  } finally {
    await dialect?.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function openPGlite(seed: string): Promise<Dialect> {
  const { PGlite } = await import('@electric-sql/pglite');
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
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path);
  db.exec(seed);
  db.close();
  return openDialect(`sqlite:///${path}`);
}

async function tryInsert(dialect: Dialect, statements: string): Promise<string> {
  try {
    await dialect.exec(statements);
    return 'accepted (unexpected!)';
  } catch (e) {
    return `rejected: ${(e as Error).message.split('\n')[0]}`;
  }
}
