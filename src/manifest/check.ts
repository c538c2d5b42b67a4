import type { ErrorObject, ValidateFunction } from 'ajv';
import { SchemaDiffError } from '../errors.js';
import { FK_ACTIONS } from '../schema/types.js';
import { didYouMean } from '../schema/names.js';
import { manifestJsonSchema } from './json-schema.js';
import { meaningProblems } from './meaning.js';
import { formatPath, pointerSegments } from './path.js';
import { validate } from './structure-validator.js';
import type { LoadedManifest } from './types.js';

// json-schema.ts compiled ahead of time by ajv (structure-validator-source.ts): no compile at each start
const validateStructure = validate as unknown as ValidateFunction;

/**
 * Checks a manifest: structure (JSON Schema) and meaning (duplicate names,
 * identifier lengths, column counts…). Throws one SchemaDiffError whose details
 * hold every problem found, one line each, in the manifest's own terms
 * (`tables.orders.checks[2].expr: must be a non-empty string`).
 */
export function checkManifest(value: unknown, source?: string): LoadedManifest {
  const problems = unique([...structureProblems(value), ...meaningProblems(value)]);
  if (problems.length > 0) {
    const head = problems.length === 1 ? problems[0] : `${problems.length} problems (one per line below)`;
    throw new SchemaDiffError('manifest', `invalid manifest${source ? ` ${source}` : ''}: ${head}`, problems);
  }
  return value as LoadedManifest;
}

interface Problem {
  readonly path: string;
  readonly message: string;
  /** For a required property: which one is missing. */
  readonly missing?: string;
  /** For an unknown property: the known one it is probably a typo of. */
  readonly suggestion?: string;
}

/** ajv's errors as one line per problem. */
function structureProblems(value: unknown): string[] {
  if (validateStructure(value)) return [];
  const problems = (validateStructure.errors ?? []).filter(isReported).map((e) => describeAjvError(e, value));
  return problems.filter((p) => !supersededByTypo(p, problems)).map((p) => `${p.path}: ${p.message}`);
}

/**
 * Errors that only echo another one: `if` says a then/else branch failed (the
 * branch reports why), and a property-name pattern is reported by its
 * `propertyNames` error with the offending key.
 */
function isReported(err: ErrorObject): boolean {
  if (err.keyword === 'if') return false;
  return !(err.keyword === 'pattern' && (err as { propertyName?: string }).propertyName !== undefined);
}

/** `unknown property "exp" (did you mean expr?)` already says that `expr` is missing. */
function supersededByTypo(p: Problem, all: readonly Problem[]): boolean {
  return p.missing !== undefined && all.some((q) => q.path === p.path && q.suggestion === p.missing);
}

function describeAjvError(err: ErrorObject, root: unknown): Problem {
  const segments = pointerSegments(err.instancePath);
  const path = formatPath(segments);
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required': {
      const missing = String(p.missingProperty);
      return { path, message: `missing required property "${missing}"`, missing };
    }
    case 'additionalProperties': {
      const name = String(p.additionalProperty);
      const hint = didYouMean(name, Object.keys(propertiesAt(err.schemaPath)));
      const suggestion = /did you mean (.*)\?/.exec(hint)?.[1];
      return { path, message: `unknown property "${name}"${hint}`, suggestion };
    }
    case 'propertyNames':
      return {
        path: formatPath([...segments, String(p.propertyName)]),
        message: segments.at(-1) === 'tables' ? 'a table key must be "table" or "schema.table"' : 'an option name must be a lower-case name (a-z, 0-9, _)',
      };
    case 'minLength':
      return { path, message: 'must be a non-empty string' };
    case 'pattern':
      return { path, message: patternMessage(String(p.pattern)) };
    case 'minItems':
      return { path, message: 'must not be empty' };
    case 'enum':
      if (segments.at(-1) === 'onDelete' || segments.at(-1) === 'onUpdate') {
        const actual = JSON.stringify(valueAt(root, segments));
        return { path, message: `unknown action ${actual} (expected one of: ${FK_ACTIONS.join(', ')})` };
      }
      return { path, message: `must be one of: ${(p.allowedValues as unknown[]).join(', ')}` };
    case 'const':
      return { path, message: `must be ${JSON.stringify(p.allowedValue)}` };
    case 'type':
      return { path, message: typeMessage(p.type, segments.at(-1)) };
    default:
      return { path, message: err.message ?? err.keyword };
  }
}

/** Names and values that reach SQL unquoted by nature (option names, opclass, collation) are kept to plain words. */
function patternMessage(pattern: string): string {
  if (pattern === '\\S') return 'must be a non-empty string';
  if (pattern === '^[A-Z][A-Z0-9_]*$') return 'must be an API code (upper case letters, digits and _, starting with a letter)';
  if (pattern.startsWith('^[a-z_]')) return 'must be a lower-case name (a-z, 0-9, _)';
  if (pattern.startsWith('^[A-Za-z_]')) return 'must be a name (letters, digits, _)';
  return 'must be a plain word (letters, digits, _ . + - @)';
}

function typeMessage(type: unknown, key: string | undefined): string {
  const types = Array.isArray(type) ? type.map(String) : String(type).split(',');
  if (types.includes('string') && types.includes('object')) {
    if (key === 'onDelete') return 'must be an action or { action, columns }';
    if (key === 'opclass') return 'must be an operator class name or { name, params }';
    return 'must be a column name or { column | expr, desc?, nulls?, opclass?, collate? }';
  }
  const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);
  return `must be ${types.map(article).join(' or ')}`;
}

function valueAt(root: unknown, segments: readonly string[]): unknown {
  let v = root;
  for (const s of segments) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[s] : undefined;
  return v;
}

/** The properties the schema node owning an additionalProperties error knows (for did-you-mean). */
function propertiesAt(schemaPath: string): Record<string, unknown> {
  // schemaPath looks like #/definitions/check/additionalProperties
  const node = valueAt(manifestJsonSchema, pointerSegments(schemaPath.replace(/^#/, '')).slice(0, -1));
  return ((node as { properties?: Record<string, unknown> } | undefined)?.properties ?? {}) as Record<string, unknown>;
}

function unique(lines: readonly string[]): string[] {
  return [...new Set(lines)];
}
