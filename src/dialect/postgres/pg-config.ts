import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import { parse } from 'pg-connection-string';
import { SchemaDiffError } from '../../errors.js';

/** libpq's sslmode values (https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-PROTECTION). */
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
type SslMode = (typeof SSL_MODES)[number];

/**
 * The connection settings to try, in order, for a postgres:// URL, with
 * sslmode given libpq's meaning rather than node-postgres' (which reads
 * prefer, require and verify-ca as verify-full and prints a multi-line
 * deprecation warning): disable is plain; allow tries plain then TLS; prefer
 * (libpq's default, also ours) tries TLS then plain; require encrypts without
 * verifying the certificate (unless sslrootcert is given: then as verify-ca);
 * verify-ca checks the chain; verify-full the chain and the host name.
 * PGSSLMODE applies when the URL has no sslmode, as with libpq; on a Unix
 * socket there is no TLS, whatever the mode.
 */
export function connectionAttempts(url: string, base: pg.PoolConfig, env: NodeJS.ProcessEnv = process.env): pg.PoolConfig[] {
  const mode = sslModeOf(url, env);
  // Without sslmode (and uselibpqcompat) in it, pg-connection-string warns about nothing and decides no TLS itself.
  const parsed = parse(withoutParams(url, ['sslmode', 'uselibpqcompat']));
  const { ssl: files, port, ...fields } = parsed as typeof parsed & { ssl?: unknown };
  const config: pg.PoolConfig = { ...base, ...definedOnly(fields), ...(port ? { port: Number(port) } : {}) };
  const certs: ConnectionOptions = typeof files === 'object' && files !== null ? (files as ConnectionOptions) : {};
  const hasRootCert = certs.ca !== undefined;
  const unverified: ConnectionOptions = { ...certs, rejectUnauthorized: false };
  const chainOnly: ConnectionOptions = { ...certs, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  const full: ConnectionOptions = { ...certs, rejectUnauthorized: true };
  // libpq ignores sslmode on a Unix socket: there is no TLS over one
  if (typeof config.host === 'string' && config.host.startsWith('/')) return [{ ...config, ssl: false }];
  switch (mode) {
    case 'disable':
      return [{ ...config, ssl: false }];
    case 'allow':
      return [{ ...config, ssl: false }, { ...config, ssl: unverified }];
    case 'prefer':
      return [{ ...config, ssl: unverified }, { ...config, ssl: false }];
    case 'require':
      return [{ ...config, ssl: hasRootCert ? chainOnly : unverified }];
    case 'verify-ca':
      return [{ ...config, ssl: chainOnly }];
    case 'verify-full':
      return [{ ...config, ssl: full }];
  }
}

function sslModeOf(url: string, env: NodeJS.ProcessEnv): SslMode {
  const given = paramOf(url, 'sslmode') ?? env.PGSSLMODE ?? 'prefer';
  // node-postgres' own spelling of require
  const mode = given === 'no-verify' ? 'require' : given;
  if ((SSL_MODES as readonly string[]).includes(mode)) return mode as SslMode;
  throw new SchemaDiffError('usage', `sslmode: expected one of ${SSL_MODES.join(', ')}, got "${given}"`);
}

function queryOf(url: string): { head: string; params: string[] } {
  const q = url.indexOf('?');
  if (q < 0) return { head: url, params: [] };
  return { head: url.slice(0, q), params: url.slice(q + 1).split('&').filter(Boolean) };
}

function paramOf(url: string, name: string): string | undefined {
  const hit = queryOf(url).params.find((p) => p.split('=')[0].toLowerCase() === name);
  return hit === undefined ? undefined : decodeURIComponent(hit.slice(hit.indexOf('=') + 1));
}

function withoutParams(url: string, names: readonly string[]): string {
  const { head, params } = queryOf(url);
  const kept = params.filter((p) => !names.includes(p.split('=')[0].toLowerCase()));
  return kept.length ? `${head}?${kept.join('&')}` : head;
}

function definedOnly(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null && v !== ''));
}
