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
export { rollback, planRollback, type RollbackOptions, type RollbackScope, type RollbackResult } from './run/rollback.js';
export { SchemaDiffError } from './errors.js';
export {
  explainViolation,
  createViolationExplainer,
  type ConstraintViolation,
  type ExplainOptions,
  type RuleInfo,
} from './runtime/index.js';
export const VERSION = '0.1.0';
