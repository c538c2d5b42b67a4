import { EXIT, note } from './context.js';

/** Prints an error as one line (details below it, one per line); stack only with --debug. Returns the exit status. */
export function renderError(e: unknown, debug: boolean): number {
  const err = e as { name?: string; message?: string; details?: readonly string[]; stack?: string; code?: string };
  const text = err?.message ?? String(e);
  // yargs puts the substance of a usage error on its second line ("Invalid values:\n  Argument: format, Given: …")
  const message = isUsage(err) ? text.split('\n').map((l) => l.trim()).filter(Boolean).join(' ') : text.split('\n')[0];
  note(`error: ${scrub(message)}`);
  const details = err?.details ?? [];
  if (details.length > 1) for (const d of details) note(`  ${scrub(d)}`);
  if (isUsage(err)) note('(see --help)');
  if (debug && err?.stack) note(scrub(err.stack));
  return EXIT.error;
}

/** Last line of defence: no URL in any message keeps its password. */
function scrub(s: string): string {
  return s.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@/?#\s]*@/gi, '$1:***@');
}

function isUsage(err: { name?: string } | undefined): boolean {
  return err?.name === 'UsageError' || err?.name === 'YError';
}
