import { parseDatabaseUrl, redactUrl, scrubSecrets } from '../../src/dialect/url.js';
import { SchemaDiffError } from '../../src/errors.js';

describe('parseDatabaseUrl', () => {
  test.each([
    ['postgres://user:secret@db.example:5432/mestore', { kind: 'postgres', url: 'postgres://user:secret@db.example:5432/mestore' }],
    ['postgresql://user@localhost/mestore_dev', { kind: 'postgres', url: 'postgresql://user@localhost/mestore_dev' }],
    ['POSTGRES://localhost/x', { kind: 'postgres', url: 'POSTGRES://localhost/x' }],
    ['  postgres://localhost/x  ', { kind: 'postgres', url: 'postgres://localhost/x' }],
    ['postgres:///mestore', { kind: 'postgres', url: 'postgres:///mestore' }],
    ['pglite:memory', { kind: 'pglite', dataDir: null, create: false }],
    ['pglite:', { kind: 'pglite', dataDir: null, create: false }],
    ['pglite://memory', { kind: 'pglite', dataDir: null, create: false }],
    ['pglite:./.pgdata', { kind: 'pglite', dataDir: './.pgdata', create: false }],
    ['pglite:/var/lib/pglite', { kind: 'pglite', dataDir: '/var/lib/pglite', create: false }],
    ['pglite:./new-dir?create=true', { kind: 'pglite', dataDir: './new-dir', create: true }],
    ['pglite:./dir?create=false', { kind: 'pglite', dataDir: './dir', create: false }],
    // libpq's Unix-socket forms: an empty host and the socket directory in ?host=
    ['postgresql://app@/mestore?host=/var/run/postgresql', { kind: 'postgres', url: 'postgresql://app@/mestore?host=/var/run/postgresql' }],
    ['postgresql://app:pw@/mestore?host=/var/run/postgresql', { kind: 'postgres', url: 'postgresql://app:pw@/mestore?host=/var/run/postgresql' }],
    // an unescaped @ in a password is read as meant by every parser
    ['postgres://app:p@ss@db/x', { kind: 'postgres', url: 'postgres://app:p@ss@db/x' }],
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
    expect(usageError(undefined)).toBe('no database: pass --database-url, set DATABASE_URL, or set databaseUrl in schema-diff.config.ts');
    expect(usageError('   ')).toBe('no database: pass --database-url, set DATABASE_URL, or set databaseUrl in schema-diff.config.ts');
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
    expect(message).toMatch(/^malformed database URL: postgres:\/\/user:\*\*\*@\[bad\/mestore \(percent-encode/);
  });

  test.each([
    ['postgres://app:s3cr#tPW@db.example/x', 'postgres://app:***@db.example/x', ['s3cr', 'tPW']],
    ['postgres://app:s3cr?tPW@db.example/x', 'postgres://app:***@db.example/x', ['s3cr', 'tPW']],
    // WHATWG would read host "app", port 5432, and a fragment: a piece of the password would become the host
    ['postgres://app:5432#tPW@127.0.0.1/x', 'postgres://app:***@127.0.0.1/x', ['5432', 'tPW']],
    ['postgres://app:p@ss/w@rd@db/x', 'postgres://app:***@db/x', ['ss/w', 'rd@db/x?']],
  ])('a password with an unescaped # ? or / is refused, none of it printed: %s', (url, shown, pieces) => {
    const message = usageError(url);
    expect(message).toBe(`malformed database URL: ${shown} (percent-encode @ : / ? # and spaces in the user name and password, @ in query values)`);
    for (const piece of pieces) expect(message.replace(shown, '')).not.toContain(piece);
  });

  test('pglite: options other than create are refused', () => {
    expect(usageError('pglite:./dir?mode=ro')).toBe('pglite: unknown option mode (the only one is ?create=true)');
    expect(usageError('pglite:./dir?create=yes')).toBe('pglite: ?create= expects true or false, got "yes"');
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
    // everything between scheme://user: and the last @ is the password, whatever it holds
    ['postgres://app:s3cr#tPW@db.example/x', 'postgres://app:***@db.example/x'],
    ['postgres://app:s3cr?tPW@db.example/x', 'postgres://app:***@db.example/x'],
    ['postgres://app:a#b?c/d@e@db.example:5432/x?sslmode=require', 'postgres://app:***@db.example:5432/x?sslmode=require'],
    ['postgres://app:pa ss@db/x', 'postgres://app:***@db/x'],
    ['postgresql://app:pw@/mestore?host=/var/run/postgresql', 'postgresql://app:***@/mestore?host=/var/run/postgresql'],
    ['postgres://host/db?password=se#cret&x=1', 'postgres://host/db?password=***&x=1'],
    // no password, an @ in the query: masked too much rather than too little
    ['postgres://host:5432/db?application_name=a@b', 'postgres://host:***@b'],
    // scheme: with one slash, or none: the same rule, from the : after the user to the last @
    ['postgres:/postgres:TopSecretB@host/db', 'postgres:/postgres:***@host/db'],
    ['postgres:postgres:TopSecretB@host/db', 'postgres:postgres:***@host/db'],
    ['mysql:/root:Top#Secret@host/db', 'mysql:/root:***@host/db'],
    ['sqlite::memory:', 'sqlite::memory:'],
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

  test('masks a password with # ? / @ in a URL quoted inside a message, known or not', () => {
    const url = 'postgres://app:s3cr#t?PW/x@db.example/x';
    const message = `could not use ${url}: failed`;
    expect(scrubSecrets(message, url)).toBe('could not use postgres://app:***@db.example/x: failed');
    expect(scrubSecrets(message, undefined)).toBe('could not use postgres://app:***@db.example/x: failed');
    expect(scrubSecrets(`echo s3cr#t?PW/x`, url)).toBe('echo ***');
  });

  test('leaves a message alone when there is no URL or no password', () => {
    expect(scrubSecrets('connection refused', undefined)).toBe('connection refused');
    expect(scrubSecrets('database "x" does not exist', 'postgres://host/x')).toBe('database "x" does not exist');
  });
});

test('a URL with one slash (or none) is refused without its password, and scrubbed from any message', () => {
  for (const url of ['postgres:/postgres:TopSecretB@host/db', 'postgres:postgres:TopSecretB@host/db']) {
    expect(() => parseDatabaseUrl(url)).toThrow(/^unsupported database URL postgres:\/?postgres:\*\*\*@host\/db: /);
    expect(scrubSecrets(`could not reach ${url} (timeout)`, undefined)).not.toContain('TopSecretB');
  }
});
