import type { CommandModule } from 'yargs';
import { SchemaDiffError } from '../../errors.js';
import { HAZARDS, type Hazard, type Plan } from '../../plan/types.js';
import type { ViolationCount } from '../../dialect/dialect.js';
import { defaultOf } from '../config.js';
import {
  EXIT,
  envelope,
  formatOf,
  manifestOf,
  note,
  out,
  parseDuration,
  withDatabase,
  withFormat,
  withGlobalOptions,
  withPruneOption,
  type PruneArgs,
} from '../context.js';
import { hasTargets, withFleetOptions, type FleetArgs } from './fleet/options.js';
import { alembicOptionsOf, FORMAT_HELP, PLAN_FORMATS, withAlembicOptions, type AlembicArgs, type PlanFormat } from './plan-format-options.js';

interface PlanArgs extends FleetArgs, PruneArgs, AlembicArgs {
  format: PlanFormat;
  json?: boolean;
  inverse: boolean;
  out?: string;
  'exit-code': boolean;
  'fail-on'?: string[];
  'check-rows': boolean;
  'lock-timeout': string;
}

export function planCommand(setStatus: (s: number) => void): CommandModule<object, PlanArgs> {
  return {
    command: 'plan',
    describe: 'print the SQL that would bring the database to the manifest (nothing is changed)',
    builder: (y) =>
      withAlembicOptions(withFormat(withFleetOptions(withPruneOption(withGlobalOptions(y))), PLAN_FORMATS, 'sql', FORMAT_HELP))
        .option('inverse', { type: 'boolean', default: false, describe: 'print the script that undoes the plan instead' })
        .option('out', { alias: 'o', type: 'string', describe: 'also save the plan as JSON (for apply --plan)' })
        .option('exit-code', { type: 'boolean', default: false, describe: 'exit 2 when there are steps' })
        .option('fail-on', {
          type: 'string',
          array: true,
          describe: `exit 2 when a step carries one of these hazards (comma-separated or repeated): ${HAZARDS.join(', ')}`,
        })
        .option('check-rows', {
          type: 'boolean',
          default: true,
          describe: 'count existing rows that would block apply (read-only scans); --no-check-rows skips them',
        })
        .option('lock-timeout', { type: 'string', default: defaultOf<string>('lock-timeout'), describe: 'lock_timeout written into the script' })
        .example('$0 plan > migration.sql', 'review the migration')
        .example('$0 plan --format text', 'summary with before/after diffs')
        .example('$0 plan --fail-on CHANGES_DELETE_BEHAVIOUR,INDEX_DROPPED', 'CI policy: exit 2 on these hazards')
        .example('$0 plan -f alembic --revision-id 3f2a --down-revision 1c9e', 'the plan as an Alembic revision') as never,
    handler: async (args) => {
      const { preparePlan } = await import('../../run/prepare.js');
      const { rowsBlockingApply } = await import('../../run/blockers.js');
      const { savePlan } = await import('../../plan/plan-file.js');
      const lockTimeoutMs = parseDuration(args['lock-timeout'], 'lock-timeout');
      const failOn = parseHazards(args['fail-on']);
      const alembic = alembicOptionsOf(args);
      if (hasTargets(args)) {
        if (alembic) throw new SchemaDiffError('usage', '--format alembic writes one revision for one database, not for --targets');
        const { fleetPlan } = await import('./fleet/run.js');
        setStatus(await fleetPlan(args, lockTimeoutMs));
        return;
      }
      await withDatabase(args, async (dialect, manifest) => {
        const prepared = await preparePlan(dialect, manifest, manifestOf(args), { prune: args.prune });
        const { plan } = prepared;
        if (args.out) await savePlan(args.out, plan);
        const blockers = args['check-rows'] ? await rowsBlockingApply(dialect, prepared.diff.changes) : undefined;
        await printPlan(plan, { format: formatOf(args), inverse: args.inverse, lockTimeoutMs, blockers, command: 'plan', alembic });
        if (blockers?.length) note(`note: existing rows would block apply of ${blockers.length} constraint(s): ${blockers.map((b) => b.name).join(', ')}`);
        const flagged = plan.steps.filter((s) => s.hazards.some((h) => failOn.has(h)));
        if (flagged.length > 0) {
          note(`--fail-on: ${flagged.length} step(s) carry a listed hazard: ${flagged.map((s) => `${s.id}. ${s.name} (${s.hazards.filter((h) => failOn.has(h)).join(', ')})`).join('; ')}`);
          setStatus(EXIT.pending);
        }
        // plan-level hazards (a foreign key without an index) fail it as a step's would
        const warned = (plan.warnings ?? []).filter((w) => failOn.has(w.hazard));
        if (warned.length > 0) {
          note(`--fail-on: ${warned.length} plan warning(s) carry a listed hazard: ${warned.map((w) => `${w.object} (${w.hazard})`).join('; ')}`);
          setStatus(EXIT.pending);
        }
        if (args['exit-code'] && plan.steps.length > 0) setStatus(EXIT.pending);
      }, { readOnly: true });
    },
  };
}

/** The plan's warnings on stderr, one line each, in one write (2,000 writes took ~20 ms at 1,000 tables). */
function noteWarnings(plan: Plan): void {
  const warnings = plan.warnings ?? [];
  if (warnings.length > 0) note(warnings.map((w) => `warning: ${w.hazard} ${w.message}`).join('\n'));
}

/** Prints a plan in one of plan's formats (plan, show and apply --dry-run share it). */
export async function printPlan(
  plan: Plan,
  options: {
    format: PlanFormat;
    inverse?: boolean;
    lockTimeoutMs?: number;
    blockers?: readonly ViolationCount[];
    command: string;
    alembic?: { revision: string; downRevision: string | null };
  },
): Promise<void> {
  const { renderScript } = await import('../../run/prepare.js');
  const { formatPlanText } = await import('../format-plan.js');
  if (options.format === 'json') {
    const blockers = options.blockers?.map((b) => ({ name: b.name, table: `${b.table.schema}.${b.table.name}`, kind: b.kind, violations: b.violations, ...(b.error ? { error: b.error } : {}) }));
    out(envelope(options.command, plan.target, { ...plan, ...(blockers ? { blockers } : {}) }));
  } else if (options.format === 'text') out(formatPlanText(plan, { blockers: options.blockers }));
  else if (options.format === 'alembic') {
    const { renderAlembic } = await import('../../publish/alembic.js');
    if (!options.alembic) throw new SchemaDiffError('usage', '--format alembic needs --revision-id and --down-revision');
    // upgrade() and downgrade() are both in the revision: --inverse has nothing to add
    if (options.inverse) throw new SchemaDiffError('usage', '--format alembic writes downgrade() itself; drop --inverse');
    // a revision retries a lock wait as apply does, within the same limits (flags of apply, settings of the config)
    const retries = { lockRetries: defaultOf<number>('lock-retries'), retryBudgetMs: parseDuration(defaultOf<string>('retry-budget'), 'retry-budget') };
    out(renderAlembic(plan, { ...options.alembic, lockTimeoutMs: options.lockTimeoutMs, ...retries }));
    noteWarnings(plan);
  } else {
    out(renderScript(plan, { direction: options.inverse ? 'inverse' : 'forward', lockTimeoutMs: options.lockTimeoutMs }));
    // the script stays a script: warnings, which are no statements, go to stderr
    noteWarnings(plan);
  }
}

/** --fail-on's hazard names; an unknown one is a usage error that lists them all. */
export function parseHazards(values: readonly string[] | undefined): ReadonlySet<Hazard> {
  const names = (values ?? []).flatMap((v) => String(v).split(',')).map((n) => n.trim()).filter(Boolean);
  const known = new Set<string>(HAZARDS);
  const unknown = names.filter((n) => !known.has(n.toUpperCase()));
  if (unknown.length > 0) {
    throw new SchemaDiffError('usage', `--fail-on: unknown hazard ${unknown.join(', ')} (known: ${HAZARDS.join(', ')})`);
  }
  return new Set(names.map((n) => n.toUpperCase() as Hazard));
}
