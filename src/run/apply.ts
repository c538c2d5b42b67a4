import type { Dialect, ExecuteEvents, ExecuteOptions, ViolationCount } from '../dialect/dialect.js';
import { isDropChange } from '../diff/changes.js';
import { SchemaDiffError, messageOf } from '../errors.js';
import type { LoadedManifest } from '../manifest/types.js';
import type { Plan } from '../plan/types.js';
import { qualifiedName } from '../schema/types.js';
import { checkLimits } from './limits.js';
import { desiredFor, preparePlan, type Prepared } from './prepare.js';
import { closeInterruptedRuns } from './recover.js';
import { rowsBlockingApply } from './blockers.js';
import { describeSteps, descriptionsOf } from './describe.js';

export interface ApplyOptions extends Pick<ExecuteOptions, 'backup' | 'keepBackups'> {
  readonly manifestPath: string;
  /** A plan saved by `plan --out`: refused if the database changed since. */
  readonly savedPlan?: Plan;
  readonly lockTimeoutMs: number;
  readonly lockRetries: number;
  readonly retryBudgetMs: number;
  /** How long to wait for another apply to finish. */
  readonly lockWaitMs: number;
  /** Add violated constraints NOT VALID instead of refusing. */
  readonly allowNotValid: boolean;
  /** Asked once the final plan is known; false refuses. */
  readonly confirm: (plan: Plan) => Promise<boolean>;
  /** runStarted: the journal run is open (a fleet records it, also of an apply that fails later). */
  readonly events?: ExecuteEvents & { notice?(message: string): void; runStarted?(runId: number, fingerprint: string): void };
  /** The manifest is the whole truth for the tables it names: drop what it does not mention (--prune). */
  readonly prune?: boolean;
}

export interface ApplyResult {
  readonly plan: Plan;
  readonly runId: number | null;
  /** Constraints left NOT VALID because existing rows break them (--allow-not-valid). */
  readonly leftNotValid: readonly string[];
}

/**
 * apply: take the advisory lock, plan against the catalog as it is now (so a
 * concurrent apply that finished first is seen), refuse on violating rows,
 * confirm, then run every step with its safety discipline, journaled.
 */
export async function applyManifest(dialect: Dialect, manifest: LoadedManifest, options: ApplyOptions): Promise<ApplyResult> {
  checkLimits(options);
  // Refusals that need no lock come first: a hostile manifest or an unsafe lock timeout never waits for,
  // or leaves a trace of, the apply lock (SQLite's is a side file).
  await desiredFor(dialect, manifest);
  await dialect.checkExecuteOptions?.(options);
  const release = await dialect.lock(options.lockWaitMs);
  try {
    await closeInterruptedRuns(dialect, options.events?.notice);
    const prepared = await preparePlan(dialect, manifest, options.manifestPath, { prune: options.prune });
    // Dropping what the journal says schema-diff made is running on the journal's word: it must be ours to trust.
    if (prepared.diff.changes.some((c) => isDropChange(c) && c.why === 'removed')) await dialect.checkJournalTrust();
    if (options.savedPlan) refuseStalePlan(options.savedPlan, prepared.plan);
    if (prepared.plan.steps.length === 0) {
      await rememberNormalized(dialect, prepared, options);
      return { plan: prepared.plan, runId: null, leftNotValid: [] };
    }
    const { plan, leftNotValid } = await refuseOnViolations(dialect, prepared, options);
    if (!(await options.confirm(plan))) {
      throw new SchemaDiffError('refused', 'apply not confirmed; nothing was changed');
    }
    const runId = await dialect.startRun('apply', options.manifestPath, plan.fingerprint, plan.steps);
    options.events?.runStarted?.(runId, plan.fingerprint);
    try {
      await dialect.execute(plan.steps, { runId }, options);
      await dialect.finishRun(runId, 'done');
    } catch (e) {
      await dialect.finishRun(runId, 'failed').catch(() => {});
      throw e;
    }
    await rememberNormalized(dialect, prepared, options);
    return { plan, runId, leftNotValid };
  } finally {
    await release().catch(() => {});
  }
}

/**
 * The catalog now holds the manifest: its expressions' canonical forms are
 * recorded for later plans. Only a shortcut for them, so a failure to record
 * (a role without CREATE on the database, say) is a notice, never a failed apply.
 */
async function rememberNormalized(dialect: Dialect, prepared: Prepared, options: ApplyOptions): Promise<void> {
  try {
    await dialect.recordNormalized?.(prepared.desired, prepared.catalog);
  } catch (e) {
    options.events?.notice?.(`could not record the manifest's canonical expressions (later plans normalize them again): ${messageOf(e).split('\n')[0]}`);
  }
}

/**
 * A reviewed plan is applied only as it was reviewed: the catalog it was made
 * against must be unchanged, and the current manifest must still produce the
 * very same statements (a manifest edited after review is refused too).
 */
export function refuseStalePlan(saved: Plan, now: Plan): void {
  if (saved.fingerprint !== now.fingerprint) {
    throw new SchemaDiffError(
      'refused',
      `the database changed since the plan was made (plan ${saved.fingerprint.slice(0, 19)}…, now ${now.fingerprint.slice(0, 19)}…); run plan again`,
    );
  }
  const statements = (p: Plan) => JSON.stringify(p.steps.map((s) => [s.action, s.name, s.sql]));
  if (statements(saved) !== statements(now)) {
    throw new SchemaDiffError(
      'refused',
      `the manifest no longer produces the saved plan (${saved.steps.length} step(s) saved, ${now.steps.length} now); run plan again`,
    );
  }
}

async function refuseOnViolations(dialect: Dialect, prepared: Prepared, options: ApplyOptions) {
  const bad = await rowsBlockingApply(dialect, prepared.diff.changes, options.events?.notice);
  if (bad.length === 0) return { plan: prepared.plan, leftNotValid: [] };
  const notValidPossible = dialect.supportsNotValid !== false;
  // Where NOT VALID does not exist, render refuses skipValidation with the dialect's own explanation.
  const blocking = bad.filter((c) => !options.allowNotValid || c.kind === 'unique' || c.error);
  if (blocking.length > 0) {
    const hint =
      notValidPossible && blocking.some((c) => c.kind !== 'unique') ? '; or --allow-not-valid to enforce them for new rows only' : '';
    throw violationRefusal(
      `existing rows violate ${blocking.length} constraint(s): ${blocking.map(describe).join(', ')}; nothing was changed (see schema-diff validate${hint})`,
      blocking.map(describe),
    );
  }
  const leftNotValid = bad.map((c) => c.name);
  options.events?.notice?.(`leaving NOT VALID (existing rows break them): ${bad.map(describe).join(', ')}`);
  const steps = dialect.render(prepared.diff.changes, prepared.catalog, { skipValidation: new Set(leftNotValid) });
  return { plan: { ...prepared.plan, steps: describeSteps(steps, descriptionsOf(prepared.desired)) }, leftNotValid };
}

const violationRefusals = new WeakSet<Error>();

/** A refusal because existing rows break the manifest: the data must change, not the rollout (fleets count it apart). */
function violationRefusal(message: string, details: readonly string[]): SchemaDiffError {
  const e = new SchemaDiffError('refused', message, details);
  violationRefusals.add(e);
  return e;
}

export function isViolationRefusal(e: unknown): boolean {
  return e instanceof Error && violationRefusals.has(e);
}

function describe(c: ViolationCount): string {
  if (c.error) return `${c.name} on ${qualifiedName(c.table)} (error: ${c.error})`;
  return `${c.name} on ${qualifiedName(c.table)} (${c.violations} row${c.violations === 1 ? '' : 's'})`;
}
