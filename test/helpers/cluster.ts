import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * An extra PostgreSQL 15 cluster for fleet tests, made with Debian's
 * pg_createcluster: data directory under a temp dir, its own port, trust
 * auth. `stop` shuts the server down and leaves the cluster (a server that is
 * down, for unreachable targets); `drop` stops it if need be and removes it
 * with its directory. Null (with the reason) where the binaries are missing
 * or it cannot start.
 */
export interface ExtraCluster {
  readonly adminUrl: string;
  readonly port: number;
  stop(): Promise<void>;
  drop(): void;
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export async function startExtraCluster(): Promise<{ cluster: ExtraCluster | null; reason: string }> {
  const name = `sdfleet_${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'sd-cluster-'));
  // the cluster's owner (postgres, when the tests run as root) must reach its data directory
  chmodSync(dir, 0o755);
  const port = await freePort();
  const drop = () => {
    try {
      execFileSync('pg_dropcluster', ['--stop', '15', name], { stdio: 'ignore' });
    } catch {
      // never created, or already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const stop = async () => {
    await execFileAsync('pg_ctlcluster', ['15', name, 'stop', '-m', 'fast'], { timeout: 30_000 });
  };
  try {
    // asynchronous, so that two clusters' initdb run at once
    await execFileAsync('pg_createcluster', ['15', name, '-d', join(dir, 'data'), '-p', String(port), '--start', '-q', '--', '-A', 'trust'], {
      timeout: 60_000,
    });
  } catch (e) {
    drop();
    const err = e as { code?: string; stderr?: string; message: string };
    const reason = err.code === 'ENOENT' ? 'pg_createcluster not found' : (err.stderr?.trim() || err.message).split('\n')[0];
    return { cluster: null, reason: `cannot start an extra PostgreSQL 15 cluster (${reason})` };
  }
  return { cluster: { adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop, drop }, reason: '' };
}

/**
 * The extra clusters of one test file, started together (pg_createcluster is
 * mostly initdb waiting on the disk, so two overlap well even on two cores)
 * and all removed by `dropAll`, which afterAll calls whatever the tests did.
 * All or none: when one cannot start, the others are dropped at once. A
 * cluster that finishes starting after `dropAll` (a beforeAll that timed out)
 * is dropped as soon as it is up, never left running.
 */
export function extraClusters(): {
  start(count: number): Promise<{ clusters: ExtraCluster[] | null; reason: string }>;
  dropAll(): void;
} {
  const live: ExtraCluster[] = [];
  let closed = false;
  const keep = (c: ExtraCluster | null) => {
    if (c && closed) c.drop();
    else if (c) live.push(c);
    return c;
  };
  const dropAll = () => {
    closed = true;
    // each drop on its own: one that throws must not leave the others running
    for (const c of live.splice(0)) {
      try {
        c.drop();
      } catch {
        // drop already swallows pg_dropcluster's errors; rmSync with force only fails on permissions
      }
    }
  };
  return {
    dropAll,
    async start(count) {
      const started = await Promise.all(Array.from({ length: count }, async () => startExtraCluster().then((s) => ({ ...s, cluster: keep(s.cluster) }))));
      const failed = started.find((s) => !s.cluster);
      if (failed || closed) {
        dropAll();
        return { clusters: null, reason: failed?.reason ?? 'the clusters were dropped while starting' };
      }
      return { clusters: started.map((s) => s.cluster as ExtraCluster), reason: '' };
    },
  };
}
