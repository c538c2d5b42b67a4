import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { SchemaDiffError, messageOf } from '../errors.js';

/**
 * schema-diff.config.ts (or .mts, .js, .mjs, .json): the settings a project
 * would otherwise repeat on every command line. Every field is optional.
 */
export interface SchemaDiffConfig {
  /** The manifest file, relative to the config file's directory. */
  readonly manifest?: string;
  /** postgres://…, pglite:<dir>, sqlite:///path.db (used as given; relative paths are from the working directory). */
  readonly databaseUrl?: string;
  /** lock_timeout of write-blocking statements: '25ms', '2s', or a number of ms. */
  readonly lockTimeout?: string | number;
  readonly lockRetries?: number;
  readonly retryBudget?: string | number;
  readonly lockWait?: string | number;
  /** SQLite: copy the file aside before a table rebuild. */
  readonly backup?: boolean;
  readonly keepBackups?: number;
  /**
   * A fleet (docs/fleets.md): each a URL, or `{ label?, url }`. Used by the
   * commands that take --targets when none of --targets, --targets-query,
   * --database-url or $DATABASE_URL is given.
   */
  readonly targets?: readonly (string | { readonly label?: string; readonly url: string })[];
}

/** Declares a config file's settings, typed (as drizzle-kit's defineConfig). */
export function defineConfig(config: SchemaDiffConfig): SchemaDiffConfig {
  return config;
}

export const CONFIG_FILES = ['schema-diff.config.ts', 'schema-diff.config.mts', 'schema-diff.config.js', 'schema-diff.config.mjs', 'schema-diff.config.json'];

/** The command-line option each setting stands for, and the setting's type. */
const SETTINGS = {
  manifest: ['manifest', 'string'],
  databaseUrl: ['database-url', 'string'],
  lockTimeout: ['lock-timeout', 'duration'],
  lockRetries: ['lock-retries', 'number'],
  retryBudget: ['retry-budget', 'duration'],
  lockWait: ['lock-wait', 'duration'],
  backup: ['backup', 'boolean'],
  keepBackups: ['keep-backups', 'number'],
} as const;

/** Option defaults when nothing else says (the flags' documented defaults). */
const BUILT_IN: Record<string, string | number | boolean | undefined> = {
  manifest: 'manifest/index.ts',
  'database-url': undefined,
  'lock-timeout': '25ms',
  'lock-retries': 50,
  'retry-budget': '60s',
  'lock-wait': '10s',
  backup: true,
  'keep-backups': 3,
};

export interface LoadedConfig {
  readonly path: string;
  readonly settings: SchemaDiffConfig;
}

/**
 * The config file: --config PATH, or the first CONFIG_FILES found in the
 * working directory and its parents, up to the project's root (the first
 * directory holding package.json or .git). null when there is none.
 */
export function findConfigFile(cwd: string, explicit?: string): string | null {
  if (explicit !== undefined) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path) || !statSync(path).isFile()) throw new SchemaDiffError('usage', `--config: no such file ${explicit}`);
    return path;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const found = CONFIG_FILES.map((f) => join(dir, f)).find((p) => existsSync(p));
    if (found) return found;
    const root = existsSync(join(dir, 'package.json')) || existsSync(join(dir, '.git'));
    if (root || dirname(dir) === dir) return null;
  }
}

/** Loads a config file. A .ts or .js config is code and runs like a manifest does (docs/security.md). */
export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  let value: unknown;
  try {
    if (extname(path) === '.json') value = JSON.parse(readFileSync(path, 'utf8'));
    else {
      const { importModule } = await import('../manifest/load.js');
      const mod = await importModule(path);
      value = mod.default ?? mod.config;
      // a module compiled to CommonJS (no "type": "module" nearby) wraps its exports once more
      const inner = value as Record<string, unknown> | undefined;
      if (inner && typeof inner === 'object' && 'default' in inner && !Object.keys(inner).some((k) => k in SETTINGS)) value = inner.default;
    }
  } catch (e) {
    throw new SchemaDiffError('usage', `cannot load config ${basename(path)}: ${messageOf(e).split('\n')[0]}`, [], { cause: e });
  }
  return { path, settings: checkConfig(value, basename(path)) };
}

function checkConfig(value: unknown, shown: string): SchemaDiffConfig {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new SchemaDiffError('usage', `config ${shown}: expected an object (export default defineConfig({ ... }))`);
  }
  for (const [key, v] of Object.entries(value)) {
    // a list, not an option's default: checked (URLs parsed) as a targets file is, when a command reads it
    if (key === 'targets') continue;
    const setting = SETTINGS[key as keyof typeof SETTINGS];
    if (!setting) throw new SchemaDiffError('usage', `config ${shown}: unknown setting "${key}" (known: ${[...Object.keys(SETTINGS), 'targets'].join(', ')})`);
    if (v === undefined) continue;
    const type = setting[1];
    const ok = type === 'duration' ? typeof v === 'string' || typeof v === 'number' : typeof v === type;
    if (!ok) throw new SchemaDiffError('usage', `config ${shown}: ${key} must be a ${type === 'duration' ? "duration ('25ms', '2s') or a number of ms" : type}`);
  }
  return value as SchemaDiffConfig;
}

/**
 * The defaults the command line starts from. Precedence, highest first:
 * a flag, then the environment (DATABASE_URL, SCHEMA_DIFF_MANIFEST), then the
 * config file, then the built-in default (docs/cli.md, "Configuration").
 */
export function optionDefaults(config: LoadedConfig | null, env: NodeJS.ProcessEnv): Record<string, string | number | boolean | undefined> {
  const defaults = { ...BUILT_IN };
  for (const [key, value] of Object.entries(config?.settings ?? {})) {
    if (value === undefined || key === 'targets') continue;
    const option = SETTINGS[key as keyof typeof SETTINGS][0];
    defaults[option] = key === 'manifest' ? relativeTo(config!.path, value as string) : value;
  }
  if (env.SCHEMA_DIFF_MANIFEST) defaults.manifest = env.SCHEMA_DIFF_MANIFEST;
  if (env.DATABASE_URL) defaults['database-url'] = env.DATABASE_URL;
  return defaults;
}

/** A manifest path in a config file is relative to the file, so the config works from any subdirectory. */
function relativeTo(configPath: string, manifest: string): string {
  if (isAbsolute(manifest)) return manifest;
  // shown to the user and recorded in plans relative to where they stand, as a -m path would be
  return relative(process.cwd(), join(dirname(configPath), manifest));
}

let current: Record<string, string | number | boolean | undefined> = optionDefaults(null, {});

/** Set once by main() before the command line is parsed. */
export function useOptionDefaults(defaults: Record<string, string | number | boolean | undefined>): void {
  current = defaults;
}

/** The default of a configurable option, as a command's builder declares it. */
export function defaultOf<T extends string | number | boolean | undefined>(option: keyof typeof BUILT_IN & string): T {
  return current[option] as T;
}

/** The config file's fleet, and where it came from (for messages and the default state file). */
export interface ConfiguredFleet {
  readonly path: string;
  readonly targets: unknown;
}

let fleet: ConfiguredFleet | null = null;

/**
 * Set once by main(): the config's `targets`, unless $DATABASE_URL is set
 * (the environment outranks the config file, as for every setting).
 */
export function useConfiguredFleet(config: LoadedConfig | null, env: NodeJS.ProcessEnv): void {
  fleet = config?.settings.targets !== undefined && !env.DATABASE_URL ? { path: config.path, targets: config.settings.targets } : null;
}

export function configuredFleet(): ConfiguredFleet | null {
  return fleet;
}
