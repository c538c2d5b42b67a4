import { createInterface } from 'node:readline/promises';
import { SchemaDiffError } from '../errors.js';

/**
 * Asks y/N on a terminal, after showing `preview` (what would change) on
 * stderr. Without a terminal on stdin (the answer is read from stdin) and
 * without --yes there is nobody to ask: refuse rather than change a database
 * unattended by accident.
 */
export async function confirmOnTerminal(question: string, yes: boolean, preview?: () => string): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) {
    throw new SchemaDiffError('refused', 'refusing to change the database without confirmation: stdin is not a terminal; pass --yes');
  }
  if (preview) process.stderr.write(preview() + '\n\n');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
