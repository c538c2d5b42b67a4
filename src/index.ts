/**
 * schema-diff as a library: declare a manifest, open a database, plan, apply,
 * verify. The CLI (src/cli) is a thin layer over these functions.
 */
export { defineManifest } from './manifest/define.js';
export type { Manifest, CheckSpec, ForeignKeySpec, IndexSpec, TableSpec, LoadedManifest } from './manifest/types.js';
export { manifestJsonSchema } from './manifest/json-schema.js';
export { checkManifest } from './manifest/check.js';
export { loadManifest } from './manifest/load.js';
export type * from './schema/types.js';
export type { Change, Diff, Unmanaged, PlanWarning } from './diff/changes.js';
export type { Plan, Step, StepAction, Hazard } from './plan/types.js';
export { planHazards } from './plan/types.js';
export type { Dialect, ViolationTarget, ViolationCount, HistoryRun, HistoryStep } from './dialect/dialect.js';
export { openDialect } from './dialect/open.js';
export { preparePlan } from './run/prepare.js';
export { applyManifest, type ApplyOptions, type ApplyResult } from './run/apply.js';
export { verifyManifest, type Drift } from './run/verify.js';
export { validateManifest, type ValidateOptions, type ValidationReport } from './run/validate.js';
export { rollback as rollbackDialect, planRollback, type RollbackOptions, type RollbackScope, type RecordedRun, type RollbackResult } from './run/rollback.js';
export { SchemaDiffError } from './errors.js';

// One call each, on a URL, a Kysely instance ({ db }) or a pg.Pool ({ pool }); every option defaulted (docs/library.md).
export { plan, apply, verify, validate, rollback, pull, APPLY_DEFAULTS, type PlanResult, type ManifestInput, type Target } from './run/library.js';
export { withConnection, type Connection } from './dialect/open.js';
export { renderScript } from './run/prepare.js';
export { scriptRendererFor, type ScriptRenderer } from './dialect/scripts.js';
export { renderAlembic, type AlembicOptions } from './publish/alembic.js';
export type { PullOptions, Pulled } from './run/pull.js';
export { HAZARDS } from './plan/types.js';
export type { ViolationCount as Blocker } from './dialect/dialect.js';
export { loadPlan, savePlan } from './plan/plan-file.js';
export { defineConfig, type SchemaDiffConfig } from './cli/config.js';
export { VERSION } from './version.js';
export {
  explainViolation,
  createViolationExplainer,
  type ConstraintViolation,
  type ExplainOptions,
  type RuleInfo,
} from './runtime/index.js';
