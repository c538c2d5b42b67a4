import type { CommandModule } from 'yargs';
import type { ApplyOptions } from '../../run/apply.js';
import { SchemaDiffError } from '../../errors.js';
import {
  backupOptionsOf,
  EXIT,
  note,
  out,
  parseCount,
  parseDuration,
  withBackupOptions,
  withDatabase,
  withGlobalOptions,
  withPruneOption,
  type BackupArgs,
  type PruneArgs,
} from '../context.js';
import { hasTargets, withRolloutOptions, type RolloutArgs } from './fleet/options.js';

interface ApplyArgs extends RolloutArgs, BackupArgs, PruneArgs {
  yes: boolean;
  plan?: string;
  'lock-timeout': string;
  'lock-retries': number;
  'retry-budget': string;
  'lock-wait': string;
  'allow-not-valid': boolean;
  quiet: boolean;
}

export function applyCommand(setStatus: (s: number) => void): CommandModule<object, ApplyArgs> {
  return {
    command: 'apply',
    describe: 'bring the database to the manifest, online: NOT VALID then VALIDATE, indexes CONCURRENTLY',
    builder: (y) =>
      withRolloutOptions(withPruneOption(withBackupOptions(withGlobalOptions(y))))
        .option('format', { alias: 'f', choices: ['text', 'json'], default: 'text', describe: 'result format on stdout' })
        .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'do not ask for confirmation' })
        .option('plan', { type: 'string', describe: 'apply a plan saved by plan --out; refused if the database changed since' })
        .option('lock-timeout', { type: 'string', default: '25ms', describe: 'lock_timeout for each write-blocking statement' })
        .option('lock-retries', { type: 'number', default: 50, describe: 'attempts per step before giving up' })
        .option('retry-budget', { type: 'string', default: '60s', describe: 'total time a step may spend retrying its lock' })
        .option('lock-wait', { type: 'string', default: '10s', describe: 'how long to wait for another apply to finish' })
        .option('allow-not-valid', {
          type: 'boolean',
          default: false,
          describe: 'add constraints that existing rows violate as NOT VALID (enforced for new rows) instead of refusing',
        })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress on stderr' }) as never,
    handler: async (args) => {
      const { applyManifest } = await import('../../run/apply.js');
      const { loadPlan } = await import('../../plan/plan-file.js');
      const { confirmOnTerminal } = await import('../confirm.js');
      const { progressPrinter } = await import('../progress.js');
      // Flags first: a refused value must leave the database untouched, not even connected to.
      const limits = {
        lockTimeoutMs: parseDuration(args['lock-timeout'], 'lock-timeout'),
        lockRetries: parseCount(args['lock-retries'], 'lock-retries', 'lockRetries'),
        retryBudgetMs: parseDuration(args['retry-budget'], 'retry-budget'),
        lockWaitMs: parseDuration(args['lock-wait'], 'lock-wait'),
      };
      if (hasTargets(args)) {
        if (args.plan) throw new SchemaDiffError('usage', '--plan is one database\'s reviewed plan: it cannot be applied to --targets (plan --targets groups them)');
        const { fleetApply } = await import('./fleet/run.js');
        setStatus(await fleetApply(args, { ...limits, allowNotValid: args['allow-not-valid'], prune: args.prune, ...backupOptionsOf(args) }));
        return;
      }
      const savedPlan = args.plan ? await loadPlan(args.plan) : undefined;
      await withDatabase(args, async (dialect, manifest) => {
        const options: ApplyOptions = {
          manifestPath: args.manifest,
          savedPlan,
          ...limits,
          allowNotValid: args['allow-not-valid'],
          prune: args.prune,
          confirm: (plan) => confirmOnTerminal(`apply ${plan.steps.length} step(s) to ${plan.target}?`, args.yes),
          events: progressPrinter(args.quiet),
          ...backupOptionsOf(args),
        };
        const result = await applyManifest(dialect, manifest, options);
        const n = result.plan.steps.length;
        if (args.format === 'json') {
          out(JSON.stringify({ version: 1, runId: result.runId, steps: n, leftNotValid: result.leftNotValid, target: result.plan.target }, null, 2));
        } else if (n === 0) {
          out(`${result.plan.target}: already up to date with ${args.manifest}; nothing to do`);
        } else {
          out(`applied ${n} step(s) to ${result.plan.target} (run ${result.runId})`);
          if (result.leftNotValid.length) note(`left NOT VALID: ${result.leftNotValid.join(', ')}`);
        }
        setStatus(EXIT.ok);
      });
    },
  };
}
