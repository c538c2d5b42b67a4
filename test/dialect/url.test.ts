import { parseDatabaseUrl, redactUrl, scrubSecrets } from '../../src/dialect/url.js';
import { SchemaDiffError } from '../../src/errors.js';

describe('parseDatabaseUrl', () => {
  test.each([
    ['postgres://user:secret@db.example:5432/mestore', { kind: 'postgres', url: 'postgres://user:secret@db.example:5432/mestore' }],
    ['postgresql://user@localhost/mestore_dev', { kind: 'postgres', url: 'postgresql://user@localhost/mestore_dev' }],
    ['POSTGRES://localhost/x', { kind: 'postgres', url: 'POSTGRES://localhost/x' }],
    ['  postgres://localhost/x  ', { kind: 'postgres', url: 'postgres://localhost/x' }],
    ['postgres:///mestore', { kind: 'postgres', url: 'postgres:///mestore' }],
    ['pglite:memory', { kind: 'pglite', dataDir: null }],
    ['pglite:', { kind: 'pglite', dataDir: null }],
    ['pglite://memory', { kind: 'pglite', dataDir: null }],
    ['pglite:./.pgdata', { kind: 'pglite', dataDir: './.pgdata' }],
    ['pglite:/var/lib/pglite', { kind: 'pglite', dataDir: '/var/lib/pglite' }],
    ['sqlite:///./dev.db', { kind: 'sqlite', path: './dev.db' }],
    ['sqlite:///dev_test.db', { kind: 'sqlite', path: 'dev_test.db' }],
    ['sqlite:////srv/data/mestore.db', { kind: 'sqlite', path: '/srv/data/mestore.db' }],
    ['sqlite:dev.db', { kind: 'sqlite', path: 'dev.db' }],
    ['sqlite:./data/dev.db', { kind: 'sqlite', path: './data/dev.db' }],
    ['sqlite:///./dev.db?mode=ro', { kind: 'sqlite', path: './dev.db' }],
    ['sqlite::memory:', { kind: 'sqlite', path: ':memory:' }],
    ['file:dev.db', { kind: 'sqlite', path: 'dev.db' }],
    ['file:./data/dev.db', { kind: 'sqlite', path: './data/dev.db' }],
    ['file:///srv/data/mestore.db', { kind: 'sqlite', path: '/srv/data/mestore.db' }],
    ['file://localhost/srv/data/mestore.db', { kind: 'sqlite', path: '/srv/data/mestore.db' }],
    ['file:///srv/my%20data/mestore.db?mode=ro', { kind: 'sqlite', path: '/srv/my data/mestore.db' }],
    ['./dev.db', { kind: 'sqlite', path: './dev.db' }],
    ['mestore.sqlite', { kind: 'sqlite', path: 'mestore.sqlite' }],
    ['/srv/data/mestore.sqlite3', { kind: 'sqlite', path: '/srv/data/mestore.sqlite3' }],
  ])('%s', (url, expected) => {
    expect(parseDatabaseUrl(url)).toEqual(expected);
  });

  function usageError(url: string | undefined): string {
    try {
      parseDatabaseUrl(url);
    } catch (e) {
      expect(e).toBeInstanceOf(SchemaDiffError);
      expect((e as SchemaDiffError).code).toBe('usage');
      return (e as SchemaDiffError).message;
    }
    throw new Error(`accepted ${url}`);
  }

  test('no URL at all names both ways to give one', () => {
    expect(usageError(undefined)).toBe('no database: pass --database-url or set DATABASE_URL');
    expect(usageError('   ')).toBe('no database: pass --database-url or set DATABASE_URL');
  });

  test('an unsupported scheme is refused, listing the supported ones, without the password', () => {
    const message = usageError('mysql://root:hunter22@db/mestore');
    expect(message).toMatch(/^unsupported database URL mysql:\/\/root:\*\*\*@db\/mestore: expected postgres:\/\//);
    expect(message).not.toContain('hunter22');
  });

  test('a bare path that is not a database file is refused', () => {
    expect(usageError('mestore')).toMatch(/^unsupported database URL mestore/);
    expect(usageError('https://example.com/x.db')).toMatch(/^unsupported database URL/);
  });

  test('a malformed PostgreSQL URL is refused without the password', () => {
    const message = usageError('postgres://user:hunter22@[bad/mestore');
    expect(message).toBe('malformed database URL: postgres://user:***@[bad/mestore');
  });

  test('an empty SQLite URL is refused', () => {
    expect(usageError('sqlite:///')).toMatch(/^malformed SQLite URL/);
    expect(usageError('file:')).toMatch(/^malformed file URL/);
  });
});

describe('redactUrl', () => {
  test.each([
    ['postgres://user:secret@host:5432/db', 'postgres://user:***@host:5432/db'],
    ['postgresql://admin_user:p%40ss%2Fw0rd@prod/mestore', 'postgresql://admin_user:***@prod/mestore'],
    // unescaped @ and / in a password: nothing of it may remain
    ['postgres://user:p@ss/w@rd@host/db', 'postgres://user:***@host/db'],
    ['postgres://:secret@host/db', 'postgres://:***@host/db'],
    ['postgres://user@host/db', 'postgres://user@host/db'],
    ['postgres://host/db', 'postgres://host/db'],
    ['postgres://host/db?sslmode=require&password=secret', 'postgres://host/db?sslmode=require&password=***'],
    ['postgres://host/db?password=secret&application_name=x', 'postgres://host/db?password=***&application_name=x'],
    ['postgres://u:one@host/db?PASSWORD=two&sslpassword=three', 'postgres://u:***@host/db?PASSWORD=***&sslpassword=***'],
    ['pglite:memory', 'pglite:memory'],
    ['sqlite:///./dev.db', 'sqlite:///./dev.db'],
  ])('%s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});

describe('scrubSecrets', () => {
  test('removes the URL and its password, raw and percent-decoded, from a driver message', () => {
    const url = 'postgres://user:s3cr%40t!@host/db?password=other-secret';
    const message = `failed for postgres://user:s3cr%40t!@host/db?password=other-secret: password "s3cr@t!" and other-secret rejected`;
    const scrubbed = scrubSecrets(message, url);
    expect(scrubbed).not.toMatch(/s3cr|other-secret/);
    expect(scrubbed).toContain('postgres://user:***@host/db?password=***');
  });

  test('leaves a message alone when there is no URL or no password', () => {
    expect(scrubSecrets('connection refused', undefined)).toBe('connection refused');
    expect(scrubSecrets('database "x" does not exist', 'postgres://host/x')).toBe('database "x" does not exist');
  });
});
