import type { Argv } from 'yargs';
import { SchemaDiffError } from '../errors.js';
import type { Dialect } from '../dialect/dialect.js';
import type { LoadedManifest } from '../manifest/types.js';
import { checkLimit, type LimitedOption } from '../run/limits.js';
import { defaultOf } from './config.js';

/** Options every command shares. */
export interface GlobalArgs {
  /** Absent when not given: manifestOf() falls back to $SCHEMA_DIFF_MANIFEST, the config file, manifest/index.ts. */
  manifest?: string;
  'database-url'?: string;
  format?: string;
  debug: boolean;
}

/** The manifest alone, for commands that read no database (codegen, docs). */
export function withManifestOptions<T>(y: Argv<T>) {
  return y
    .option('manifest', {
      alias: 'm',
      type: 'string',
      describe: 'manifest file (.ts, .js or .json; default: $SCHEMA_DIFF_MANIFEST, the config file, manifest/index.ts)',
    })
    .option('debug', { type: 'boolean', default: false, describe: 'print stack traces and driver details' });
}

export function withGlobalOptions<T>(y: Argv<T>) {
  return withManifestOptions(y)
    .option('database-url', {
      alias: 'd',
      type: 'string',
      describe: 'postgres://…, pglite:memory, pglite:<dir>, sqlite:///path.db (default: $DATABASE_URL, then the config file)',
    });
}

/** Writes a generated file, or prints it when no path is given. */
export async function writeOrPrint(path: string | undefined, text: string, what: string): Promise<void> {
  if (!path) return void out(text);
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text.endsWith('\n') ? text : text + '\n');
  note(`${what} written to ${path}`);
}

/** --prune, on every command that plans (plan, apply, verify). */
export interface PruneArgs {
  prune: boolean;
}

export function withPruneOption<T>(y: Argv<T>) {
  return y.option('prune', {
    type: 'boolean',
    default: false,
    describe:
      'the manifest is the whole truth for the tables it names: drop every CHECK, foreign key and plain index there it does not list ' +
      '(primary keys, UNIQUE constraints and tables it does not name are never touched)',
  });
}

/** SQLite's copy of the file before a table rebuild, for the commands that may rebuild one (apply, rollback). */
export interface BackupArgs {
  backup: boolean;
  'keep-backups': number;
}

export function withBackupOptions<T>(y: Argv<T>) {
  return y
    .option('backup', {
      type: 'boolean',
      default: defaultOf<boolean>('backup'),
      describe: 'SQLite: copy the database file aside (VACUUM INTO) before rebuilding a table; --no-backup skips it',
    })
    .option('keep-backups', {
      type: 'number',
      default: defaultOf<number>('keep-backups'),
      describe: "SQLite: keep only the newest N of schema-diff's backups of this file (older ones are removed)",
    });
}

export function backupOptionsOf(args: BackupArgs): { backup: boolean; keepBackups: number } {
  const keep = args['keep-backups'];
  if (!Number.isInteger(keep) || keep < 1) {
    throw new SchemaDiffError('usage', `--keep-backups: expected a whole number >= 1, got ${keep} (--no-backup writes none)`);
  }
  return { backup: args.backup, keepBackups: keep };
}

/**
 * Loads the manifest and opens the database, closing it whatever the body does.
 * `readOnly` for commands that must change nothing (docs/security.md).
 */
export async function withDatabase<R>(
  args: GlobalArgs,
  body: (dialect: Dialect, manifest: LoadedManifest) => Promise<R>,
  options: { poolSize?: number; readOnly?: boolean } = {},
): Promise<R> {
  const [{ loadManifest }, { openDialect }] = await Promise.all([import('../manifest/load.js'), import('../dialect/open.js')]);
  // the manifest first: a bad one is reported at once, with no connection made (an unreachable server would make
  // the error wait for its timeout) and no database file opened
  const manifest = await loadManifest(manifestOf(args));
  const dialect = await openDialect(databaseUrlOf(args), options);
  try {
    return await body(dialect, manifest);
  } finally {
    await dialect.close();
  }
}

/** Opens the database alone, for commands that read no manifest (history, rollback: the journal says it all). */
export async function withDialect<R>(
  args: GlobalArgs,
  body: (dialect: Dialect) => Promise<R>,
  options: { readOnly?: boolean } = {},
): Promise<R> {
  const { openDialect } = await import('../dialect/open.js');
  const dialect = await openDialect(databaseUrlOf(args), options);
  try {
    return await body(dialect);
  } finally {
    await dialect.close();
  }
}

/**
 * -m, else $SCHEMA_DIFF_MANIFEST, else the config file's manifest, else
 * manifest/index.ts. Not a yargs default, so that apply --plan can tell that
 * -m was not given and take the plan's own.
 */
export function manifestOf(args: Pick<GlobalArgs, 'manifest'>): string {
  return args.manifest ?? defaultOf<string>('manifest');
}

/** --format, or json when --json is given. */
export function formatOf<F extends string>(args: { format?: F; json?: boolean }): F | 'json' {
  return args.json ? 'json' : (args.format as F);
}

/** --format FORMAT and its --json alias. */
export function withFormat<T>(y: Argv<T>, choices: readonly string[], defaultFormat: string, describe = 'result format on stdout') {
  return y
    .option('format', { alias: 'f', choices, default: defaultFormat, describe })
    .option('json', { type: 'boolean', describe: 'same as --format json' })
    // every reader of args.format (fleets too) sees the alias
    .middleware((argv) => {
      if (argv.json) (argv as { format?: string }).format = 'json';
    });
}

/**
 * JSON on stdout, every command alike: version, command, target, then the
 * command's own fields (docs/cli.md, "JSON output").
 */
export function envelope(command: string, target: string, payload: object): string {
  const { version: _version, target: _target, ...rest } = payload as Record<string, unknown>;
  return JSON.stringify({ version: 1, command, target, ...rest }, null, 2);
}

/**
 * --database-url, else $DATABASE_URL, else the config file's databaseUrl. Never a
 * yargs default: --help would print it, password and all.
 */
export function databaseUrlOf(args: Pick<GlobalArgs, 'database-url'>): string | undefined {
  return args['database-url'] ?? defaultOf<string | undefined>('database-url');
}

/** Where a command's result goes: stdout is reserved for the result, stderr for progress and notices. */
export const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : text + '\n');
export const note = (text: string) => process.stderr.write(text.endsWith('\n') ? text : text + '\n');

/** Exit statuses (docs/cli.md). */
export const EXIT = { ok: 0, error: 1, pending: 2 } as const;

const DURATION_FLAGS = { 'lock-timeout': 'lockTimeoutMs', 'retry-budget': 'retryBudgetMs', 'lock-wait': 'lockWaitMs' } as const;

/** A duration flag (25ms, 2s, 1m; a bare number is ms) in whole ms, refused outside the option's range (run/limits.ts). */
export function parseDuration(value: string | number, flag: keyof typeof DURATION_FLAGS): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(String(value).trim());
  if (!m) throw new SchemaDiffError('usage', `--${flag}: expected a duration like 25ms, 2s or 1m, got "${value}"`);
  const n = Number(m[1]);
  const ms = Math.round(m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n);
  const rounded = String(ms) === String(value).trim() ? `"${value}"` : `"${value}" (${ms}ms)`;
  return checkLimit(DURATION_FLAGS[flag], ms, `--${flag}`, rounded);
}

/** A count flag (--lock-retries, --jobs, --samples): a whole number in the option's range. */
export function parseCount(value: number, flag: string, option: LimitedOption): number {
  return checkLimit(option, value, `--${flag}`);
}
