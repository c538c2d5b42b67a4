import { scrubSecrets } from '../dialect/url.js';
import { EXIT, note } from './context.js';
import { printable } from '../schema/printable.js';

/**
 * Prints an error as one line (details below it, one per line); stack and
 * cause only with --debug. Every line is scrubbed of the passwords of the
 * database URLs the command was given (`secretUrls`) and of any other URL's.
 * Returns the exit status.
 */
export function renderError(e: unknown, debug: boolean, secretUrls: readonly string[] = []): number {
  const scrub = (s: string) => secretUrls.reduce((out, url) => scrubSecrets(out, url), scrubSecrets(s, undefined));
  const err = e as { name?: string; message?: string; details?: readonly string[]; stack?: string; code?: string; cause?: unknown };
  const text = err?.message ?? String(e);
  // yargs puts the substance of a usage error on its second line ("Invalid values:\n  Argument: format, Given: …")
  const message = isUsage(err) ? text.split('\n').map((l) => l.trim()).filter(Boolean).join(' ') : text.split('\n')[0];
  // one line whatever the message holds: a control character from a URL, a manifest or a driver is shown escaped
  note(`error: ${printable(scrub(message))}${isUsage(err) ? ' (see --help)' : ''}`);
  const details = err?.details ?? [];
  if (details.length > 1) for (const d of details) note(`  ${printable(scrub(d))}`);
  if (debug && err?.stack) note(scrub(err.stack));
  if (debug && err?.cause !== undefined) note(scrub(`cause: ${describeCause(err.cause)}`));
  return EXIT.error;
}

function describeCause(cause: unknown): string {
  const c = cause as { stack?: string; message?: string };
  return c?.stack ?? c?.message ?? String(cause);
}

/** Every database URL the command line and DATABASE_URL give, read before yargs, so that even a usage error is scrubbed of them. */
export function databaseUrlsOf(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const urls: string[] = [];
  for (const [i, arg] of argv.entries()) {
    const m = /^(?:--database-url|--databaseUrl|-d)(?:=(.*))?$/s.exec(arg);
    const url = m ? (m[1] ?? argv[i + 1]) : undefined;
    if (url) urls.push(url);
  }
  if (env.DATABASE_URL) urls.push(env.DATABASE_URL);
  return urls;
}

function isUsage(err: { name?: string } | undefined): boolean {
  return err?.name === 'UsageError' || err?.name === 'YError';
}
