import { SchemaDiffError } from '../errors.js';

export type Target =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'pglite'; readonly dataDir: string | null }
  | { readonly kind: 'sqlite'; readonly path: string };

const SUPPORTED = 'expected postgres://, postgresql://, pglite:memory, pglite:<dir>, sqlite:<path>, file:<path> or a .db/.sqlite path';

/**
 * Parses a --database-url. Accepted: postgres:// and postgresql://, pglite:memory
 * or pglite:<dir>, sqlite:///path (SQLAlchemy's form: sqlite:///./dev.db is ./dev.db,
 * sqlite:////abs.db is /abs.db), sqlite:path, file:path, and a bare path ending in
 * .db, .sqlite or .sqlite3. Every message it throws is safe to print.
 */
export function parseDatabaseUrl(raw: string | undefined): Target {
  const url = raw?.trim();
  if (!url) throw new SchemaDiffError('usage', 'no database: pass --database-url or set DATABASE_URL');
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', url: checkedPostgresUrl(url) };
  if (/^pglite:/i.test(url)) return { kind: 'pglite', dataDir: pgliteDir(afterScheme(url)) };
  if (/^sqlite:/i.test(url)) return { kind: 'sqlite', path: sqlitePath(url) };
  if (/^file:/i.test(url)) return { kind: 'sqlite', path: filePath(url) };
  if (/\.(db|sqlite3?)$/i.test(url) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return { kind: 'sqlite', path: url };
  throw new SchemaDiffError('usage', `unsupported database URL ${redactUrl(url)}: ${SUPPORTED}`);
}

function checkedPostgresUrl(url: string): string {
  try {
    new URL(url);
  } catch {
    throw new SchemaDiffError('usage', `malformed database URL: ${redactUrl(url)}`);
  }
  return url;
}

function afterScheme(url: string): string {
  return url.slice(url.indexOf(':') + 1);
}

/** pglite:memory (or pglite:) is in memory; anything else names a data directory. */
function pgliteDir(rest: string): string | null {
  const dir = rest.replace(/^\/\//, '');
  return dir === '' || dir.toLowerCase() === 'memory' ? null : dir;
}

/** SQLAlchemy's sqlite:///relative and sqlite:////absolute, and the plain sqlite:path; query options are dropped. */
function sqlitePath(url: string): string {
  let rest = afterScheme(url).replace(/\?.*$/, '');
  if (rest.startsWith('///')) rest = rest.slice(3);
  else if (rest.startsWith('//')) rest = rest.slice(2);
  if (!rest) throw new SchemaDiffError('usage', `malformed SQLite URL: ${url} (expected sqlite:///path/to/file.db)`);
  return rest;
}

/** file:relative, file:///absolute; percent-escapes decoded as in any file URL. */
function filePath(url: string): string {
  const rest = afterScheme(url).replace(/[?#].*$/, '').replace(/^\/\/(localhost)?(?=\/)/i, '');
  if (!rest) throw new SchemaDiffError('usage', `malformed file URL: ${url} (expected file:path/to/file.db)`);
  return decodeURIComponent(rest);
}

const QUERY_SECRET = /([?&](?:password|pass|pwd|sslpassword)=)([^&#]*)/gi;

/** The URL with its password (user:***@, ?password=***) masked: safe to print. */
export function redactUrl(url: string): string {
  const parts = userinfoParts(url);
  const masked = parts ? `${parts.before}${parts.user}:***${parts.after}` : url;
  return masked.replace(QUERY_SECRET, '$1***');
}

/**
 * Splits scheme://user:password@host… at the password. The userinfo ends at
 * the *last* @ before the query: a password with an unescaped @ or / must not
 * leak its tail.
 */
function userinfoParts(url: string): { before: string; user: string; password: string; after: string } | null {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^?#]*)([\s\S]*)$/i.exec(url);
  if (!m) return null;
  const [, scheme, authorityAndPath, tail] = m;
  const at = authorityAndPath.lastIndexOf('@');
  if (at < 0) return null;
  const userinfo = authorityAndPath.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return null;
  return {
    before: scheme,
    user: userinfo.slice(0, colon),
    password: userinfo.slice(colon + 1),
    after: authorityAndPath.slice(at) + tail,
  };
}

/** The URL's secrets as they may appear in a message: raw and percent-decoded. */
function secretsOf(url: string): string[] {
  const raw = [userinfoParts(url)?.password ?? '', ...[...url.matchAll(QUERY_SECRET)].map((m) => m[2])];
  const all = raw.flatMap((s) => [s, safeDecode(s)]);
  // a secret of one or two characters would mask half of any message; such a password is not worth hiding
  return [...new Set(all)].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Removes every occurrence of the URL's password from a message (driver errors sometimes echo it). */
export function scrubSecrets(message: string, url: string | undefined): string {
  if (!url) return message;
  let out = message.split(url).join(redactUrl(url));
  for (const secret of secretsOf(url)) out = out.split(secret).join('***');
  return out;
}
