import { createInterface } from 'node:readline/promises';
import { SchemaDiffError } from '../errors.js';

/**
 * Asks y/N on a terminal. Without a terminal and without --yes there is nobody
 * to ask: refuse rather than change a database unattended by accident.
 */
export async function confirmOnTerminal(question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new SchemaDiffError('refused', 'refusing to change the database without confirmation: stdin is not a terminal; pass --yes');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
