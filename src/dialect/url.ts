import { SchemaDiffError } from '../errors.js';

export type Target =
  | { readonly kind: 'postgres'; readonly url: string }
  /** create: pglite:<dir>?create=true may create a missing data directory (otherwise a mistyped path is refused). */
  | { readonly kind: 'pglite'; readonly dataDir: string | null; readonly create: boolean }
  /** defensive: sqlite:…?defensive=on keeps the connection in defensive mode (no sqlite_schema edits: rebuilds only). */
  | { readonly kind: 'sqlite'; readonly path: string; readonly defensive?: true };

const SUPPORTED = 'expected postgres://, postgresql://, pglite:memory, pglite:<dir>, sqlite:<path>, file:<path> or a .db/.sqlite path';

/**
 * Parses a --database-url. Accepted: postgres:// and postgresql://, pglite:memory
 * or pglite:<dir>, sqlite:///path (SQLAlchemy's form: sqlite:///./dev.db is ./dev.db,
 * sqlite:////abs.db is /abs.db), sqlite:path, file:path, and a bare path ending in
 * .db, .sqlite or .sqlite3. Every message it throws is safe to print.
 */
export function parseDatabaseUrl(raw: string | undefined): Target {
  const url = raw?.trim();
  if (!url) throw new SchemaDiffError('usage', 'no database: pass --database-url, set DATABASE_URL, or set databaseUrl in schema-diff.config.ts');
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', url: checkedPostgresUrl(url) };
  if (/^pglite:/i.test(url)) return pgliteTarget(afterScheme(url));
  if (/^sqlite:/i.test(url)) return { kind: 'sqlite', path: sqlitePath(url), ...(sqliteDefensive(url) ? { defensive: true as const } : {}) };
  if (/^file:/i.test(url)) return { kind: 'sqlite', path: filePath(url) };
  if (/\.(db|sqlite3?)$/i.test(url) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return { kind: 'sqlite', path: url };
  throw new SchemaDiffError('usage', `unsupported database URL ${redactUrl(url)}: ${SUPPORTED}`);
}

/**
 * Refuses what neither the WHATWG parser nor pg's would read as meant. libpq's
 * Unix-socket form `postgresql://user@/db?host=/var/run/postgresql` has an
 * empty host, which WHATWG refuses and pg-connection-string reads with a dummy
 * host: it is checked the same way.
 */
function checkedPostgresUrl(url: string): string {
  const parsed = parsedUrl(url) ?? parsedUrl(url.replace(/@(?=[/?]|$)/, '@localhost'));
  const password = userinfoParts(url)?.password;
  // A password with an unescaped # ? or / ends the userinfo early for every URL parser: the driver would take
  // a piece of the password for the host (and print it in its error). Refused before anything reads it that way.
  const misread = parsed && password !== undefined && safeDecode(parsed.password) !== safeDecode(password);
  if (!parsed || misread) {
    throw new SchemaDiffError(
      'usage',
      `malformed database URL: ${redactUrl(url)} (percent-encode @ : / ? # and spaces in the user name and password, @ in query values)`,
    );
  }
  return url;
}

function parsedUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

function afterScheme(url: string): string {
  return url.slice(url.indexOf(':') + 1);
}

/**
 * pglite:memory (or pglite:) is in memory; anything else names a data
 * directory, which must exist unless the URL ends in ?create=true (PGlite
 * would silently create a mistyped one and report it empty).
 */
function pgliteTarget(rest: string): Target {
  const query = /\?([^#]*)$/.exec(rest);
  const params = new URLSearchParams(query?.[1] ?? '');
  const unknown = [...params.keys()].filter((k) => k !== 'create');
  if (unknown.length > 0) throw new SchemaDiffError('usage', `pglite: unknown option ${unknown[0]} (the only one is ?create=true)`);
  const createValue = params.get('create');
  if (createValue !== null && !/^(true|false|1|0)$/i.test(createValue)) {
    throw new SchemaDiffError('usage', `pglite: ?create= expects true or false, got "${createValue}"`);
  }
  const dir = (query ? rest.slice(0, query.index) : rest).replace(/^\/\//, '');
  const create = createValue !== null && /^(true|1)$/i.test(createValue);
  return { kind: 'pglite', dataDir: dir === '' || dir.toLowerCase() === 'memory' ? null : dir, create };
}

/** SQLAlchemy's sqlite:///relative and sqlite:////absolute, and the plain sqlite:path; query options are not part of the path. */
function sqlitePath(url: string): string {
  let rest = afterScheme(url).replace(/\?.*$/, '');
  if (rest.startsWith('///')) rest = rest.slice(3);
  else if (rest.startsWith('//')) rest = rest.slice(2);
  if (!rest) throw new SchemaDiffError('usage', `malformed SQLite URL: ${url} (expected sqlite:///path/to/file.db)`);
  return rest;
}

/** sqlite:…?defensive=on (or true, 1): the only query option an SQLite URL reads. */
function sqliteDefensive(url: string): boolean {
  const query = /\?(.*)$/.exec(url)?.[1] ?? '';
  return query.split('&').some((p) => /^defensive=(on|true|1)$/i.test(p));
}

/** file:relative, file:///absolute; percent-escapes decoded as in any file URL. */
function filePath(url: string): string {
  const rest = afterScheme(url).replace(/[?#].*$/, '').replace(/^\/\/(localhost)?(?=\/)/i, '');
  if (!rest) throw new SchemaDiffError('usage', `malformed file URL: ${url} (expected file:path/to/file.db)`);
  return decodeURIComponent(rest);
}

// A query secret runs to the next & (a # in it is part of the password the user meant, not a fragment).
const QUERY_SECRET = /([?&](?:password|pass|pwd|sslpassword)=)([^&\s]*)/gi;

/** The URL with its password (user:***@, ?password=***) masked: safe to print. */
export function redactUrl(url: string): string {
  const parts = userinfoParts(url);
  const masked = parts ? `${parts.before}${parts.user}:***${parts.after}` : url;
  return masked.replace(QUERY_SECRET, '$1***');
}

/**
 * Splits scheme://user:password@host… (or scheme:user:…, scheme:/user:…) at the password. The password runs from
 * the first colon after the user name to the *last* @ of the URL, whatever it
 * holds: an unescaped # ? / or @ in it ends the userinfo for a URL parser, but
 * the user meant it as part of the password, and none of it may be printed.
 * A URL without a password whose query holds an @ is masked too much
 * (postgres://host:5432/db?x=a@b shows as postgres://host:***@b): too much is
 * safe, too little is not.
 */
function userinfoParts(url: string): { before: string; user: string; password: string; after: string } | null {
  // scheme: with any number of slashes (postgres:/user:pw@host is a typo worth refusing, not printing), then user:
  const m = /^([a-z][a-z0-9+.-]*:\/*)([^:/?#@\s]*):/i.exec(url);
  if (!m) return null;
  const at = url.lastIndexOf('@');
  if (at < m[0].length) return null;
  return { before: m[1], user: m[2], password: url.slice(m[0].length, at), after: url.slice(at) };
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

/**
 * Removes every occurrence of the URL's password from a message (driver errors
 * sometimes echo it), and masks the password of any other URL in it.
 */
export function scrubSecrets(message: string, url: string | undefined): string {
  let out = url ? message.split(url).join(redactUrl(url)) : message;
  if (url) for (const secret of secretsOf(url)) out = out.split(secret).join('***');
  return out.replace(URL_IN_TEXT, (found) => redactUrl(found));
}

// A URL inside a message (scheme:, with or without slashes) runs to the next white space; its password is
// then masked by redactUrl's rule, which leaves a text without `user:…@` as it is.
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\S+/gi;
