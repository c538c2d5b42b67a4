import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { bulkMeStoreSql } from '../helpers/bulk.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { seededFile } from '../sqlite/helpers.js';
import { BIN, expectNoPassword, runCli, withPassword } from './run-cli.js';

/**
 * docs/fleets.md, "Resuming": kill -9 of a fleet apply at a random moment,
 * then the same command again, leaves every target converged, with its rows
 * as they were. Seven server databases with a few thousand rows (so the kill
 * can land inside an index build) and a SQLite file, applied through the real
 * executable. The moment is drawn from a seeded generator; the seed is printed
 * (SD_KILL_SEED=<seed> replays it).
 */
describeServer('fleet apply killed with SIGKILL, then run again', () => {
  const seed = Number(process.env.SD_KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const dir = mkdtempSync(join(tmpdir(), 'sd-fleet-kill-'));
  const file = join(dir, 'fleet.txt');
  const servers: { label: string; url: string; drop: () => Promise<void> }[] = [];
  let sqlite: ReturnType<typeof seededFile>;

  beforeAll(async () => {
    console.log(`fleet kill -9 test: seed ${seed} (SD_KILL_SEED=${seed} replays it)`);
    const schema = baselineSchema('postgres');
    await Promise.all(
      Array.from({ length: 7 }, async (_, i) => {
        const db = await createTestDatabase('sd_fkill');
        await runSql(db.url, schema + bulkMeStoreSql(400 + 100 * i));
        servers.push({ label: `pg${i + 1}`, url: db.url, drop: db.drop });
      }),
    );
    servers.sort((a, b) => a.label.localeCompare(b.label));
    sqlite = seededFile(baselineSchema('sqlite') + demoRows());
    const lines = [...servers.map((s) => `${s.label} ${withPassword(s.url)}`), `lite sqlite:///${sqlite.path}`];
    writeFileSync(file, lines.join('\n') + '\n');
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.drop().catch(() => {})));
    sqlite?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every target converges on the re-run, its rows intact', async () => {
    const before = await fingerprints();
    // the moment: after a random number of targets finished (0 to 5 of 8), then a random pause (before the first
    // finishes: from start-up to inside the canary; after: within the targets in flight), so kills land anywhere
    const random = mulberry32(seed);
    const finished = Math.floor(random() * 6);
    const moment = { finished, ms: finished === 0 ? 500 + Math.floor(random() * 3000) : Math.floor(random() * 300) };
    const killed = await killAt(['--manifest', 'manifest/index.ts', 'apply', '--targets', file, '--yes', '--parallel', '2'], moment);
    const done = killed.stderr.split('\n').filter((l) => /^\[\d+\/\d+\]/.test(l)).length;
    console.log(
      `fleet kill -9 test: SIGKILL ${moment.ms} ms after ${moment.finished} target(s) finished: ${killed.exited ? `the apply had already exited with ${killed.code}` : `killed with ${done} finished`}`,
    );

    const again = await runCli(['--manifest', 'manifest/index.ts', 'apply', '--targets', file, '--yes', '--lock-wait', '30s', '--format', 'json']);
    expectNoPassword(again);
    const outcomes = (JSON.parse(again.stdout) as { targets: { target: string; status: string; error?: string }[] }).targets;
    expect(outcomes.map((t) => [t.target, t.status, t.error ?? ''])).toEqual([...servers.map((s) => s.label), 'lite'].map((l) => [l, 'ok', '']));
    expect(again.code).toBe(0);

    const plan = await runCli(['--manifest', 'manifest/index.ts', 'plan', '--targets', file, '--format', 'json']);
    const planned = (JSON.parse(plan.stdout) as { targets: { target: string; status: string; steps: number }[] }).targets;
    expect(planned.filter((t) => t.status !== 'ok' || t.steps !== 0)).toEqual([]);
    expect(plan.code).toBe(0);

    expect(await fingerprints()).toEqual(before);
  }, 90_000);

  /** Each target's tables: row count and a digest of every row, in a fixed order. */
  async function fingerprints(): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const s of servers) {
      const { rows } = await runSql(
        s.url,
        `select format('select %L as t, count(*)::text as n, md5(coalesce(string_agg(r::text, ''|'' order by r::text), '''')) as h from %I.%I r', c.relname, n.nspname, c.relname) as q
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind = 'r' order by c.relname`,
      );
      const digest = await runSql(s.url, (rows as { q: string }[]).map((r) => r.q).join(' union all '));
      out[s.label] = Object.fromEntries((digest.rows as { t: string; n: string; h: string }[]).map((r) => [r.t, `${r.n}:${r.h}`]));
    }
    const db = new Database(sqlite.path, { readonly: true });
    try {
      const tables = db.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\' and name not like 'schema\\_diff%' escape '\\' order by name`).pluck().all() as string[];
      out.lite = Object.fromEntries(
        tables.map((t) => {
          const rows = (db.prepare(`select * from "${t.replace(/"/g, '""')}"`).all() as unknown[]).map((r) => JSON.stringify(r)).sort();
          return [t, `${rows.length}:${createHash('sha256').update(rows.join('|')).digest('hex')}`];
        }),
      );
    } finally {
      db.close();
    }
    return out;
  }
});

/** Starts the executable and SIGKILLs it `moment.ms` after its `moment.finished`th target finished (unless it ended first). */
function killAt(args: string[], moment: { finished: number; ms: number }): Promise<{ exited: boolean; code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, DATABASE_URL: undefined, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      const finished = stderr.split('\n').filter((l) => /^\[\d+\/\d+\]/.test(l)).length;
      if (!timer && finished >= moment.finished) timer = setTimeout(() => child.kill('SIGKILL'), moment.ms);
    };
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      arm();
    });
    child.on('error', fail);
    arm();
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ exited: signal !== 'SIGKILL', code, stderr });
    });
  });
}

/** A small seeded generator (mulberry32): the same seed, the same kill moment. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
