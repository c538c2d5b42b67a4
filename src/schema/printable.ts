/**
 * A value from the database or the manifest (a row's key, a driver message, a
 * name) made safe to put on one line of a report or an SQL comment: a newline
 * would end the comment and make the rest a live statement, an ANSI escape
 * would repaint the reader's terminal, a bidi override would make the text
 * read otherwise than it runs. Each such character becomes a visible escape
 * (\n, \x1b, \u2028).
 */
export function printable(value: string): string {
  return value.replace(UNPRINTABLE, escapeOne);
}

/**
 * The first character of `value` that `printable` would escape, other than
 * those in `allowed`, written as its escape; or null. Names and SQL fragments
 * of a manifest are refused when they hold one (SQL may keep `\n` and `\t`).
 */
export function unprintableIn(value: string, allowed = ''): string | null {
  // nearly every value holds none: one test, without matchAll's iterator and match objects
  if (!HAS_UNPRINTABLE.test(value)) return null;
  for (const m of value.matchAll(UNPRINTABLE)) {
    if (!allowed.includes(m[0])) return escapeOne(m[0]);
  }
  return null;
}

// C0 controls and DEL, C1 controls, line/paragraph separators, bidi embeddings, overrides and isolates.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const HAS_UNPRINTABLE = new RegExp(UNPRINTABLE.source);

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(ch: string): string {
  const code = ch.charCodeAt(0);
  return NAMED[ch] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}
