import { SchemaDiffError } from '../../errors.js';
import { parseDatabaseUrl, redactUrl } from '../../dialect/url.js';

/** One database of a fleet: how it is shown (never with a password) and how it is reached. */
export interface FleetTarget {
  readonly label: string;
  readonly url: string;
}

/**
 * A targets file: one database per line, `#` starts a comment, blank lines
 * are skipped; a line is `URL` or `LABEL URL`. A target without a label is
 * shown by its redacted URL. Every URL is parsed here, so a typo is refused
 * before any database is touched.
 */
export function parseTargetsFile(text: string, source: string): FleetTarget[] {
  const targets: FleetTarget[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const words = line.split(/\s+/);
    if (words.length > 2) {
      throw new SchemaDiffError('usage', `${source}:${i + 1}: expected "URL" or "LABEL URL", got ${words.length} words`);
    }
    const url = words[words.length - 1];
    try {
      parseDatabaseUrl(url);
    } catch (e) {
      throw new SchemaDiffError('usage', `${source}:${i + 1}: ${(e as Error).message}`);
    }
    targets.push({ label: words.length === 2 ? words[0] : redactUrl(url), url });
  }
  return checkedTargets(targets, source);
}

/**
 * A config file's `targets`: each a URL, or `{ label?, url }`. Checked as a
 * targets file's lines are, so a typo is refused before any database is touched.
 */
export function targetsFromList(list: unknown, source: string): FleetTarget[] {
  if (!Array.isArray(list)) throw new SchemaDiffError('usage', `${source}: targets must be a list of URLs or { label?, url }`);
  const targets = list.map((item: unknown, i): FleetTarget => {
    const where = `${source}: targets[${i}]`;
    const entry = typeof item === 'string' ? { url: item } : item;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new SchemaDiffError('usage', `${where}: expected a URL or { label?, url }`);
    const { label, url, ...rest } = entry as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) throw new SchemaDiffError('usage', `${where}: unknown field "${unknown[0]}" (known: label, url)`);
    if (typeof url !== 'string') throw new SchemaDiffError('usage', `${where}: url must be a string`);
    if (label !== undefined && (typeof label !== 'string' || label.trim() === '')) throw new SchemaDiffError('usage', `${where}: label must be a non-empty string`);
    try {
      parseDatabaseUrl(url);
    } catch (e) {
      throw new SchemaDiffError('usage', `${where}: ${(e as Error).message}`);
    }
    return { label: label ?? redactUrl(url), url };
  });
  return checkedTargets(targets, source);
}

/**
 * The URLs of databases on one server, named by a query's result: the base
 * URL with its database name replaced (percent-encoded, so a name is data
 * and never becomes part of the URL's syntax). Each is labelled by its name.
 */
export function targetsOnServer(baseUrl: string, names: readonly string[]): FleetTarget[] {
  const base = new URL(baseUrl);
  const targets = names.map((name) => {
    const url = new URL(base.toString());
    url.pathname = `/${encodeURIComponent(name)}`;
    return { label: name, url: url.toString() };
  });
  return checkedTargets(targets, 'the targets query');
}

function checkedTargets(targets: FleetTarget[], source: string): FleetTarget[] {
  if (targets.length === 0) throw new SchemaDiffError('usage', `${source}: no targets`);
  const seen = new Set<string>();
  for (const t of targets) {
    // The label keys the state file and the summary: two targets under one label could not be told apart.
    if (seen.has(t.label)) throw new SchemaDiffError('usage', `${source}: target ${t.label} is listed twice`);
    seen.add(t.label);
  }
  return targets;
}
