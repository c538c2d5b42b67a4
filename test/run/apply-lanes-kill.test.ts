import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { describeServer } from '../helpers/postgres.js';
import { postgresTarget } from '../helpers/targets.js';

/**
 * apply killed with SIGKILL while one of its two connections still runs a
 * VALIDATE: the server goes on with that statement, and the next apply or
 * rollback must wait for it (recover.ts counts on "no other schema-diff
 * process is running"). The session's advisory lock alone did not cover it
 * (found by review): with the session idle, its backend exits at once and
 * frees the lock, so apply's second connection holds a lock of its own
 * (postgres-dialect.ts LANE_LOCK_KEY), which lock() waits for too.
 */
const SLOW = 'length(repeat(note, 3000)) > 0';
const table = (name: string, rows: number) =>
  `create table ${name} (id int primary key, a int, b int, note text not null);
   insert into ${name} select g, g, 1, 'row ' || g from generate_series(1, ${rows}) g;
   analyze ${name};`;

describeServer('apply killed while one of its two connections runs a step', () => {
  test('the advisory lock is not free while a statement of the killed apply still runs', async () => {
    const target = await postgresTarget(table('q', 20_000) + table('c', 1_000) + table('b', 200_000));
    const app = new pg.Client({ connectionString: target.url });
    const probe = new pg.Client({ connectionString: target.url });
    await app.connect();
    await probe.connect();
    try {
      // c's ADD CONSTRAINT waits a second for this application lock (retried); then c's and b's VALIDATEs run
      // at once, c's short, b's long, on either connection
      await app.query('begin');
      await app.query('lock table c in access share mode');
      const src = fileURLToPath(new URL('../../src/', import.meta.url));
      const script = `
        const { openDialect } = await import(${JSON.stringify(`${src}dialect/open.ts`)});
        const { applyManifest } = await import(${JSON.stringify(`${src}run/apply.ts`)});
        const dialect = await openDialect(process.env.TARGET_URL);
        const manifest = { version: 1, tables: {
          q: { indexes: [{ name: 'ix_q_a', columns: ['a'] }] },
          c: { checks: [{ name: 'ck_c', expr: 'b > 0' }] },
          b: { checks: [{ name: 'ck_b', expr: ${JSON.stringify(SLOW)} }] },
        } };
        await applyManifest(dialect, manifest, {
          manifestPath: 'm.ts', lockTimeoutMs: 25, lockRetries: 50, retryBudgetMs: 30000, lockWaitMs: 60000,
          allowNotValid: false, buildWhileCheckingFromBytes: 0, confirm: async () => true,
          events: {
            stepStarted: (s) => console.log('start ' + s.action + ' ' + s.name),
            stepFinished: (s) => console.log('end ' + s.action + ' ' + s.name),
          },
        });`;
      const file = join(mkdtempSync(join(tmpdir(), 'sd-kill-')), 'apply.mts');
      writeFileSync(file, script);
      const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TARGET_URL: target.url } });
      child.stderr.on('data', (b: Buffer) => process.stderr.write(b));
      let stdout = '';
      let released = false;
      let killing = false;
      // killed once the server runs b's VALIDATE: the line that announces the step is printed before the statement
      // is sent, and on a loaded machine a kill on the line alone could come first, with nothing left running
      const validateOfB = `select count(*)::int as n from pg_stat_activity where application_name = 'schema-diff' and state = 'active' and query like '%VALIDATE CONSTRAINT%ck_b%'`;
      let exited = false;
      child.on('exit', () => (exited = true));
      // kills even when the probe fails; stops asking once the child has exited on its own (the test then fails on
      // its signal), and gives up waiting after 30 s (the test then fails unless the VALIDATE runs by then)
      const killOnceRunning = async () => {
        try {
          for (const until = Date.now() + 30_000; !exited && Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
            if ((await probe.query(validateOfB)).rows[0].n > 0) break;
          }
        } finally {
          if (!exited) child.kill('SIGKILL');
        }
      };
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (b: Buffer) => {
          stdout += b.toString();
          if (!released && stdout.includes('start add_check ck_c')) {
            released = true;
            setTimeout(() => void app.query('commit'), 1_000);
          }
          if (!killing && stdout.includes('start validate_constraint ck_b') && stdout.includes('end validate_constraint ck_c')) {
            killing = true;
            killOnceRunning().catch((e: unknown) => process.stderr.write(`probe failed: ${String(e)}\n`));
          }
        });
        child.on('exit', () => resolve());
      });
      expect({ signal: child.signalCode, stdout }).toMatchObject({ signal: 'SIGKILL' });
      await new Promise((r) => setTimeout(r, 300)); // the session's idle backend sees its client gone
      const { rows: running } = await probe.query(
        `select count(*)::int as n from pg_stat_activity where application_name = 'schema-diff' and state = 'active' and query like '%VALIDATE%'`,
      );
      // the killed apply's VALIDATE still runs on the server ...
      expect(running[0].n).toBe(1);
      // ... so the next apply or rollback must not take the lock yet: whichever connection runs it holds one
      const taken = await target.dialect.lock(500).then(
        async (release) => {
          await release();
          return 'taken';
        },
        (e: unknown) => e as Error & { code?: string },
      );
      expect(typeof taken === 'string' ? taken : `${taken.code}: ${taken.message}`).toMatch(/^refused: (a statement of an earlier schema-diff apply is still running|another schema-diff apply or rollback is running)/);
    } finally {
      await app.query('rollback').catch(() => {});
      await app.end();
      await probe.end();
      // the orphaned VALIDATE ends on its own: wait for it before the database is dropped
      await target.dispose().catch(() => {});
    }
  }, 120_000);
});
