import type { CommandModule } from 'yargs';
import { defaultOf } from '../config.js';
import { EXIT, formatOf, parseDuration, withFormat } from '../context.js';
import { alembicOptionsOf, FORMAT_HELP, PLAN_FORMATS, withAlembicOptions, type AlembicArgs, type PlanFormat } from './plan-format-options.js';

interface ShowArgs extends AlembicArgs {
  file: string;
  format: PlanFormat;
  json?: boolean;
  inverse: boolean;
  'lock-timeout': string;
}

/** Renders a plan saved by plan --out, without a database: its dialect's script renderer is picked from the file. */
export function showCommand(setStatus: (s: number) => void): CommandModule<object, ShowArgs> {
  return {
    command: 'show <file>',
    describe: 'render a plan saved by plan --out as SQL, a summary or JSON (no database needed)',
    builder: (y) =>
      withAlembicOptions(withFormat(y.positional('file', { type: 'string', describe: 'the plan file (plan --out plan.json)' }), PLAN_FORMATS, 'sql', FORMAT_HELP))
        .option('inverse', { type: 'boolean', default: false, describe: 'the script that undoes the plan' })
        .option('lock-timeout', { type: 'string', default: defaultOf<string>('lock-timeout'), describe: 'lock_timeout written into the script' })
        .example('$0 show plan.json --format text', 'review a saved plan') as never,
    handler: async (args) => {
      const { loadPlan } = await import('../../plan/plan-file.js');
      const { printPlan } = await import('./plan.js');
      const lockTimeoutMs = parseDuration(args['lock-timeout'], 'lock-timeout');
      const alembic = alembicOptionsOf(args);
      const plan = await loadPlan(args.file);
      await printPlan(plan, { format: formatOf(args), inverse: args.inverse, lockTimeoutMs, command: 'show', alembic });
      setStatus(EXIT.ok);
    },
  };
}
