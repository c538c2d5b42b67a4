import { spawn } from 'node:child_process';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { applyManifest, isViolationRefusal, type ApplyOptions } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { verifyManifest } from '../../src/run/verify.js';
import { bulkMeStoreSql } from '../helpers/bulk.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { ADMIN_URL, catalogDump, describeServer, runSql } from '../helpers/postgres.js';
import { onPostgres, type TestTarget } from '../helpers/targets.js';
import { testApplyOptions } from '../helpers/options.js';

/**
 * On a big database apply builds the plan's first new non-unique indexes while
 * it still checks existing rows (run/apply.ts applyWhileChecking). Here every
 * database counts as big (buildWhileCheckingFromBytes: 0), with enough rows
 * that the check outlasts the start of the first build where a test needs it to.
 */
const beside: ApplyOptions = { ...testApplyOptions, lockWaitMs: 60_000, buildWhileCheckingFromBytes: 0 };

/** apply's error, or null when it succeeded. */
const attempt = (target: TestTarget, manifest: LoadedManifest, options: ApplyOptions) =>
  applyManifest(target.dialect, manifest, options).then(
    () => null,
    (e: unknown) => e as Error & { code?: string },
  );

describeServer('apply builds indexes while it checks existing rows', () => {
  test('a violation found meanwhile drops the indexes built again, journals why, and the next apply converges', async () => {
    // 100,000 orders: the check must outlast apply's first journal write (which creates the journal's tables),
    // or it refuses before any build starts, which is right but not this test's path; 20,000 did not always
    await onPostgres(baselineSchema('postgres') + bulkMeStoreSql(100_000) + 'UPDATE orders SET total_amount = -1 WHERE id = 7;', async (target) => {
      const { dialect } = target;
      const before = await catalogDump(target.url);
      const started: number[] = [];
      const undone: number[] = [];
      const events = { stepStarted: (_s: unknown, i: number) => started.push(i), runUndone: (id: number) => undone.push(id) };
      const error = await attempt(target, mestore, { ...beside, events });
      expect(error).toMatchObject({ code: 'refused' });
      expect(isViolationRefusal(error)).toBe(true);
      expect(error?.message).toMatch(/ck_order_total_positive on public\.orders \(1 row\)/);
      expect(error?.message).toMatch(/index\(es\) built while the rows were checked were dropped again \(journal runs \d+ and \d+\), nothing else was changed/);
      // only index builds ran before the refusal, and the catalog is as it was
      expect(started.length).toBeGreaterThan(0);
      expect(await catalogDump(target.url)).toEqual(before);
      const runs = await dialect.history();
      expect(runs.map((r) => `${r.kind} ${r.status}`)).toEqual(['apply failed', 'rollback done']);
      // a fleet then records no applied run here (fleet/run.ts withRunEvents)
      expect(undone).toEqual([runs[0].id]);
      expect(runs[0].steps.every((s) => s.action === 'create_index')).toBe(true);
      expect(runs[1].steps).toHaveLength(runs[0].steps.length);

      await target.sql('UPDATE orders SET total_amount = subtotal + tax_amount + shipping_cost - discount_amount WHERE id = 7');
      const result = await applyManifest(dialect, mestore, beside);
      expect(result.runId).not.toBeNull();
      expect((await preparePlan(dialect, mestore, 'manifest/mestore.ts')).plan.steps).toEqual([]);
      expect(await verifyManifest(dialect, mestore, 'x')).toEqual([]);
    });
  });

  test('clean rows: every step runs once, numbered across the whole plan, steps that share a table in plan order, and plan is empty after', async () => {
    await onPostgres(baselineSchema('postgres') + bulkMeStoreSql(20_000), async ({ dialect }) => {
      const started: string[] = [];
      const timeline: string[] = [];
      const result = await applyManifest(dialect, mestore, {
        ...beside,
        events: {
          stepStarted: (s, i, n) => {
            started.push(`${i}/${n} ${s.id}`);
            timeline.push(`start ${i}`);
          },
          stepFinished: (_s, i) => timeline.push(`end ${i}`),
        },
      });
      const n = result.plan.steps.length;
      expect(started.sort()).toEqual(result.plan.steps.map((s, i) => `${i}/${n} ${s.id}`).sort());
      // after the check, steps on other tables may run at once (plan/schedule.ts); two that share a table never do
      const steps = result.plan.steps;
      for (const [i, a] of steps.entries()) {
        for (const [j, b] of steps.entries()) {
          if (j <= i || !a.touches?.some((t) => b.touches?.includes(t))) continue;
          expect({ pair: [a.name, b.name], order: timeline.indexOf(`end ${i}`) < timeline.indexOf(`start ${j}`) }).toEqual({ pair: [a.name, b.name], order: true });
        }
      }
      // the new plain indexes lead the plan: they are what runs beside the check
      const firstOther = result.plan.steps.findIndex((s) => s.action !== 'create_index' || s.name.endsWith('_unique'));
      expect(result.plan.steps.slice(firstOther).some((s) => s.action === 'create_index' && !s.name.endsWith('_unique'))).toBe(false);
      expect((await dialect.history()).map((r) => `${r.kind} ${r.status} ${r.steps.length}`)).toEqual([`apply done ${n}`]);
      expect((await preparePlan(dialect, mestore, 'manifest/mestore.ts')).plan.steps).toEqual([]);
    });
  });

  test('below the size where it pays, the check runs first: a refusal leaves no run in the journal', async () => {
    await onPostgres(baselineSchema('postgres') + demoRows() + 'UPDATE orders SET total_amount = -1 WHERE id = 1;', async ({ dialect }) => {
      const started: number[] = [];
      await expect(
        applyManifest(dialect, mestore, { ...testApplyOptions, lockWaitMs: 60_000, events: { stepStarted: (_s, i) => started.push(i) } }),
      ).rejects.toMatchObject({ code: 'refused', message: expect.stringMatching(/\(1 row\); nothing was changed/) });
      expect(started).toEqual([]);
      expect(await dialect.history()).toEqual([]);
    });
  });

  /** Costly per row, so that the check of a few hundred thousand rows outlasts the builds beside it. */
  const SLOW = `length(md5(note || md5(note || md5(note)))) = 32`;
  const table = (name: string, rows: number, badId: number | null) =>
    `create table ${name} (id int primary key, a int, b int, note text not null);
     insert into ${name} select g, g, case when g = ${badId ?? -1} then -1 else 1 end, 'row ' || g from generate_series(1, ${rows}) g;
     analyze ${name};`;
  const indexNames = async (target: TestTarget) =>
    (await target.sql(`select indexname from pg_indexes where schemaname = 'public' order by 1`)).map((r) => r.indexname as string);

  // Found by review: each build waits at its end for the check's transaction of the moment, and a
  // database's lock_timeout cancelled that wait (the build failed where checking first succeeded).
  test("a database's lock_timeout does not cancel a build's wait for the check", async () => {
    const seed = `${table('t', 200_000, null)}
      do $$ begin execute format('alter database %I set lock_timeout = %L', current_database(), '200ms'); end $$;`;
    await onPostgres(seed, async (target) => {
      const manifest = { version: 1, tables: { t: { checks: [{ name: 'ck_t_b', expr: `b > 0 and ${SLOW}` }], indexes: [{ name: 'ix_t_a', columns: ['a'] }] } } } as unknown as LoadedManifest;
      expect(await attempt(target, manifest, beside)).toBeNull();
      expect(await indexNames(target)).toContain('ix_t_a');
      expect((await target.sql('show lock_timeout'))[0].lock_timeout).toBe('200ms');
    });
  }, 60_000);

  // Found by review: a build that failed on existing rows hid the refusal, and the builds before it stayed.
  test('a build that fails beside a refusing check: the refusal, naming the failed build, and the earlier builds dropped again', async () => {
    await onPostgres(table('t1', 200_000, 7) + table('t2', 100_000, null), async (target) => {
      const manifest = {
        version: 1,
        tables: {
          t1: { checks: [{ name: 'ck_t1_b', expr: `b > 0 and ${SLOW}` }], indexes: [{ name: 'ix_t1_a', columns: ['a'] }] },
          // t2's check, after t1's, keeps the check going while ix_t1_a (which waits for t1's) is done and ix_t2_bad fails
          t2: { checks: [{ name: 'ck_t2_note', expr: SLOW }], indexes: [{ name: 'ix_t2_bad', columns: [{ expr: '(note::int)' }] }] },
        },
      } as unknown as LoadedManifest;
      const before = await indexNames(target);
      const error = await attempt(target, manifest, beside);
      expect(isViolationRefusal(error)).toBe(true);
      expect(error?.message).toMatch(/^existing rows violate 1 constraint\(s\): ck_t1_b on public\.t1 \(1 row\); the 1 index\(es\) built while the rows were checked were dropped again \(journal runs \d+ and \d+\), nothing else was changed; a build failed meanwhile: .*invalid input syntax for type integer/);
      expect(await indexNames(target)).toEqual(before);
    });
  }, 60_000);

  // Found by review: the undo goes through the journal, which rollback refuses to trust when another role owns it.
  test('a journal schema-diff cannot trust: the check runs first, and a refusal changes nothing', async () => {
    const role = `sd_not_us_${randomBytes(4).toString('hex')}`;
    await runSql(ADMIN_URL, `create role ${role}`);
    try {
      await onPostgres(`create schema schema_diff authorization ${role}; ${table('t', 50_000, 7)}`, async (target) => {
        const manifest = { version: 1, tables: { t: { checks: [{ name: 'ck_t_b', expr: 'b > 0' }], indexes: [{ name: 'ix_t_a', columns: ['a'] }] } } } as unknown as LoadedManifest;
        const before = await indexNames(target);
        const started: number[] = [];
        const error = await attempt(target, manifest, { ...beside, events: { stepStarted: (_s, i) => started.push(i) } });
        expect(isViolationRefusal(error)).toBe(true);
        expect(error?.message).toMatch(/\(1 row\); nothing was changed/);
        expect(started).toEqual([]);
        expect(await indexNames(target)).toEqual(before);
      });
    } finally {
      await runSql(ADMIN_URL, `drop role if exists ${role}`);
    }
  }, 60_000);

  /** A slow CHECK `ck_<t>` on each table; `indexed` also gets a plain index, so that a build runs beside the check. */
  const slowChecks = (indexed: string, other: string) =>
    ({
      version: 1,
      tables: {
        [indexed]: { checks: [{ name: `ck_${indexed}`, expr: SLOW }], indexes: [{ name: `ix_${indexed}_a`, columns: ['a'] }] },
        [other]: { checks: [{ name: `ck_${other}`, expr: SLOW }] },
      },
    }) as unknown as LoadedManifest;

  test('after the check, two VALIDATEs of different tables run at once', async () => {
    await onPostgres(table('a', 150_000, null) + table('b', 150_000, null), async (target) => {
      const manifest = slowChecks('a', 'b');
      const timeline: string[] = [];
      const events = { stepStarted: (s: { action: string; table: string }) => timeline.push(`start ${s.action} ${s.table}`), stepFinished: (s: { action: string; table: string }) => timeline.push(`end ${s.action} ${s.table}`) };
      expect(await attempt(target, manifest, { ...beside, events })).toBeNull();
      const validates = timeline.filter((e) => e.includes('validate_constraint'));
      // both started before either ended
      expect(validates.slice(0, 2).every((e) => e.startsWith('start'))).toBe(true);
      expect((await target.sql(`select conname, convalidated from pg_constraint where conname in ('ck_a', 'ck_b') order by 1`)).map((r) => r.convalidated)).toEqual([true, true]);
    });
  }, 60_000);

  test('a VALIDATE that fails beside another: the other ends and is journaled, apply stops with the failure, and the next apply converges', async () => {
    await onPostgres(table('x', 150_000, null) + table('y', 150_000, null), async (target) => {
      const manifest = slowChecks('y', 'x');
      // once both VALIDATEs run, x's is cancelled (as an operator's pg_cancel_backend would)
      const watcher = new pg.Client({ connectionString: target.url });
      await watcher.connect();
      let watching = true;
      const cancelled = (async () => {
        while (watching) {
          const { rows } = await watcher.query<{ pid: number; query: string }>(
            `select pid, query from pg_stat_activity where datname = current_database() and query like 'ALTER TABLE % VALIDATE CONSTRAINT %'`,
          );
          const x = rows.find((r) => r.query.includes('ck_x'));
          if (x && rows.some((r) => r.query.includes('ck_y'))) return (await watcher.query('select pg_cancel_backend($1)', [x.pid])).rowCount === 1;
          await new Promise((r) => setTimeout(r, 10));
        }
        return false;
      })();
      const error = await attempt(target, manifest, beside);
      watching = false;
      expect(await cancelled).toBe(true);
      await watcher.end();
      expect(error).toMatchObject({ code: 'execution', message: expect.stringMatching(/validate_constraint ck_x on public\.x\) failed: canceling statement/) });
      const [run] = await target.dialect.history();
      expect(run.status).toBe('failed');
      expect(run.steps.map((st) => `${st.action} ${st.name}`).sort()).toEqual(['add_check ck_x', 'add_check ck_y', 'create_index ix_y_a', 'validate_constraint ck_y']);
      expect((await target.sql(`select conname, convalidated from pg_constraint where conname in ('ck_x', 'ck_y') order by 1`)).map((r) => `${r.conname} ${r.convalidated}`)).toEqual(['ck_x false', 'ck_y true']);
      expect(await attempt(target, manifest, beside)).toBeNull();
      expect((await preparePlan(target.dialect, manifest, 'm.ts')).plan.steps).toEqual([]);
    });
  }, 60_000);

  test('killed with SIGKILL while it builds beside the check: the next apply adopts what was built and converges', async () => {
    await onPostgres(baselineSchema('postgres') + bulkMeStoreSql(60_000), async ({ dialect, url }) => {
      // the library in a process of its own (npm test builds dist first), every database counted as big
      const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
      const script = `
        const { openDialect } = await import(${JSON.stringify(`${dist}src/dialect/open.js`)});
        const { applyManifest } = await import(${JSON.stringify(`${dist}src/run/apply.js`)});
        const { mestore } = await import(${JSON.stringify(`${dist}manifest/mestore.js`)});
        const dialect = await openDialect(process.argv[1]);
        await applyManifest(dialect, mestore, {
          manifestPath: 'manifest/mestore.ts', lockTimeoutMs: 25, lockRetries: 50, retryBudgetMs: 30000, lockWaitMs: 60000,
          allowNotValid: false, buildWhileCheckingFromBytes: 0, confirm: async () => true,
          events: { stepFinished: (step) => console.log('built ' + step.action) },
        });`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (b: Buffer) => {
          stdout += b.toString();
          if (stdout.includes('built create_index') && !child.killed) child.kill('SIGKILL');
        });
        child.on('exit', () => resolve());
      });
      expect({ signal: child.signalCode, stdout: stdout.slice(0, 200) }).toMatchObject({ signal: 'SIGKILL' });
      await applyManifest(dialect, mestore, beside);
      const runs = await dialect.history();
      expect(runs.map((r) => `${r.kind} ${r.status}`)).toEqual(['apply interrupted', 'apply done']);
      expect(runs[0].steps.length).toBeGreaterThan(0);
      expect((await preparePlan(dialect, mestore, 'manifest/mestore.ts')).plan.steps).toEqual([]);
      expect(await verifyManifest(dialect, mestore, 'x')).toEqual([]);
    });
  }, 120_000);
});
