import { describeServer } from '../helpers/postgres.js';
import { runCli, type CliResult } from './run-cli.js';

/**
 * Passwords a user may paste into a URL without percent-encoding them. Each
 * holds the marker: no stdout or stderr of plan or verify may contain it, or
 * any piece of the password around it, whatever way the URL is given and
 * with --debug (stack and cause) too.
 */
const MARK = 'Zq7Xw';
const HOSTILE = [
  `s3cr#t${MARK}`, // # starts a fragment for a URL parser: "malformed", printed whole before
  `s3cr?t${MARK}`, // ? starts the query
  `6543#${MARK}`, // read as a port: the URL parses, with the host and the rest wrong
  `a/b${MARK}@c`, // / ends the authority, @ inside
  `pa ss${MARK}`, // a space
  `p@ss#w?rd/${MARK}`,
];

function expectNothingOf(password: string, result: CliResult): void {
  const printed = result.stdout + result.stderr;
  expect(printed).not.toContain(MARK);
  // the password's pieces between its special characters, where they are long enough to mean something
  for (const piece of password.split(/[#?/@ ]/).filter((p) => p.length >= 4)) expect(printed).not.toContain(piece);
}

describeServer('a password with # ? / @ or a space is never printed (server at 127.0.0.1)', () => {
  const urlOf = (password: string) => `postgres://postgres:${password}@127.0.0.1:5432/sd_no_such_database_x`;
  const manifest = ['-m', 'test/fixtures/manifests/plain.json'];

  test.each(HOSTILE)('%s: --database-url and DATABASE_URL, plan and verify, with and without --debug', async (password) => {
    const url = urlOf(password);
    const results = await Promise.all([
      runCli(['plan', ...manifest, '--database-url', url]),
      runCli(['verify', ...manifest, `--database-url=${url}`, '--debug']),
      runCli(['plan', ...manifest, '--debug'], { DATABASE_URL: url }),
      runCli(['verify', ...manifest, '-d', url, '--debug']),
    ]);
    for (const result of results) {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error: (malformed database URL: |cannot connect to )/);
      expectNothingOf(password, result);
    }
    // without --debug: one line
    expect(results[0].stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  test('a password in ?password= with a # in it', async () => {
    const url = `postgres://postgres@127.0.0.1:5432/sd_no_such_database_x?password=se#cret${MARK}`;
    const result = await runCli(['plan', ...manifest, '--debug'], { DATABASE_URL: url });
    expect(result.code).toBe(1);
    expectNothingOf(`se#cret${MARK}`, result);
  });

  test('a usage error from yargs, with the URL on the command line', async () => {
    const url = urlOf(`s3cr#t${MARK}`);
    const result = await runCli(['plan', '--no-such-flag', '-d', url, '--debug']);
    expect(result.code).toBe(1);
    expectNothingOf(`s3cr#t${MARK}`, result);
  });
});
