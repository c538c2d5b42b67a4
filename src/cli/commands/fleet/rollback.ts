import { SchemaDiffError } from '../../../errors.js';
import type { RollbackOptions, RollbackScope } from '../../../run/rollback.js';
import type { Work } from '../../../run/fleet/rollout.js';
import type { FleetTarget } from '../../../run/fleet/targets.js';
import { out } from '../../context.js';
import type { RolloutArgs } from './options.js';
import { fleetProgress } from './output.js';
import { onTarget, report, runRollout, withLockWaits } from './run.js';

export type FleetRollbackArgs = RolloutArgs & { yes: boolean; quiet: boolean; 'dry-run': boolean };
type Limits = Omit<RollbackOptions, 'scope' | 'dryRun' | 'confirm' | 'events'>;

/**
 * rollback --targets: each target rolled back on its own (its own lock,
 * journal and selection: `scope` is read in each target's journal), canary
 * first, then waves, as apply rolls out (docs/fleets.md, "rollback").
 */
export async function fleetRollback(args: FleetRollbackArgs, scope: RollbackScope, limits: Limits): Promise<number> {
  const { loadTargets, rollbackStatePathOf } = await import('./options.js');
  const targets = await loadTargets(args);
  if (args['dry-run']) return fleetRollbackScripts(args, scope, limits, targets);
  const { rollback } = await import('../../../run/rollback.js');
  const work: Work = (t) =>
    withLockWaits((events) =>
      onTarget(t, false, async (dialect) => {
        const result = await rollback(dialect, { ...limits, scope, dryRun: false, confirm: async () => true, events });
        // nothing to undo (never applied, already rolled back) is where a rollback should leave a target: ok
        return { status: 'ok', count: result.plan.steps.length };
      }),
    );
  return runRollout(args, {
    command: 'rollback',
    statePath: rollbackStatePathOf(args),
    targets,
    work,
    question: (n) => `roll back ${describeScope(scope)} on ${n} target(s), each by its own journal, canary first?`,
  });
}

/**
 * rollback --dry-run --targets: each target's script, read-only, grouped by
 * identical statements as plan groups them, so a reviewer reads each once.
 */
async function fleetRollbackScripts(args: FleetRollbackArgs, scope: RollbackScope, limits: Limits, targets: readonly FleetTarget[]): Promise<number> {
  if (args['only-failed']) throw new SchemaDiffError('usage', '--only-failed and --dry-run do not combine: the dry run shows every target');
  const { runEach } = await import('../../../run/fleet/rollout.js');
  const { planRollback } = await import('../../../run/rollback.js');
  const { groupPlans, statementsKey } = await import('../../../run/fleet/plans.js');
  const outcomes = await runEach(
    targets,
    (t) =>
      onTarget(t, true, async (dialect) => {
        const plan = await planRollback(dialect, scope);
        if (plan.steps.length === 0) return { status: 'ok', count: 0 };
        // no database, fingerprint or run ids in the header: they differ between targets whose undo is the same
        const header = ['schema-diff rollback --dry-run (nothing was changed)', `objects: ${plan.objects.join(', ')}`, `steps:   ${plan.steps.length}`];
        const script = dialect.script(plan.steps, 'forward', header, { lockTimeoutMs: limits.lockTimeoutMs });
        return { status: 'pending', count: plan.steps.length, planKey: statementsKey(plan.steps), detail: script };
      }),
    args.parallel,
    fleetProgress('steps', args.quiet),
  );
  const groups = groupPlans(outcomes);
  if (args.format !== 'json') {
    for (const g of groups) out(`-- ===== rollback ${g.id}: ${g.targets.length} target(s): ${g.targets.join(', ')}\n${g.detail ?? ''}`);
  }
  const planIds = new Map(groups.map((g) => [g.key, g.id]));
  const plans = groups.map((g) => ({ id: g.id, statements: g.key, steps: g.steps, targets: g.targets, script: g.detail }));
  return report('rollback', args, outcomes, 'steps', { json: { dryRun: true, plans }, planIds });
}

function describeScope(scope: RollbackScope): string {
  if (scope.kind === 'objects') return scope.names.join(', ');
  if (scope.kind === 'to') return `every apply after run ${scope.runId}`;
  return 'the last apply';
}
