import { SchemaDiffError } from '../../../errors.js';
import type { RollbackOptions, RollbackScope } from '../../../run/rollback.js';
import type { Work } from '../../../run/fleet/rollout.js';
import type { FleetTarget } from '../../../run/fleet/targets.js';
import { note, out } from '../../context.js';
import type { RolloutArgs } from './options.js';
import { fleetProgress } from './output.js';
import { onTarget, report, runRollout, withRunEvents, withSkipped } from './run.js';

export type FleetRollbackArgs = RolloutArgs & { yes: boolean; quiet: boolean; 'dry-run': boolean };
type Limits = Omit<RollbackOptions, 'scope' | 'dryRun' | 'confirm' | 'events'>;

/** What each target rolls back: its own scope, or nothing (with the reason). */
interface FleetScopes {
  readonly scopeOf: (target: FleetTarget) => RollbackScope;
  readonly skip: ReadonlyMap<string, string>;
  /** Plain rollback scoped by apply's state file: each target undoes exactly the runs the last rollout applied there. */
  readonly ofRollout: boolean;
}

export const APPLIED_NOTHING = 'the last rollout applied nothing here';

/**
 * rollback --targets: each target rolled back on its own (its own lock,
 * journal and selection), canary first, then waves, as apply rolls out.
 * A plain rollback undoes the rollout: on each target the runs apply's state
 * file recorded, nothing where it applied nothing (docs/fleets.md, "rollback").
 */
export async function fleetRollback(args: FleetRollbackArgs, scope: RollbackScope, limits: Limits): Promise<number> {
  const { loadTargets, rollbackStatePathOf } = await import('./options.js');
  const targets = await loadTargets(args);
  const scopes = await fleetScopes(args, scope, targets);
  if (args['dry-run']) return fleetRollbackScripts(args, scopes, limits, targets);
  const { rollback } = await import('../../../run/rollback.js');
  const work: Work = (t) =>
    withRunEvents((events) =>
      onTarget(t, false, async (dialect) => {
        const result = await rollback(dialect, { ...limits, scope: scopes.scopeOf(t), dryRun: false, confirm: async () => true, events });
        // nothing to undo (never applied, already rolled back) is where a rollback should leave a target: ok
        return { status: 'ok', count: result.plan.steps.length };
      }),
    );
  return runRollout(args, {
    command: 'rollback',
    statePath: rollbackStatePathOf(args),
    targets,
    skip: scopes.skip,
    work,
    question: (n) => `roll back ${scopes.ofRollout ? 'what the last rollout applied' : describeScope(scope)} on ${n} target(s), each by its own journal, canary first?`,
  });
}

/**
 * --to and --constraint are explicit, read in each target's journal. A plain
 * rollback is the rollout's: the runs apply's state file recorded per target.
 * Without that file it falls back to each target's last apply, said once.
 */
async function fleetScopes(args: FleetRollbackArgs, scope: RollbackScope, targets: readonly FleetTarget[]): Promise<FleetScopes> {
  const each = { scopeOf: () => scope, skip: new Map<string, string>(), ofRollout: false };
  if (scope.kind !== 'last') return each;
  const { statePathOf } = await import('./options.js');
  const { readFleetState, rolloutRunsOf } = await import('../../../run/fleet/state.js');
  const path = statePathOf(args);
  const state = path ? await readFleetState(path) : null;
  if (!path || !state || state.manifest === undefined) {
    const why = !path ? 'no rollout state file (--targets-query without --state)' : !state ? `no rollout state file (${path})` : `${path} records no runs (an older schema-diff wrote it)`;
    note(`warning: ${why}: each target's own last apply is undone, which may predate the last rollout; review with --dry-run`);
    return each;
  }
  if (state.command !== 'apply') throw new SchemaDiffError('usage', `fleet state ${path} is ${state.command}'s, not a rollout's: --state names the state apply wrote`);
  const runs = new Map(targets.map((t) => [t.label, rolloutRunsOf(state, t.label, path)]));
  const skip = new Map(targets.filter((t) => runs.get(t.label)?.length === 0).map((t) => [t.label, APPLIED_NOTHING]));
  return { scopeOf: (t) => ({ kind: 'runs', runs: runs.get(t.label) ?? [] }), skip, ofRollout: true };
}

/**
 * rollback --dry-run --targets: each target's script, read-only, grouped by
 * identical statements as plan groups them, so a reviewer reads each once.
 */
async function fleetRollbackScripts(args: FleetRollbackArgs, scopes: FleetScopes, limits: Limits, targets: readonly FleetTarget[]): Promise<number> {
  if (args['only-failed']) throw new SchemaDiffError('usage', '--only-failed and --dry-run do not combine: the dry run shows every target');
  const { runEach } = await import('../../../run/fleet/rollout.js');
  const { planRollback } = await import('../../../run/rollback.js');
  const { groupPlans, statementsKey } = await import('../../../run/fleet/plans.js');
  const ran = await runEach(
    targets.filter((t) => !scopes.skip.has(t.label)),
    (t) =>
      onTarget(t, true, async (dialect) => {
        const plan = await planRollback(dialect, scopes.scopeOf(t));
        if (plan.steps.length === 0) return { status: 'ok', count: 0 };
        // no database, fingerprint or run ids in the header: they differ between targets whose undo is the same
        const header = ['schema-diff rollback --dry-run (nothing was changed)', `objects: ${plan.objects.join(', ')}`, `steps:   ${plan.steps.length}`];
        const script = dialect.script(plan.steps, 'forward', header, { lockTimeoutMs: limits.lockTimeoutMs });
        return { status: 'pending', count: plan.steps.length, planKey: statementsKey(plan.steps), detail: script };
      }),
    args.parallel,
    fleetProgress('steps', args.quiet),
  );
  const outcomes = withSkipped(targets, ran, scopes.skip);
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
  if (scope.kind === 'runs') return `apply run ${scope.runs.map((r) => r.id).join(', ')}`;
  return 'the last apply';
}
