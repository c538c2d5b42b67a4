import { runCli } from './run-cli.js';

const COMMANDS = ['plan', 'apply', 'verify', 'validate', 'rollback', 'history', 'show', 'pull', 'codegen', 'docs', 'demo'];
/** Commands that read only the manifest or a plan file, or only their own embedded database. */
const NO_DATABASE = ['show', 'codegen', 'docs', 'demo'];

describe('schema-diff --help', () => {
  test('lists every command and the exit codes', async () => {
    await runCli(['--help']); // warm the file cache: the first spawn after a build reads everything from disk
    const result = await runCli(['--help']);
    console.log(`schema-diff --help took ${result.ms} ms (target: under 500 ms; measured, not asserted)`);
    expect(result.code).toBe(0);
    for (const command of COMMANDS) expect(result.stdout).toContain(`schema-diff ${command}`);
    expect(result.stdout).toMatch(/Exit codes: 0 .*, 1 error, 2 /);
    expect(result.stderr).toBe('');
  });

  test.each(COMMANDS)('%s --help works and names its options', async (command) => {
    const result = await runCli([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`schema-diff ${command}`);
    expect(result.stdout).toContain('--help');
    if (!NO_DATABASE.includes(command)) expect(result.stdout).toContain('--database-url');
    expect(result.stderr).toBe('');
  });

  test('--version prints the version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('usage errors exit 1 with an error line', () => {
  test('an unknown command', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: .*frobnicate/);
  });

  test('no command at all', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: name a command/);
  });

  test('an unknown flag', async () => {
    const result = await runCli(['plan', '--formt', 'json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*formt/);
  });

  test('a flag value outside its choices', async () => {
    const result = await runCli(['plan', '--format', 'yaml', '--database-url', 'pglite:memory']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*yaml/);
  });
});
