/**
 * schema-diff/runtime: what an application loads at run time to turn a
 * rejected write into the manifest's message and code. It imports no driver,
 * no Kysely, no yargs, no ajv, no tsx (test/runtime/entry.test.ts checks the
 * built files' imports): only the manifest object it is given.
 */
export {
  explainViolation,
  createViolationExplainer,
  httpStatusOf,
  GENERIC_FOREIGN_KEY,
  type ConstraintViolation,
  type ExplainOptions,
} from './explain.js';
export { recogniseViolation, type DriverViolation, type ForeignKeySide } from './driver-error.js';
export { rulesOf, codeFromName, type RuleInfo, type ViolationKind } from './rules.js';
