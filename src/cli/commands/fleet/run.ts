import type { Dialect } from '../../../dialect/dialect.js';
import { isSchemaDiffError, messageOf, SchemaDiffError } from '../../../errors.js';
import type { LoadedManifest } from '../../../manifest/types.js';
import type { ApplyOptions } from '../../../run/apply.js';
import type { RecordedRun } from '../../../run/rollback-select.js';
import { fleetExitStatus, type TargetOutcome, type Work, type WorkResult } from '../../../run/fleet/rollout.js';
import type { FleetTarget } from '../../../run/fleet/targets.js';
import { manifestOf, out } from '../../context.js';
import type { FleetArgs, RolloutArgs } from './options.js';

type ApplyEvents = NonNullable<ApplyOptions['events']>;
import { fleetProgress, outcomeJson, statusCounts, summaryTable, type CountName } from './output.js';

/** Opens one target (read-only unless it is to change), runs `body`, closes it; errors become the target's outcome. */
export async function onTarget(
  target: FleetTarget,
  readOnly: boolean,
  body: (dialect: Dialect) => Promise<WorkResult>,
): Promise<WorkResult> {
  const { openDialect } = await import('../../../dialect/open.js');
  const { isViolationRefusal } = await import('../../../run/apply.js');
  const { scrubSecrets } = await import('../../../dialect/url.js');
  let dialect: Dialect | undefined;
  try {
    dialect = await openDialect(target.url, { readOnly });
    return await body(dialect);
  } catch (e) {
    const error = scrubSecrets(messageOf(e), target.url);
    if (!dialect && isSchemaDiffError(e) && e.code === 'connection') return { status: 'unreachable', count: 0, error };
    return { status: isViolationRefusal(e) ? 'violations' : 'failed', count: 0, error };
  } finally {
    await dialect?.close().catch(() => {});
  }
}

/**
 * Runs one target's apply or rollback with events that keep its longest lock
 * wait and, of an apply, the journal run it applied steps in; both are added to
 * the result, also of a target that failed later on. A run that failed before
 * its first step changed nothing: it is not reported as applied.
 */
export async function withRunEvents(body: (events: ApplyEvents) => Promise<WorkResult>): Promise<WorkResult> {
  let longest: number | undefined;
  let run: RecordedRun | undefined;
  let stepsDone = 0;
  const events: ApplyEvents = {
    lockAcquired: (_step, ms) => (longest = Math.max(longest ?? 0, ms)),
    runStarted: (id, fingerprint) => (run = { id, fingerprint }),
    // a refusal that dropped again what the run built: the rollout applied nothing there
    runUndone: (id) => {
      if (run?.id === id) run = undefined;
    },
    stepFinished: () => (stepsDone += 1),
  };
  const result = await body(events);
  return {
    ...result,
    ...(longest === undefined ? {} : { lockWaitMs: longest }),
    ...(run && stepsDone > 0 ? { applied: run } : {}),
  };
}

export async function fleetOf(args: FleetArgs) {
  const { loadTargets } = await import('./options.js');
  const { loadManifest } = await import('../../../manifest/load.js');
  const targets = await loadTargets(args);
  return { targets, manifest: await loadManifest(manifestOf(args)) };
}

/** Prints the report (table or JSON) and returns the fleet's exit status. */
export function report(
  command: string,
  args: FleetArgs,
  outcomes: readonly TargetOutcome[],
  countName: CountName,
  extra: { head?: string[]; json?: object; planIds?: Map<string, string>; lockWait?: boolean } = {},
): number {
  if (args.format === 'json') {
    const targets = outcomes.map((o) => outcomeJson(o, countName, o.planKey ? extra.planIds?.get(o.planKey) : undefined));
    out(JSON.stringify({ version: 1, command, ...extra.json, targets }, null, 2));
  } else {
    out([...(extra.head ?? []), ...summaryTable(outcomes, countName, { lockWait: extra.lockWait }), '', statusCounts(outcomes)].join('\n'));
  }
  return fleetExitStatus(outcomes);
}

export async function fleetPlan(args: FleetArgs & { prune: boolean }, lockTimeoutMs: number): Promise<number> {
  const { runEach } = await import('../../../run/fleet/rollout.js');
  const { groupPlans, planSummary, statementsKey } = await import('../../../run/fleet/plans.js');
  const { preparePlan, planHeader } = await import('../../../run/prepare.js');
  const { targets, manifest } = await fleetOf(args);
  const work: Work = (t) =>
    onTarget(t, true, async (dialect) => {
      const { plan } = await preparePlan(dialect, manifest, manifestOf(args), { prune: args.prune });
      if (plan.steps.length === 0) return { status: 'ok', count: 0 };
      const header = planHeader(plan, 'forward').filter((l) => !/^(database|fingerprint):/.test(l));
      const script = dialect.script(plan.steps, 'forward', header, { lockTimeoutMs });
      return { status: 'pending', count: plan.steps.length, planKey: statementsKey(plan.steps), detail: script };
    });
  const outcomes = await runEach(targets, work, args.parallel, fleetProgress('steps'));
  const groups = groupPlans(outcomes);
  const planIds = new Map(groups.map((g) => [g.key, g.id]));
  const summary = planSummary(outcomes, groups);
  if (args.format === 'json') {
    const plans = groups.map((g) => ({ id: g.id, statements: g.key, steps: g.steps, targets: g.targets }));
    return report('plan', args, outcomes, 'steps', { json: { summary, plans }, planIds });
  }
  const head = [summary, ...groups.map((g) => `  plan ${g.id} (${g.steps} steps): ${g.targets.join(', ')}`), ''];
  if (args.format === 'sql') {
    for (const g of groups) out(`-- ===== plan ${g.id}: ${g.targets.length} target(s): ${g.targets.join(', ')}\n${g.detail ?? ''}`);
  }
  return report('plan', args, outcomes, 'steps', { head });
}

export async function fleetApply(args: RolloutArgs & { yes: boolean; quiet: boolean }, options: Omit<ApplyOptions, 'confirm' | 'events' | 'manifestPath'>): Promise<number> {
  const { applyManifest } = await import('../../../run/apply.js');
  const { verifyManifest } = await import('../../../run/verify.js');
  const { statePathOf } = await import('./options.js');
  const { manifestKey } = await import('../../../run/fleet/state.js');
  const { targets, manifest } = await fleetOf(args);
  const work: Work = (t, { canary }) =>
    withRunEvents((events) =>
      onTarget(t, false, async (dialect) => {
        const result = await applyManifest(dialect, manifest, { ...options, manifestPath: manifestOf(args), confirm: async () => true, events });
        const count = result.plan.steps.length;
        if (canary) {
          // the canary proves the plan: what apply left must verify before any other target is touched
          const drift = await verifyManifest(dialect, manifest, manifestOf(args), { prune: options.prune });
          if (drift.length > 0) return { status: 'failed', count, error: `verify after apply: ${drift.length} object(s) drift (${drift[0].object}: ${drift[0].problem})` };
        }
        return { status: 'ok', count };
      }),
    );
  return runRollout(args, {
    command: 'apply',
    statePath: statePathOf(args),
    manifest: manifestKey(manifest),
    targets,
    work,
    question: (n) => `apply ${manifestOf(args)} to ${n} target(s), canary first?`,
  });
}

/** One rollout: apply's, or a rollback's. */
export interface Rollout {
  readonly command: 'apply' | 'rollback';
  readonly statePath?: string;
  /** apply: the manifest's digest, under which the runs each target applied are recorded. */
  readonly manifest?: string;
  readonly targets: readonly FleetTarget[];
  /** Targets left untouched without being opened, each with the reason (rollback: the last rollout applied nothing there). */
  readonly skip?: ReadonlyMap<string, string>;
  readonly work: Work;
  readonly question: (targets: number) => string;
}

/**
 * What apply and rollback share on a fleet: --only-failed from the state
 * file, one confirmation, the canary then waves, each outcome recorded in the
 * state file as it arrives, and the report with each target's longest lock wait.
 */
export async function runRollout(args: RolloutArgs & { yes: boolean; quiet: boolean }, run: Rollout): Promise<number> {
  const { rollOut } = await import('../../../run/fleet/rollout.js');
  const { readFleetState, stateRecorder, failedLastTime } = await import('../../../run/fleet/state.js');
  const { rolloutCounts } = await import('./options.js');
  const { confirmOnTerminal } = await import('../../confirm.js');
  const counts = rolloutCounts(args);
  const { statePath } = run;
  if (args['only-failed'] && !statePath) throw new SchemaDiffError('usage', '--only-failed reads the last rollout from --state FILE');
  const state = statePath ? await readFleetState(statePath) : null;
  let { targets } = run;
  if (args['only-failed']) {
    const failed = failedLastTime(state);
    targets = targets.filter((t) => failed.has(t.label));
    if (targets.length === 0) {
      out(`no target failed in the last rollout (${statePath})`);
      return 0;
    }
  }
  const skipped = new Map(targets.filter((t) => run.skip?.has(t.label)).map((t) => [t.label, run.skip?.get(t.label) as string]));
  const toRun = targets.filter((t) => !skipped.has(t.label));
  if (toRun.length > 0 && !(await confirmOnTerminal(run.question(toRun.length), args.yes))) return 1;
  const recorder = statePath ? stateRecorder(statePath, run.command, state, run.manifest) : null;
  const progress = fleetProgress('steps', args.quiet);
  const ran = await rollOut(toRun, run.work, {
    ...counts,
    // a re-run's canary is a target never tried: a converged one would prove nothing, a failed one is retried in the waves
    canaryCandidate: (t) => state?.targets[t.label] === undefined,
    events: {
      finished: (o, done, total) => {
        progress.finished?.(o, done, total);
        void recorder?.record(o);
      },
    },
  });
  await recorder?.settled();
  const outcomes = withSkipped(targets, ran, skipped);
  return report(run.command, args, outcomes, 'steps', { json: statePath ? { state: statePath } : {}, lockWait: true });
}

/** The outcomes in the fleet's order, each skipped target `untouched` with its reason. */
export function withSkipped(targets: readonly FleetTarget[], ran: readonly TargetOutcome[], skip: ReadonlyMap<string, string>): TargetOutcome[] {
  const byLabel = new Map(ran.map((o) => [o.label, o]));
  return targets.map((t): TargetOutcome => byLabel.get(t.label) ?? { label: t.label, status: 'untouched', count: 0, ms: 0, note: skip.get(t.label) });
}

export async function fleetVerify(args: FleetArgs & { prune: boolean }): Promise<number> {
  const { runEach } = await import('../../../run/fleet/rollout.js');
  const { verifyManifest } = await import('../../../run/verify.js');
  const { targets, manifest } = await fleetOf(args);
  const outcomes = await runEach(targets, (t) =>
    onTarget(t, true, async (dialect) => {
      const drift = await verifyManifest(dialect, manifest, manifestOf(args), { prune: args.prune });
      return drift.length === 0 ? { status: 'ok', count: 0 } : { status: 'pending', count: drift.length };
    }), args.parallel, fleetProgress('drift'));
  return report('verify', args, outcomes, 'drift');
}

export async function fleetValidate(
  args: FleetArgs,
  options: { samples: number; jobs: number; since?: { column: string; from: string } },
): Promise<number> {
  const { runEach } = await import('../../../run/fleet/rollout.js');
  const { validateManifest } = await import('../../../run/validate.js');
  const { targets, manifest } = await fleetOf(args);
  const outcomes = await runEach(targets, (t) =>
    onTarget(t, true, async (dialect) => {
      const { report: r } = await validateManifest(dialect, manifest as LoadedManifest, { ...options, jobs: 1 });
      return { status: r.ready ? 'ok' : 'violations', count: r.totals.violations };
    }), args.parallel, fleetProgress('violations'));
  return report('validate', args, outcomes, 'violations');
}

export async function fleetHistory(args: FleetArgs): Promise<number> {
  const { runEach } = await import('../../../run/fleet/rollout.js');
  const { loadTargets } = await import('./options.js');
  const targets = await loadTargets(args);
  const outcomes = await runEach(targets, (t) =>
    onTarget(t, true, async (dialect) => {
      const runs = await dialect.history();
      const last = runs[runs.length - 1];
      // a run left 'running' or 'failed' is worth a look: not an error of this command, but not a clean state either
      const clean = !last || last.status === 'done';
      return { status: clean ? 'ok' : 'pending', count: runs.length, ...(clean ? {} : { error: `last run #${last.id} ${last.status}` }) };
    }), args.parallel, fleetProgress('runs'));
  return report('history', args, outcomes, 'runs');
}
