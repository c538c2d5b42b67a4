import type { ViolationCount } from '../dialect/dialect.js';
import { withConnection, type Connection } from '../dialect/open.js';
import type { LoadedManifest } from '../manifest/types.js';
import type { Plan } from '../plan/types.js';
import { applyManifest, type ApplyOptions, type ApplyResult } from './apply.js';
import { rowsBlockingApply } from './blockers.js';
import { renderManifestSource } from '../publish/manifest-source.js';
import { preparePlan } from './prepare.js';
import { pullManifest, type PullOptions, type Pulled } from './pull.js';
import { rollback as rollbackOn, type RollbackOptions, type RollbackResult } from './rollback.js';
import { validateManifest, type ValidateOptions, type ValidationReport } from './validate.js';
import { verifyManifest, type Drift } from './verify.js';

/**
 * The library's one-call functions: where the database is (a URL, a Kysely
 * instance or a pg.Pool the caller holds), the manifest (an object built in
 * code, or a file path), and options that all have the CLI's defaults.
 */
export type Target = Connection;

export interface ManifestInput {
  /** defineManifest({...}) or a path to a .ts/.js/.json manifest. */
  readonly manifest: LoadedManifest | string;
  /** The name plans and the journal record; default: the path given, else "(manifest in code)". */
  readonly manifestPath?: string;
}

const IN_CODE = '(manifest in code)';

async function manifestOf(input: ManifestInput): Promise<{ manifest: LoadedManifest; path: string }> {
  if (typeof input.manifest !== 'string') return { manifest: input.manifest, path: input.manifestPath ?? IN_CODE };
  const { loadManifest } = await import('../manifest/load.js');
  return { manifest: await loadManifest(input.manifest), path: input.manifestPath ?? input.manifest };
}

export interface PlanResult {
  readonly plan: Plan;
  /** Constraints the plan adds that existing rows break: apply would refuse them (empty when checkRows is false). */
  readonly blockers: readonly ViolationCount[];
}

/** The plan that would bring the database to the manifest; read-only. Render it with renderScript(plan). */
export async function plan(options: Target & ManifestInput & { readonly checkRows?: boolean }): Promise<PlanResult> {
  const { manifest, path } = await manifestOf(options);
  return withConnection(options, { readOnly: true }, async (dialect) => {
    const prepared = await preparePlan(dialect, manifest, path);
    const blockers = options.checkRows === false ? [] : await rowsBlockingApply(dialect, prepared.diff.changes);
    return { plan: prepared.plan, blockers };
  });
}

/** apply's safety settings, each defaulting as the CLI's flag does. */
export const APPLY_DEFAULTS = { lockTimeoutMs: 25, lockRetries: 50, retryBudgetMs: 60_000, lockWaitMs: 10_000, allowNotValid: false } as const;

/**
 * Brings the database to the manifest, online, journaled. Calling it is the
 * confirmation: `confirm` defaults to yes (pass one to look at the plan first).
 */
export async function apply(options: Target & ManifestInput & Partial<Omit<ApplyOptions, 'manifestPath'>>): Promise<ApplyResult> {
  const { manifest, path } = await manifestOf(options);
  return withConnection(options, {}, (dialect) =>
    applyManifest(dialect, manifest, {
      ...APPLY_DEFAULTS,
      confirm: async () => true,
      ...definedOnly(options),
      manifestPath: path,
    }),
  );
}

/** Every manifest object present, equal and valid: an empty list means the database matches. Read-only. */
export async function verify(options: Target & ManifestInput): Promise<Drift[]> {
  const { manifest, path } = await manifestOf(options);
  return withConnection(options, { readOnly: true }, (dialect) => verifyManifest(dialect, manifest, path));
}

/** The rows that break the manifest's constraints (docs/validate.md). Read-only. */
export async function validate(options: Target & ManifestInput & Partial<ValidateOptions>): Promise<ValidationReport> {
  const { manifest } = await manifestOf(options);
  const jobs = options.jobs ?? 2;
  return withConnection(options, { readOnly: true, poolSize: jobs }, async (dialect) => {
    const { report } = await validateManifest(dialect, manifest, { samples: 5, ...definedOnly(options), jobs });
    return report;
  });
}

/** Undoes the last apply (default), every apply after a run, or single objects; `confirm` defaults to yes. */
export async function rollback(options: Target & Partial<RollbackOptions>): Promise<RollbackResult> {
  return withConnection(options, { readOnly: options.dryRun === true }, (dialect) =>
    rollbackOn(dialect, {
      scope: { kind: 'last' },
      dryRun: false,
      lockTimeoutMs: APPLY_DEFAULTS.lockTimeoutMs,
      lockRetries: APPLY_DEFAULTS.lockRetries,
      retryBudgetMs: APPLY_DEFAULTS.retryBudgetMs,
      lockWaitMs: APPLY_DEFAULTS.lockWaitMs,
      confirm: async () => true,
      ...definedOnly(options),
    }),
  );
}

/**
 * The manifest of what the database has (`schema-diff pull`), as an object
 * and, when `format` is given, as the source text of a manifest file. Read-only.
 */
export async function pull(options: Target & PullOptions & { readonly format?: 'ts' | 'json'; readonly dbType?: string }): Promise<Pulled & { readonly source?: string }> {
  const pulled = await withConnection(options, { readOnly: true }, (dialect) => pullManifest(dialect, { tables: options.tables, schemas: options.schemas }));
  if (!options.format) return pulled;
  return { ...pulled, source: renderManifestSource(pulled.manifest, { format: options.format, dbType: options.dbType }) };
}

/** The options the caller set, so that an explicit undefined does not erase a default. */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
