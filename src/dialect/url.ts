import { SchemaDiffError } from '../errors.js';

export type Target =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'pglite'; readonly dataDir: string | null }
  | { readonly kind: 'sqlite'; readonly path: string };

/**
 * Parses a --database-url. Accepted: postgres:// and postgresql://, pglite:memory
 * or pglite:<dir>, sqlite:///path (SQLAlchemy's form: sqlite:///./dev.db is ./dev.db),
 * sqlite:path, file:path, and a bare path ending in .db, .sqlite or .sqlite3.
 */
export function parseDatabaseUrl(raw: string | undefined): Target {
  if (!raw || !raw.trim()) {
    throw new SchemaDiffError('usage', 'no database: pass --database-url or set DATABASE_URL');
  }
  const url = raw.trim();
  if (/^postgres(ql)?:\/\//i.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new SchemaDiffError('usage', `malformed database URL: ${redactUrl(url)}`);
    }
    return { kind: 'postgres', url };
  }
  if (/^pglite:/i.test(url)) {
    const rest = url.slice('pglite:'.length).replace(/^\/\//, '');
    return { kind: 'pglite', dataDir: rest === '' || rest === 'memory' ? null : rest };
  }
  if (/^sqlite:/i.test(url)) {
    let rest = url.slice('sqlite:'.length);
    if (rest.startsWith('///')) rest = rest.slice(3);
    else if (rest.startsWith('//')) rest = rest.slice(2);
    if (!rest) throw new SchemaDiffError('usage', `malformed SQLite URL: ${url} (expected sqlite:///path/to/file.db)`);
    return { kind: 'sqlite', path: rest };
  }
  if (/^file:/i.test(url)) {
    const rest = url.slice('file:'.length).replace(/^\/\//, '');
    return { kind: 'sqlite', path: decodeURIComponent(rest.split('?')[0]) };
  }
  if (/\.(db|sqlite3?)$/i.test(url) && !url.includes('://')) return { kind: 'sqlite', path: url };
  throw new SchemaDiffError(
    'usage',
    `unsupported database URL ${redactUrl(url)}: expected postgres://, postgresql://, pglite:, sqlite: or file:`,
  );
}

/** The URL with any password replaced: safe to print. */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@')
    .replace(/([?&](password|pass|pwd)=)[^&]*/gi, '$1***');
}

/** Removes every occurrence of the URL's password from a message (driver errors sometimes echo it). */
export function scrubSecrets(message: string, url: string | undefined): string {
  if (!url) return message;
  let out = message.split(url).join(redactUrl(url));
  try {
    const u = new URL(url);
    if (u.password) {
      out = out.split(u.password).join('***');
      const decoded = decodeURIComponent(u.password);
      if (decoded !== u.password) out = out.split(decoded).join('***');
    }
  } catch {
    // not a URL with a password
  }
  return out;
}
