import { messageOf } from '../../errors.js';

/**
 * The first line of a driver error, without better-sqlite3's class name (it
 * shows when the error crosses a VM realm and is no longer `instanceof Error`).
 */
export function sqliteMessage(e: unknown): string {
  return messageOf(e).replace(/^SqliteError: /, '').split('\n')[0];
}
