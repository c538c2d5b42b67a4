import { createRequire } from 'node:module';
import type yargsType from 'yargs';
import { EXIT } from './context.js';
import { databaseUrlsOf, renderError } from './errors.js';
import { planCommand } from './commands/plan.js';
import { applyCommand } from './commands/apply.js';
import { verifyCommand } from './commands/verify.js';
import { validateCommand } from './commands/validate.js';
import { rollbackCommand } from './commands/rollback.js';
import { historyCommand } from './commands/history.js';
import { forgetCommand } from './commands/forget.js';
import { demoCommand } from './commands/demo.js';

// yargs' ESM build wraps help text at a character count, cutting words in half;
// its CommonJS build wraps at word boundaries (wrap-ansi).
const require = createRequire(import.meta.url);
const yargs = require('yargs') as typeof yargsType;
const hideBin = (argv: string[]) => argv.slice(2);

/**
 * schema-diff's own version. yargs would read the package.json nearest to the
 * working directory: the calling project's, or "unknown" outside any project.
 */
function ownVersion(): string {
  // dist/src/cli/main.js and src/cli/main.ts both sit three levels below the package root
  return (require('../../../package.json') as { version: string }).version;
}

/** The schema-diff command line. Heavy modules (drivers, PGlite, tsx) load only inside handlers, so --help is instant. */
export async function main(argv: string[]): Promise<number> {
  let status: number = EXIT.ok;
  const setStatus = (s: number) => {
    status = s;
  };
  const debug = argv.includes('--debug');
  try {
    await yargs(argv)
      .scriptName('schema-diff')
      .version(ownVersion())
      .usage('$0 <command> [options]\n\nDeclarative, online-safe diffs of CHECK constraints, foreign keys and indexes.')
      .command(planCommand(setStatus))
      .command(applyCommand(setStatus))
      .command(verifyCommand(setStatus))
      .command(validateCommand(setStatus))
      .command(rollbackCommand(setStatus))
      .command(historyCommand(setStatus))
      .command(forgetCommand(setStatus))
      .command(demoCommand(setStatus))
      .demandCommand(1, 'name a command: plan, apply, verify, validate, rollback, history, forget or demo')
      .strict()
      .recommendCommands()
      .epilogue('Exit codes: 0 success or nothing to do, 1 error, 2 changes pending / violations found / drift.\nDocs: docs/cli.md')
      .wrap(Math.min(110, process.stdout.columns ?? 100))
      .fail((msg, err) => {
        throw err ?? new UsageError(msg);
      })
      .parseAsync();
  } catch (e) {
    return renderError(e, debug, databaseUrlsOf(argv));
  }
  return status;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function runMain(): void {
  main(hideBin(process.argv)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.exitCode = renderError(e, false, databaseUrlsOf(hideBin(process.argv)));
    },
  );
}
