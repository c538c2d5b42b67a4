import { sql } from 'kysely';
import { connectPostgres } from '../../src/dialect/postgres/connect.js';
import { connectionAttempts } from '../../src/dialect/postgres/pg-config.js';
import { SchemaDiffError } from '../../src/errors.js';
import { expectOneLineError, runCli } from '../cli/run-cli.js';
import { ADMIN_URL, createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';

describe('sslmode has libpq meaning (the settings tried, in order)', () => {
  const sslOf = (url: string, env: NodeJS.ProcessEnv = {}) =>
    connectionAttempts(url, {}, env).map((c) => (c.ssl === false ? 'plain' : (c.ssl as { rejectUnauthorized?: boolean; checkServerIdentity?: unknown })));
  const base = 'postgres://app@db.example/x';

  test.each([
    ['', ['tls-unverified', 'plain']], // libpq's default is prefer
    ['?sslmode=disable', ['plain']],
    ['?sslmode=allow', ['plain', 'tls-unverified']],
    ['?sslmode=prefer', ['tls-unverified', 'plain']],
    ['?sslmode=require', ['tls-unverified']],
    ['?sslmode=no-verify', ['tls-unverified']],
    ['?sslmode=verify-ca', ['tls-chain']],
    ['?sslmode=verify-full', ['tls-full']],
    ['?application_name=x&sslmode=require&connect_timeout=3', ['tls-unverified']],
  ])('%s', (query, expected) => {
    const kinds = sslOf(base + query).map((s) =>
      s === 'plain' ? s : s.rejectUnauthorized === false ? 'tls-unverified' : s.checkServerIdentity ? 'tls-chain' : 'tls-full',
    );
    expect(kinds).toEqual(expected);
  });

  test('PGSSLMODE applies when the URL has no sslmode, as with libpq', () => {
    expect(sslOf(base, { PGSSLMODE: 'disable' })).toEqual(['plain']);
    expect(sslOf(`${base}?sslmode=require`, { PGSSLMODE: 'disable' })).toHaveLength(1);
  });

  test('the URL fields reach pg without sslmode; an unknown sslmode is refused', () => {
    const [first] = connectionAttempts('postgresql://app:pw@/mestore?host=/var/run/postgresql&sslmode=disable', { application_name: 'schema-diff' }, {});
    expect(first).toMatchObject({ host: '/var/run/postgresql', user: 'app', password: 'pw', database: 'mestore', application_name: 'schema-diff', ssl: false });
    expect(first).not.toHaveProperty('sslmode');
    expect(() => connectionAttempts(`${base}?sslmode=required`, {}, {})).toThrow(
      new SchemaDiffError('usage', 'sslmode: expected one of disable, allow, prefer, require, verify-ca, verify-full, got "required"'),
    );
  });
});

describeServer('connecting to the local server', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let socketDir: string;
  let sslOn: boolean;
  beforeAll(async () => {
    db = await createTestDatabase('sd_connect');
    const { rows } = await runSql(ADMIN_URL, `select current_setting('unix_socket_directories') as dirs, current_setting('ssl') as ssl`);
    socketDir = String(rows[0].dirs).split(',')[0].trim();
    sslOn = rows[0].ssl === 'on';
  });
  afterAll(async () => db?.drop());

  async function serverAddress(url: string): Promise<string | null> {
    const handles = await connectPostgres(url);
    try {
      const { rows } = await sql<{ addr: string | null }>`select inet_server_addr()::text as addr`.execute(handles.session);
      return rows[0].addr;
    } finally {
      await handles.close();
    }
  }

  test("libpq's Unix-socket URL, postgresql://user@/db?host=<socket dir>: connects over the socket", async () => {
    expect(await serverAddress(`postgresql://postgres@/${db.name}?host=${socketDir}`)).toBeNull();
    // libpq ignores sslmode on a socket (there is no TLS over one)
    expect(await serverAddress(`postgresql://postgres@/${db.name}?host=${socketDir}&sslmode=require`)).toBeNull();
  });

  test('sslmode=prefer and disable connect; no warning on stderr', async () => {
    const tcp = new URL(db.url);
    for (const mode of ['prefer', 'disable', 'allow']) {
      tcp.search = `?sslmode=${mode}`;
      expect(await serverAddress(tcp.toString())).toBe('127.0.0.1/32');
      const result = await runCli(['verify', '-m', 'test/fixtures/manifests/plain.json', '-d', tcp.toString()]);
      // connected: the manifest names a table this empty database does not have
      expectOneLineError(result, /^error: manifest tables\.orders: table public\.orders does not exist$/);
    }
  });

  test('sslmode=require on a server without TLS fails in one line, no driver warning', async () => {
    if (sslOn) return; // the server encrypts: require connects, which the cases above cover
    const tcp = new URL(db.url);
    tcp.search = '?sslmode=require';
    const result = await runCli(['verify', '-m', 'test/fixtures/manifests/plain.json', '-d', tcp.toString()]);
    expectOneLineError(result, /^error: cannot connect to .*sslmode=require: The server does not support SSL connections$/);
  });
});
