import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * Runs the real executable (bin/schema-diff, over dist/ that `npm test`
 * builds first) as a user would: no terminal on stdin, stdout and stderr kept
 * apart, the environment's DATABASE_URL removed unless a test sets one.
 */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock time of the whole process, in ms. */
  readonly ms: number;
}

export const BIN = resolve('bin/schema-diff');

/** A password put into every URL the CLI tests pass: it must never be printed. */
export const PASSWORD = 'Hunter2-Sekrit';

export function runCli(args: readonly string[], env: Record<string, string | undefined> = {}, cwd?: string): Promise<CliResult> {
  const started = performance.now();
  const childEnv: Record<string, string | undefined> = { ...process.env, DATABASE_URL: undefined, NO_COLOR: '1', ...env };
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr, ms: Math.round(performance.now() - started) }));
  });
}

/** The URL with PASSWORD set (the test server trusts local connections, so it is accepted and ignored). */
export function withPassword(url: string): string {
  const u = new URL(url);
  u.password = PASSWORD;
  return u.toString();
}

/** An error exit as the CLI promises it: status 1, one `error: ...` line on stderr, nothing on stdout, no password. */
export function expectOneLineError(result: CliResult, pattern: RegExp): void {
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: '' });
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expectNoPassword(result);
}

export function expectNoPassword(result: CliResult): void {
  expect(result.stdout).not.toContain(PASSWORD);
  expect(result.stderr).not.toContain(PASSWORD);
}
