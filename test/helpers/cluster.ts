import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A second PostgreSQL 15 cluster for fleet tests, made with Debian's
 * pg_createcluster: data directory under a temp dir, its own port, trust
 * auth, stopped and dropped by `drop`. Null (with the reason) where the
 * binaries are missing or it cannot start.
 */
export interface ExtraCluster {
  readonly adminUrl: string;
  readonly port: number;
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
  try {
    execFileSync('pg_createcluster', ['15', name, '-d', join(dir, 'data'), '-p', String(port), '--start', '-q', '--', '-A', 'trust'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 30_000,
    });
  } catch (e) {
    drop();
    const err = e as { code?: string; stderr?: Buffer; message: string };
    const reason = err.code === 'ENOENT' ? 'pg_createcluster not found' : (err.stderr?.toString().trim() || err.message).split('\n')[0];
    return { cluster: null, reason: `cannot start a second PostgreSQL 15 cluster (${reason})` };
  }
  return { cluster: { adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, port, drop }, reason: '' };
}
