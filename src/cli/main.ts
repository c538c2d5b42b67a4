import { createRequire } from 'node:module';
import type yargsType from 'yargs';
import { applyColourFlags } from './colour.js';
import { findConfigFile, optionDefaults, useConfiguredFleet, useOptionDefaults, type LoadedConfig } from './config.js';
import { EXIT } from './context.js';
import { VERSION } from '../version.js';
import { databaseUrlsOf, renderError } from './errors.js';
import { planCommand } from './commands/plan.js';
import { applyCommand } from './commands/apply.js';
import { verifyCommand } from './commands/verify.js';
import { validateCommand } from './commands/validate.js';
import { rollbackCommand } from './commands/rollback.js';
import { historyCommand } from './commands/history.js';
import { showCommand } from './commands/show.js';
import { forgetCommand } from './commands/forget.js';
import { demoCommand } from './commands/demo.js';
import { codegenCommand } from './commands/codegen.js';
import { pullCommand } from './commands/pull.js';
import { docsCommand } from './commands/docs.js';

// yargs' ESM build wraps help text at a character count, cutting words in half;
// its CommonJS build wraps at word boundaries (wrap-ansi).
const require = createRequire(import.meta.url);
const yargs = require('yargs') as typeof yargsType;
const hideBin = (argv: string[]) => argv.slice(2);

export const COMMANDS = ['plan', 'apply', 'verify', 'validate', 'rollback', 'history', 'forget', 'show', 'pull', 'codegen', 'docs', 'demo', 'completion'] as const;
/** Other names of commands (yargs aliases): accepted as a first word, not listed. */
const ALIASES = ['init'];


/** The schema-diff command line. Heavy modules (drivers, PGlite, tsx) load only inside handlers, so --help is instant. */
export async function main(argv: string[]): Promise<number> {
  let status: number = EXIT.ok;
  const setStatus = (s: number) => {
    status = s;
  };
  const debug = argv.includes('--debug');
  let secretUrls = databaseUrlsOf(argv);
  try {
    applyColourFlags(argv);
    refuseUnknownCommand(argv);
    const config = await configFor(argv);
    if (config?.settings.databaseUrl) secretUrls = [...secretUrls, config.settings.databaseUrl];
    secretUrls = [...secretUrls, ...urlsOfConfigTargets(config)];
    useOptionDefaults(optionDefaults(config, process.env));
    useConfiguredFleet(config, process.env);
    await yargs(argv)
      .scriptName('schema-diff')
      // schema-diff's own: yargs would read the calling project's package.json
      .version(VERSION)
      // without it, an unknown --lock-timeot is reported twice (lock-timeot, lockTimeot); every option is read by its --kebab-name
      .parserConfiguration({ 'camel-case-expansion': false })
      .usage('$0 <command> [options]\n\nDeclarative, online-safe diffs of CHECK constraints, foreign keys and indexes.')
      .command(planCommand(setStatus))
      .command(applyCommand(setStatus))
      .command(verifyCommand(setStatus))
      .command(validateCommand(setStatus))
      .command(rollbackCommand(setStatus))
      .command(historyCommand(setStatus))
      .command(showCommand(setStatus))
      .command(forgetCommand(setStatus))
      .command(pullCommand(setStatus))
      .command(codegenCommand(setStatus))
      .command(docsCommand(setStatus))
      .command(demoCommand(setStatus))
      .completion('completion', 'print a bash/zsh completion script: source <(schema-diff completion)')
      .option('config', {
        type: 'string',
        describe: 'config file (default: schema-diff.config.{ts,mts,js,mjs,json} in this directory or a parent, up to the project root)',
      })
      .option('color', { type: 'boolean', describe: 'colour the output (default: on a terminal, unless NO_COLOR; FORCE_COLOR forces it)' })
      .demandCommand(1, `name a command: ${COMMANDS.join(', ')}`)
      .strict()
      .epilogue('Exit codes: 0 success or nothing to do, 1 error, 2 changes pending / violations found / drift / --fail-on hazard.\nDocs: docs/cli.md')
      .wrap(Math.min(110, process.stdout.columns ?? 100))
      .fail((msg, err) => {
        throw err ?? new UsageError(msg);
      })
      .parseAsync();
  } catch (e) {
    return renderError(e, debug, secretUrls);
  }
  return status;
}

/** The config's target URLs, whatever their shape, so that an error naming one is masked too. */
function urlsOfConfigTargets(config: LoadedConfig | null): string[] {
  const list: unknown = config?.settings.targets;
  if (!Array.isArray(list)) return [];
  return list.map((t: unknown) => (typeof t === 'string' ? t : (t as { url?: unknown } | null)?.url)).filter((u): u is string => typeof u === 'string');
}

/**
 * The config file's settings, or null. Not read for --help and --version
 * (they must stay instant, and a .ts config costs a compile) nor for
 * completion (the shell calls it on every Tab).
 */
async function configFor(argv: readonly string[]): Promise<LoadedConfig | null> {
  if (argv.some((a) => a === '--help' || a === '-h' || a === '--version' || a === '--get-yargs-completions') || argv[0] === 'completion') return null;
  const explicit = optionValue(argv, '--config');
  const path = findConfigFile(process.cwd(), explicit);
  if (!path) return null;
  const { loadConfigFile } = await import('./config.js');
  return loadConfigFile(path);
}

function optionValue(argv: readonly string[], flag: string): string | undefined {
  for (const [i, arg] of argv.entries()) {
    if (arg === flag) return argv[i + 1] ?? '';
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
  }
  return undefined;
}

/** A first word that is no command: say so, with the likely one and the list (yargs would call it an unknown argument). */
function refuseUnknownCommand(argv: readonly string[]): void {
  const first = argv[0];
  if (first === undefined || first.startsWith('-') || (COMMANDS as readonly string[]).includes(first) || ALIASES.includes(first)) return;
  const near = COMMANDS.filter((c) => editDistance(c, first) <= 2 || (first.length >= 3 && c.startsWith(first)));
  const hint = near.length ? ` (did you mean ${near.join(' or ')}?)` : '';
  throw new UsageError(`unknown command "${first}"${hint}; commands: ${COMMANDS.join(', ')}`);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A reader that stops early (`verify | head -1`) closes the pipe: further
 * writes fail with EPIPE. That is the reader's choice, not an error: stop quietly.
 */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok);
    throw e;
  });
}

export function runMain(): void {
  exitQuietlyOnClosedPipe(process.stdout);
  exitQuietlyOnClosedPipe(process.stderr);
  main(hideBin(process.argv)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.exitCode = renderError(e, false, databaseUrlsOf(hideBin(process.argv)));
    },
  );
}
