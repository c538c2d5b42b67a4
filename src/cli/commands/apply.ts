import { isAbsolute } from 'node:path';
import type { CommandModule } from 'yargs';
import { SchemaDiffError } from '../../errors.js';
import type { Plan } from '../../plan/types.js';
import type { ApplyOptions } from '../../run/apply.js';
import { defaultOf } from '../config.js';
import {
  backupOptionsOf,
  envelope,
  EXIT,
  formatOf,
  note,
  out,
  parseCount,
  parseDuration,
  withBackupOptions,
  manifestOf,
  withDatabase,
  withFormat,
  withGlobalOptions,
  withPruneOption,
  type BackupArgs,
  type PruneArgs,
} from '../context.js';
import { hasTargets, withRolloutOptions, type RolloutArgs } from './fleet/options.js';

interface ApplyArgs extends RolloutArgs, BackupArgs, PruneArgs {
  format: 'text' | 'json';
  json?: boolean;
  yes: boolean;
  'dry-run': boolean;
  plan?: string;
  'lock-timeout': string;
  'lock-retries': number;
  'retry-budget': string;
  'lock-wait': string;
  'allow-not-valid': boolean;
  'check-rows-first': boolean;
  quiet: boolean;
}

export function applyCommand(setStatus: (s: number) => void): CommandModule<object, ApplyArgs> {
  return {
    command: 'apply',
    describe: 'bring the database to the manifest, online: NOT VALID then VALIDATE, indexes CONCURRENTLY',
    builder: (y) =>
      withFormat(withRolloutOptions(withPruneOption(withBackupOptions(withGlobalOptions(y)))), ['text', 'json'], 'text')
        .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'do not ask for confirmation (the plan is shown before the question otherwise)' })
        .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan apply would run (as plan --format text) and exit 0; change nothing' })
        .option('plan', {
          type: 'string',
          describe: 'apply a plan saved by plan --out (its manifest unless -m is given); refused if the database or manifest changed since',
        })
        .option('lock-timeout', { type: 'string', default: defaultOf<string>('lock-timeout'), describe: 'lock_timeout for each write-blocking statement' })
        .option('lock-retries', { type: 'number', default: defaultOf<number>('lock-retries'), describe: 'attempts per step before giving up' })
        .option('retry-budget', { type: 'string', default: defaultOf<string>('retry-budget'), describe: 'total time a step may spend retrying its lock' })
        .option('lock-wait', { type: 'string', default: defaultOf<string>('lock-wait'), describe: 'how long to wait for another apply to finish' })
        .option('allow-not-valid', {
          type: 'boolean',
          default: false,
          describe: 'add constraints that existing rows violate as NOT VALID (enforced for new rows) instead of refusing',
        })
        .option('check-rows-first', {
          type: 'boolean',
          default: false,
          describe: 'finish the check of existing rows before building any index, also on a big database (a refusal then leaves no trace in the journal)',
        })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress on stderr' }) as never,
    handler: async (args) => {
      const { applyManifest } = await import('../../run/apply.js');
      const { loadPlan } = await import('../../plan/plan-file.js');
      const { confirmOnTerminal } = await import('../confirm.js');
      const { formatPlanText } = await import('../format-plan.js');
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
        // a dry run must change nothing: a fleet's is plan --targets, which reads each target and groups the plans
        if (args['dry-run']) throw new SchemaDiffError('usage', 'apply --dry-run does not take a fleet; run plan --targets to see what apply would do on each target; nothing was changed');
        const { fleetApply } = await import('./fleet/run.js');
        setStatus(await fleetApply(args, { ...limits, allowNotValid: args['allow-not-valid'], prune: args.prune, ...checkFirstOf(args), ...backupOptionsOf(args) }));
        return;
      }
      const savedPlan = args.plan ? await loadPlan(args.plan) : undefined;
      const manifestPath = args.manifest ?? (savedPlan ? manifestOfPlan(savedPlan.manifest, args.plan!) : manifestOf(args));
      if (savedPlan && args.manifest === undefined) note(`manifest: ${manifestPath} (from ${args.plan})`);
      const withManifest = { ...args, manifest: manifestPath };
      if (args['dry-run']) return dryRun(withManifest, savedPlan, setStatus);
      await withDatabase(withManifest, async (dialect, manifest) => {
        const options: ApplyOptions = {
          manifestPath,
          savedPlan,
          ...limits,
          allowNotValid: args['allow-not-valid'],
          prune: args.prune,
          ...checkFirstOf(args),
          confirm: (plan) =>
            confirmOnTerminal(`apply ${plan.steps.length} step(s) to ${plan.target}?`, args.yes, () => formatPlanText(plan, { stream: process.stderr })),
          events: progressPrinter(args.quiet),
          ...backupOptionsOf(args),
        };
        const result = await applyManifest(dialect, manifest, options);
        const n = result.plan.steps.length;
        if (formatOf(args) === 'json') {
          out(envelope('apply', result.plan.target, { runId: result.runId, steps: n, leftNotValid: result.leftNotValid }));
        } else if (n === 0) {
          out(`${result.plan.target}: already up to date with ${manifestPath}; nothing to do`);
        } else {
          out(`applied ${n} step(s) to ${result.plan.target} (run ${result.runId})`);
          if (result.leftNotValid.length) note(`left NOT VALID: ${result.leftNotValid.join(', ')}`);
        }
        setStatus(EXIT.ok);
      });
    },
  };
}

/** --check-rows-first: no database is big enough for index builds to run beside the check. */
function checkFirstOf(args: ApplyArgs): Pick<ApplyOptions, 'buildWhileCheckingFromBytes'> {
  return args['check-rows-first'] ? { buildWhileCheckingFromBytes: Number.POSITIVE_INFINITY } : {};
}

/**
 * apply --dry-run: the plan apply would run now, as plan --format text shows
 * it (or its JSON), with the rows that would block it. Read-only: no lock, no
 * journal, nothing changed; a saved plan is checked as apply would check it.
 */
async function dryRun(args: ApplyArgs & { manifest: string }, savedPlan: Plan | undefined, setStatus: (s: number) => void): Promise<void> {
  const { preparePlan } = await import('../../run/prepare.js');
  const { refuseStalePlan } = await import('../../run/apply.js');
  const { rowsBlockingApply } = await import('../../run/blockers.js');
  const { printPlan } = await import('./plan.js');
  await withDatabase(args, async (dialect, manifest) => {
    const prepared = await preparePlan(dialect, manifest, args.manifest, { prune: args.prune });
    if (savedPlan) refuseStalePlan(savedPlan, prepared.plan);
    const blockers = await rowsBlockingApply(dialect, prepared.diff.changes);
    await printPlan(prepared.plan, { format: formatOf(args) === 'json' ? 'json' : 'text', blockers, command: 'apply' });
    setStatus(EXIT.ok);
  }, { readOnly: true });
}

/**
 * The manifest a saved plan names. The plan file is not trusted (docs/security.md):
 * it may name only a file inside the working directory, never an absolute
 * path or one that climbs out with `..`, so it cannot make apply load code from elsewhere.
 */
export function manifestOfPlan(path: unknown, planFile: string): string {
  if (typeof path !== 'string' || path === '' || isAbsolute(path) || path.split(/[\\/]/).includes('..')) {
    throw new SchemaDiffError('usage', `${planFile} names its manifest as ${JSON.stringify(path)}: only a path inside the working directory is taken from a plan file; pass -m`);
  }
  return path;
}
