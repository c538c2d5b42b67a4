/**
 * An expression text that PostgreSQL parses back into exactly the canonical
 * form it printed (pull writes a catalog's expressions into a manifest).
 * Most canonical forms do; one common one does not: `v IN ('a', 'b')` on a
 * varchar column prints as `(v)::text = ANY ((ARRAY['a'::character varying,
 * …])::text[])`, and that text, parsed again, has the outer cast pushed into
 * each element (`ARRAY[('a'::character varying)::text, …]`). Casting the
 * ARRAY to its own element type first (`ARRAY[…]::character varying[]`) keeps
 * the outer cast on the array, and the text prints back as it was read.
 */
export function postgresSourceOf(canonical: string): string {
  // matched on a copy whose quoted contents are blanked: text inside a literal or a quoted name is never rewritten
  const masked = maskQuoted(canonical);
  let out = '';
  let last = 0;
  for (const m of masked.matchAll(CAST_ARRAY)) {
    const start = m.index ?? 0;
    const elementsStart = start + '(ARRAY['.length;
    const elements = canonical.slice(elementsStart, elementsStart + m[1].length);
    out += `${canonical.slice(last, start)}(ARRAY[${elements}]::${m[2]}[])::${m[3]}[]`;
    last = start + m[0].length;
  }
  return out + canonical.slice(last);
}

// (ARRAY['…'::type, '…'::type …])::target[], every element a string literal of the same type
const LITERAL = `'(?:[^']|'')*'`;
const TYPE = '[a-z][a-z ]*';
const CAST_ARRAY = new RegExp(`\\(ARRAY\\[(${LITERAL}::(${TYPE})(?:, ${LITERAL}::\\2)*)\\]\\)::(${TYPE})\\[\\]`, 'g');

/** The text with the inside of every '…' literal and "…" name replaced by `_`, same length, delimiters kept. */
function maskQuoted(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    const quote = text[i];
    if (quote !== "'" && quote !== '"') {
      out += quote;
      i++;
      continue;
    }
    let j = i + 1;
    while (j < text.length && !(text[j] === quote && text[j + 1] !== quote)) j += text[j] === quote ? 2 : 1;
    out += quote + '_'.repeat(Math.max(0, Math.min(j, text.length) - i - 1)) + (j < text.length ? quote : '');
    i = j + 1;
  }
  return out;
}
