import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { openDialect } from '../../src/dialect/open.js';
import { savePlan, loadPlan } from '../../src/plan/plan-file.js';
import { applyManifest, type ApplyOptions } from '../../src/run/apply.js';
import { preparePlan, planHeader } from '../../src/run/prepare.js';
import { verifyManifest } from '../../src/run/verify.js';
import { bulkMeStoreSql } from '../helpers/bulk.js';
import { catalogDump, createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { testApplyOptions } from '../helpers/options.js';

const options: ApplyOptions = { ...testApplyOptions, lockWaitMs: 60_000 };

describeServer('apply safety on the real server', () => {
  test('psql -f of the printed script reaches the same end state as apply', async () => {
    const viaApply = await createTestDatabase();
    const viaPsql = await createTestDatabase();
    try {
      for (const db of [viaApply, viaPsql]) await runSql(db.url, baselineSchema('postgres') + demoRows());
      const d1 = await openDialect(viaApply.url);
      await applyManifest(d1, mestore, options).finally(() => d1.close());
      const d2 = await openDialect(viaPsql.url);
      const { plan } = await preparePlan(d2, mestore, 'manifest/mestore.ts').finally(() => d2.close());
      const dir = mkdtempSync(join(tmpdir(), 'sd-psql-'));
      const file = join(dir, 'migration.sql');
      writeFileSync(file, (await openAndScript(viaPsql.url)) ?? '');
      const psql = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', viaPsql.url, '-f', file], { encoding: 'utf8' });
      rmSync(dir, { recursive: true, force: true });
      expect(psql.stderr).toBe('');
      expect(psql.status).toBe(0);
      expect(plan.steps.length).toBeGreaterThan(40);
      expect(await catalogDump(viaPsql.url)).toEqual(await catalogDump(viaApply.url));
      const d3 = await openDialect(viaPsql.url);
      expect(await verifyManifest(d3, mestore, 'x').finally(() => d3.close())).toEqual([]);
    } finally {
      await viaApply.drop();
      await viaPsql.drop();
    }
  });

  test('a saved plan is refused once the catalog or the manifest changed, and accepted while neither has', async () => {
    const db = await createTestDatabase();
    try {
      await runSql(db.url, baselineSchema('postgres') + demoRows());
      const dialect = await openDialect(db.url);
      try {
        const { plan } = await preparePlan(dialect, mestore, 'manifest/mestore.ts');
        const dir = mkdtempSync(join(tmpdir(), 'sd-plan-'));
        const file = join(dir, 'plan.json');
        await savePlan(file, plan);
        await runSql(db.url, 'ALTER TABLE orders ADD CONSTRAINT by_hand CHECK (subtotal < 1000000000)');
        await expect(applyManifest(dialect, mestore, { ...options, savedPlan: await loadPlan(file) })).rejects.toMatchObject({
          code: 'refused',
          message: expect.stringContaining('the database changed since the plan was made'),
        });
        expect(await catalogDump(db.url)).not.toContainEqual(expect.stringContaining('ck_order_total_positive'));
        const fresh = await preparePlan(dialect, mestore, 'manifest/mestore.ts');
        const edited = { ...mestore, tables: { ...mestore.tables, users: { checks: [{ name: 'ck_user_email_format', expr: "email LIKE '%@%'" }] } } };
        await expect(applyManifest(dialect, edited, { ...options, savedPlan: fresh.plan })).rejects.toMatchObject({
          code: 'refused',
          message: expect.stringContaining('the manifest no longer produces the saved plan'),
        });
        const result = await applyManifest(dialect, mestore, { ...options, savedPlan: fresh.plan });
        expect(result.plan.steps.length).toBe(fresh.plan.steps.length);
        rmSync(dir, { recursive: true, force: true });
      } finally {
        await dialect.close();
      }
    } finally {
      await db.drop();
    }
  });

  test('apply refuses with counts when existing rows violate, and changes nothing', async () => {
    const db = await createTestDatabase();
    try {
      await runSql(db.url, baselineSchema('postgres') + demoRows() + "UPDATE orders SET total_amount = -1 WHERE id = 1;");
      const before = await catalogDump(db.url);
      const dialect = await openDialect(db.url);
      try {
        await expect(applyManifest(dialect, mestore, options)).rejects.toMatchObject({
          code: 'refused',
          message: expect.stringMatching(/ck_order_total_positive on public\.orders \(1 row\)/),
        });
        expect(await catalogDump(db.url)).toEqual(before);
        const result = await applyManifest(dialect, mestore, { ...options, allowNotValid: true });
        expect(result.leftNotValid).toEqual(expect.arrayContaining(['ck_order_total_positive', 'ck_order_total_calculation']));
        const drift = await verifyManifest(dialect, mestore, 'x');
        expect(drift.map((d) => `${d.problem} ${d.object}`).sort()).toEqual([
          'not_valid ck_order_total_calculation',
          'not_valid ck_order_total_positive',
        ]);
      } finally {
        await dialect.close();
      }
    } finally {
      await db.drop();
    }
  });

  test('killed with SIGKILL half-way, the database stays consistent and the next apply converges', async () => {
    const db = await createTestDatabase();
    try {
      await runSql(db.url, baselineSchema('postgres') + bulkMeStoreSql(60_000));
      const child = spawn(process.execPath, ['bin/schema-diff', 'apply', '--yes', '--database-url', db.url, '--manifest', 'manifest/mestore.ts'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      await new Promise<void>((resolve) => {
        child.stderr.on('data', (b: Buffer) => {
          stderr += b.toString();
          // kill in the middle: after some constraints were added, before validation is done
          if (/\[(2\d)\/\d+\]/.test(stderr) && !child.killed) {
            child.kill('SIGKILL');
          }
        });
        child.on('exit', () => resolve());
      });
      expect({ signal: child.signalCode, stderr: stderr.slice(-500) }).toMatchObject({ signal: 'SIGKILL' });
      const dialect = await openDialect(db.url);
      try {
        const result = await applyManifest(dialect, mestore, options);
        expect(result.plan.steps.length).toBeGreaterThan(0);
        expect(await verifyManifest(dialect, mestore, 'x')).toEqual([]);
        expect((await preparePlan(dialect, mestore, 'x')).plan.steps).toEqual([]);
        const invalid = await runSql(db.url, 'select count(*)::int as n from pg_index where not indisvalid');
        expect(invalid.rows[0].n).toBe(0);
        const counts = await runSql(db.url, 'select (select count(*) from orders)::int as o, (select count(*) from order_items)::int as i');
        expect(counts.rows[0]).toEqual({ o: 60_000, i: 180_000 });
      } finally {
        await dialect.close();
      }
    } finally {
      await db.drop();
    }
  });
});

async function openAndScript(url: string): Promise<string> {
  const dialect = await openDialect(url);
  try {
    const { plan } = await preparePlan(dialect, mestore, 'manifest/mestore.ts');
    return dialect.script(plan.steps, 'forward', planHeader(plan, 'forward'));
  } finally {
    await dialect.close();
  }
}
