/** Pure helpers about identifiers, shared by manifest checks and catalog checks. */

/** PostgreSQL truncates identifiers longer than NAMEDATALEN-1 bytes. */
export const MAX_IDENTIFIER_BYTES = 63;

export function identifierTooLong(name: string): boolean {
  // a UTF-16 unit is 1 to 3 bytes of UTF-8 (a pair, 2 units, is 4): most names are decided by their length alone
  if (name.length > MAX_IDENTIFIER_BYTES) return true;
  if (name.length * 3 <= MAX_IDENTIFIER_BYTES) return false;
  return Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

/** The closest candidate, if close enough to be a plausible typo: " (did you mean x?)" or "". */
export function didYouMean(name: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(name.length / 3));
  return best !== undefined && bestDistance <= limit ? ` (did you mean ${best}?)` : '';
}
