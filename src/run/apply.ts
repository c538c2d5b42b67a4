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
import { undoOwnRun } from './rollback.js';
import type { RecordedRun } from './rollback-select.js';
import { targetsOfChanges } from './targets.js';
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
  /**
   * runStarted: the journal run is open (a fleet records it, also of an apply that fails later); runUndone:
   * every change of that run was undone again before apply stopped (a refusal after index builds beside the check).
   */
  readonly events?: ExecuteEvents & {
    notice?(message: string): void;
    runStarted?(runId: number, fingerprint: string): void;
    runUndone?(runId: number): void;
  };
  /** The manifest is the whole truth for the tables it names: drop what it does not mention (--prune). */
  readonly prune?: boolean;
  /**
   * From how many bytes of tables to check apply builds the plan's leading new
   * non-unique indexes while it checks existing rows (default 64 MiB; where
   * the dialect can, Dialect.bytesToScan). Below it the check runs first and a
   * refusal leaves no trace; above it a refusal drops those indexes again.
   */
  readonly buildWhileCheckingFromBytes?: number;
}

/** Below this the check of existing rows takes well under a second: not worth a journal trace on refusal. */
const BUILD_WHILE_CHECKING_FROM_BYTES = 64 * 1024 * 1024;

export interface ApplyResult {
  readonly plan: Plan;
  readonly runId: number | null;
  /** Constraints left NOT VALID because existing rows break them (--allow-not-valid). */
  readonly leftNotValid: readonly string[];
}

/**
 * apply: take the advisory lock, plan against the catalog as it is now (so a
 * concurrent apply that finished first is seen), refuse on violating rows,
 * confirm, then run every step with its safety discipline, journaled. On a
 * big database the check of the rows runs while the first new plain indexes
 * build (applyWhileChecking); otherwise, and as before, it comes first.
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
    const lead = await buildsBesideCheck(dialect, prepared, options);
    if (lead > 0) {
      const runId = await applyWhileChecking(dialect, prepared, options, lead);
      await rememberNormalized(dialect, prepared, options);
      return { plan: prepared.plan, runId, leftNotValid: [] };
    }
    const { plan, leftNotValid } = refuseOnViolations(dialect, prepared, options, await rowsBlockingApply(dialect, prepared.diff.changes, options.events?.notice));
    await confirmOrRefuse(plan, options);
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
    // the same count: other statements, or the same ones in another order (a plan saved by an older schema-diff)
    const counts =
      saved.steps.length === now.steps.length
        ? `${now.steps.length} step(s) either way, not the same statements in the same order`
        : `${saved.steps.length} step(s) saved, ${now.steps.length} now`;
    throw new SchemaDiffError('refused', `the manifest no longer produces the saved plan (${counts}); run plan again`);
  }
}

async function confirmOrRefuse(plan: Plan, options: ApplyOptions): Promise<void> {
  if (!(await options.confirm(plan))) throw new SchemaDiffError('refused', 'apply not confirmed; nothing was changed');
}

/**
 * How many of the plan's first steps apply may run while it still checks
 * existing rows: new indexes that are not unique (the check has nothing to say
 * about them, and undoing one drops only what this run built), on a database
 * where the check reads on connections of its own and is long enough to hide
 * them behind. 0: check first, as always. Never with --allow-not-valid, whose
 * plan depends on the check's outcome, nor where the journal is not ours to
 * trust: a refusal undoes the builds through it, as rollback does.
 */
async function buildsBesideCheck(dialect: Dialect, prepared: Prepared, options: ApplyOptions): Promise<number> {
  const from = options.buildWhileCheckingFromBytes ?? BUILD_WHILE_CHECKING_FROM_BYTES;
  if (options.allowNotValid || !dialect.bytesToScan || from === Number.POSITIVE_INFINITY) return 0;
  const targets = targetsOfChanges(prepared.diff.changes);
  if (targets.length === 0) return 0;
  const checked = new Set(targets.map((t) => t.name));
  const steps = prepared.plan.steps;
  let lead = 0;
  while (lead < steps.length && steps[lead].action === 'create_index' && steps[lead].objects.every((o) => !checked.has(o))) lead++;
  if (lead === 0) return 0;
  if (!(await dialect.checkJournalTrust().then(() => true, () => false))) return 0;
  // only a shortcut: when the size cannot be read, the check simply runs first
  const bytes = await dialect.bytesToScan(targets).catch(() => null);
  return bytes !== null && bytes >= from ? lead : 0;
}

/**
 * apply on a big database: confirmed first, then the check of existing rows
 * runs on its own connections while the plan's first `lead` steps (new plain
 * indexes, CONCURRENTLY) run on the session; nothing else runs before the
 * check is clean. A refusal, or a check that ends without a verdict, undoes
 * what was built, journaled as a rollback of this run, so that the catalog is
 * as it was and the history says why. Each build also waits, at its end, for
 * the check's transaction of the moment to finish (as for any older snapshot).
 * Once the check is clean, the rest of the plan (the builds still to come
 * among it) runs on two connections (plan/schedule.ts): two tables'
 * VALIDATEs at once; builds and write-blocking steps alone.
 */
async function applyWhileChecking(dialect: Dialect, prepared: Prepared, options: ApplyOptions, lead: number): Promise<number> {
  const { plan } = prepared;
  await confirmOrRefuse(plan, options);
  const check = settling(rowsBlockingApply(dialect, prepared.diff.changes, options.events?.notice, { beside: lead }));
  let runId: number;
  try {
    runId = await dialect.startRun('apply', options.manifestPath, plan.fingerprint, plan.steps);
  } catch (e) {
    // the check must end before the lock is released and the connection closed
    await check.result.catch(() => {});
    throw e;
  }
  options.events?.runStarted?.(runId, plan.fingerprint);
  let built = 0;
  let buildError: unknown;
  try {
    // one step at a time, so that a refusal that comes early stops the builds early, and a clean verdict
    // lets the rest of the plan start beside the builds still to come
    while (built < lead && !check.settled()) {
      await dialect.execute([plan.steps[built]], { runId }, { ...numbered(options, built, plan.steps.length), besideCheck: true });
      built++;
    }
  } catch (e) {
    buildError = e;
  }
  const verdict = await check.result.then(
    (bad) => ({ bad, error: undefined }),
    (error: unknown) => ({ bad: [], error }),
  );
  if (verdict.error === undefined && verdict.bad.length === 0) {
    try {
      // a build that failed as any step can, the rows being clean: the next apply goes on from what was built
      if (buildError !== undefined) throw buildError;
      // a big database: two tables' VALIDATEs at once (the rest still one at a time)
      await dialect.execute(plan.steps.slice(built), { runId }, { ...numbered(options, built, plan.steps.length), concurrentSteps: 2 });
      await dialect.finishRun(runId, 'done');
      return runId;
    } catch (e) {
      await dialect.finishRun(runId, 'failed').catch(() => {});
      throw e;
    }
  }
  // the refusal (or the check's error) is what the user must act on; a build that failed meanwhile is said too
  await dialect.finishRun(runId, 'failed').catch(() => {});
  const also = buildError === undefined ? '' : `; a build failed meanwhile: ${messageOf(buildError).split('\n')[0]}`;
  const outcome = (await undoBuilt(dialect, options, { id: runId, fingerprint: plan.fingerprint }, built)) + also;
  throw verdict.error !== undefined ? withOutcome(verdict.error, outcome) : violationRefusalOf(dialect, verdict.bad, outcome);
}

/**
 * Drops again the indexes built beside the check (a journaled rollback of this
 * run) and says how that went, as the end of the error apply stops with.
 */
async function undoBuilt(dialect: Dialect, options: ApplyOptions, run: RecordedRun, built: number): Promise<string> {
  if (built === 0) return 'nothing was changed';
  const what = `${built} index(es) built while the rows were checked`;
  options.events?.notice?.(`dropping again the ${what} (a rollback of apply run ${run.id})`);
  try {
    const undone = await undoOwnRun(dialect, run, options);
    options.events?.runUndone?.(run.id);
    return `the ${what} were dropped again (journal runs ${run.id} and ${undone}), nothing else was changed`;
  } catch (e) {
    return `dropping again the ${what} (apply run ${run.id}) failed: ${messageOf(e).split('\n')[0]}; run schema-diff rollback to finish`;
  }
}

/** The check's own error, ending with what became of the indexes built beside it. */
function withOutcome(e: unknown, outcome: string): SchemaDiffError {
  if (e instanceof SchemaDiffError) return new SchemaDiffError(e.code, `${e.message.replace(/; nothing was changed$/, '')}; ${outcome}`, e.details, { cause: e });
  return new SchemaDiffError('execution', `the check of existing rows failed: ${messageOf(e).split('\n')[0]}; ${outcome}`, [], { cause: e });
}

/** A promise whose outcome can be asked for without waiting: settled() once it has one. */
function settling<T extends readonly unknown[]>(promise: Promise<T>) {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { result: promise, settled: () => settled };
}

/** Options whose step events count from `offset` of `total`, for a plan run in parts. */
function numbered(options: ExecuteOptions, offset: number, total: number): ExecuteOptions {
  const events = options.events;
  if (!events) return options;
  return {
    ...options,
    events: {
      ...events,
      stepStarted: events.stepStarted && ((step, i) => events.stepStarted?.(step, offset + i, total)),
      stepFinished: events.stepFinished && ((step, i, _n, ms, attempts) => events.stepFinished?.(step, offset + i, total, ms, attempts)),
    },
  };
}

/** The plan to run, or the refusal: existing rows break constraints it adds (with --allow-not-valid, those stay NOT VALID). */
function refuseOnViolations(dialect: Dialect, prepared: Prepared, options: ApplyOptions, bad: readonly ViolationCount[]) {
  if (bad.length === 0) return { plan: prepared.plan, leftNotValid: [] };
  // Where NOT VALID does not exist, render refuses skipValidation with the dialect's own explanation.
  const blocking = bad.filter((c) => !options.allowNotValid || c.kind === 'unique' || c.error);
  if (blocking.length > 0) throw violationRefusalOf(dialect, blocking, 'nothing was changed');
  const leftNotValid = bad.map((c) => c.name);
  options.events?.notice?.(`leaving NOT VALID (existing rows break them): ${bad.map(describe).join(', ')}`);
  const steps = dialect.render(prepared.diff.changes, prepared.catalog, { skipValidation: new Set(leftNotValid) });
  return { plan: { ...prepared.plan, steps: describeSteps(steps, descriptionsOf(prepared.desired)) }, leftNotValid };
}

/** existing rows violate …; `outcome` (what was left as it was); the hint at validate and, where it helps, --allow-not-valid. */
function violationRefusalOf(dialect: Dialect, blocking: readonly ViolationCount[], outcome: string): SchemaDiffError {
  const notValidPossible = dialect.supportsNotValid !== false;
  const hint = notValidPossible && blocking.some((c) => c.kind !== 'unique') ? '; or --allow-not-valid to enforce them for new rows only' : '';
  return violationRefusal(
    `existing rows violate ${blocking.length} constraint(s): ${blocking.map(describe).join(', ')}; ${outcome} (see schema-diff validate${hint})`,
    blocking.map(describe),
  );
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
