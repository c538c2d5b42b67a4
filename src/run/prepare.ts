import type { Dialect } from '../dialect/dialect.js';
import { scriptRendererFor } from '../dialect/scripts.js';
import { checkAgainstCatalog } from '../diff/catalog-check.js';
import { diffSchemas } from '../diff/diff.js';
import { ownedComment, ownedComments, ownedObjects, withRemovals, type RemovalOptions } from '../diff/ownership.js';
import type { Diff } from '../diff/changes.js';
import { resolveManifest } from '../manifest/resolve.js';
import type { LoadedManifest } from '../manifest/types.js';
import { fingerprintCatalog } from '../plan/fingerprint.js';
import type { Plan } from '../plan/types.js';
import type { Catalog, DesiredTable, TableRef } from '../schema/types.js';
import { freeze, qualifiedName } from '../schema/types.js';
import { describeSteps, descriptionsOf } from './describe.js';
import { proveLegacyDefinitions } from './legacy-ownership.js';

/** The stages of `plan`, in the order they run; timed through PlanHooks. */
export type PlanPhase = 'resolve' | 'introspect' | 'normalize' | 'journal' | 'diff' | 'render';

/** Optional observers of preparePlan (the bench times each phase with them); none change what it does. */
export interface PlanHooks {
  phase?(phase: PlanPhase, ms: number): void;
}

export interface Prepared {
  readonly desired: readonly DesiredTable[];
  readonly catalog: Catalog;
  readonly diff: Diff;
  readonly plan: Plan;
}

/** The tables a manifest names, and the tables its foreign keys point to. */
export function tablesOf(desired: readonly DesiredTable[]): TableRef[] {
  const refs = new Map<string, TableRef>();
  for (const t of desired) {
    refs.set(qualifiedName(t.ref), t.ref);
    for (const fk of t.foreignKeys) refs.set(qualifiedName(fk.refTable), fk.refTable);
  }
  return [...refs.values()];
}

/** The manifest resolved for the dialect, every SQL fragment proven one expression before anything reaches the database. */
export async function desiredFor(dialect: Dialect, manifest: LoadedManifest): Promise<readonly DesiredTable[]> {
  const desired = resolveManifest(manifest, {
    dialect: dialect.name,
    defaultSchema: dialect.defaultSchema,
    hasSchemas: dialect.hasSchemas,
    unnamedConstraints: dialect.unnamedConstraints === true,
  });
  await dialect.checkManifest(desired);
  return desired;
}

/** preparePlan's options: which removals to plan, and observers of its phases. */
export interface PrepareOptions extends RemovalOptions {
  readonly hooks?: PlanHooks;
}

/**
 * manifest → catalog → normalize → diff → steps: everything `plan` shows and
 * `apply` runs. The journal says what schema-diff owns: what it created and
 * the manifest no longer lists is dropped (diff/ownership.ts).
 */
export async function preparePlan(dialect: Dialect, manifest: LoadedManifest, manifestPath: string, options: PrepareOptions = {}): Promise<Prepared> {
  const timed = phaseTimer(options.hooks ?? {});
  const raw = await timed('resolve', () => desiredFor(dialect, manifest));
  const catalog = await timed('introspect', () => dialect.introspect(tablesOf(raw), { normalizeNext: true }));
  checkAgainstCatalog(raw, catalog);
  const desired = await timed('normalize', () => dialect.normalize(raw, catalog));
  const journal = await timed('journal', () => dialect.history());
  const owned = proveLegacyDefinitions(dialect, catalog, ownedObjects(journal));
  const comments = ownedComments(journal);
  const diffOptions = { comments: dialect.comments === true, ourComment: ownedComment.bind(null, comments) };
  const diff = await timed('diff', async () => withRemovals(diffSchemas(desired, catalog, diffOptions), desired, catalog, owned, options));
  const steps = await timed('render', async () => dialect.render(diff.changes, catalog));
  const plan: Plan = freeze({
    version: 1,
    dialect: dialect.name,
    target: dialect.target,
    manifest: manifestPath,
    fingerprint: fingerprintCatalog(catalog),
    createdAt: new Date().toISOString(),
    steps: describeSteps(steps, descriptionsOf(desired)),
    unmanaged: diff.unmanaged,
    warnings: diff.warnings,
  });
  return { desired, catalog, diff, plan };
}

function phaseTimer(hooks: PlanHooks) {
  return async <T>(phase: PlanPhase, body: () => Promise<T>): Promise<T> => {
    if (!hooks.phase) return body();
    const started = performance.now();
    const result = await body();
    hooks.phase(phase, performance.now() - started);
    return result;
  };
}

export function planHeader(plan: Plan, direction: 'forward' | 'inverse'): string[] {
  return [
    direction === 'forward' ? 'schema-diff plan' : 'schema-diff plan --inverse (undoes the plan below, last step first)',
    `database:    ${plan.target}`,
    `manifest:    ${plan.manifest}`,
    `fingerprint: ${plan.fingerprint}`,
    `steps:       ${plan.steps.length}`,
  ];
}

/**
 * A plan as the script its database's own shell runs (psql, sqlite3), with no
 * connection: the renderer is chosen by plan.dialect. `inverse` undoes the plan.
 */
export function renderScript(
  plan: Plan,
  options: { direction?: 'forward' | 'inverse'; lockTimeoutMs?: number } = {},
): string {
  const direction = options.direction ?? 'forward';
  return scriptRendererFor(plan.dialect)(plan.steps, direction, planHeader(plan, direction), { lockTimeoutMs: options.lockTimeoutMs ?? 25 });
}
