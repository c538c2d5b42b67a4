import type { CommandModule } from 'yargs';
import { EXIT, out, parseDuration, withDatabase, withGlobalOptions, withPruneOption, type PruneArgs } from '../context.js';
import { hasTargets, withFleetOptions, type FleetArgs } from './fleet/options.js';

interface PlanArgs extends FleetArgs, PruneArgs {
  inverse: boolean;
  out?: string;
  'exit-code': boolean;
  'lock-timeout': string;
}

export function planCommand(setStatus: (s: number) => void): CommandModule<object, PlanArgs> {
  return {
    command: 'plan',
    describe: 'print the SQL that would bring the database to the manifest (nothing is changed)',
    builder: (y) =>
      withFleetOptions(withPruneOption(withGlobalOptions(y)))
        .option('format', { alias: 'f', choices: ['sql', 'json', 'text'], default: 'sql', describe: 'sql script, JSON plan, or a summary for people' })
        .option('inverse', { type: 'boolean', default: false, describe: 'print the script that undoes the plan instead' })
        .option('out', { alias: 'o', type: 'string', describe: 'also save the plan as JSON (for apply --plan)' })
        .option('exit-code', { type: 'boolean', default: false, describe: 'exit 2 when there are steps' })
        .option('lock-timeout', { type: 'string', default: '25ms', describe: 'lock_timeout written into the script' })
        .example('$0 plan > migration.sql', 'review the migration')
        .example('$0 plan --format text', 'summary with before/after diffs') as never,
    handler: async (args) => {
      const { preparePlan, planHeader } = await import('../../run/prepare.js');
      const { savePlan } = await import('../../plan/plan-file.js');
      const { formatPlanText } = await import('../format-plan.js');
      const lockTimeoutMs = parseDuration(args['lock-timeout'], 'lock-timeout');
      if (hasTargets(args)) {
        const { fleetPlan } = await import('./fleet/run.js');
        setStatus(await fleetPlan(args, lockTimeoutMs));
        return;
      }
      await withDatabase(args, async (dialect, manifest) => {
        const { plan } = await preparePlan(dialect, manifest, args.manifest, { prune: args.prune });
        if (args.out) await savePlan(args.out, plan);
        const direction = args.inverse ? 'inverse' : 'forward';
        if (args.format === 'json') out(JSON.stringify(plan, null, 2));
        else if (args.format === 'text') out(formatPlanText(plan));
        else out(dialect.script(plan.steps, direction, planHeader(plan, direction), { lockTimeoutMs }));
        if (args['exit-code'] && plan.steps.length > 0) setStatus(EXIT.pending);
      }, { readOnly: true });
    },
  };
}
