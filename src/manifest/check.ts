import { Ajv, type ErrorObject } from 'ajv';
import { SchemaDiffError } from '../errors.js';
import { FK_ACTIONS } from '../schema/types.js';
import { didYouMean, identifierTooLong, MAX_IDENTIFIER_BYTES } from '../schema/names.js';
import { manifestJsonSchema } from './json-schema.js';
import { formatPath, pointerSegments } from './path.js';
import { splitTableKey } from './resolve.js';
import type { LoadedManifest } from './types.js';

const ajv = new Ajv({ allErrors: true, strict: false });
const validateStructure = ajv.compile(manifestJsonSchema);

/**
 * Checks a manifest: structure first (JSON Schema), then meaning. Throws one
 * SchemaDiffError whose details hold every problem, one line each.
 */
export function checkManifest(value: unknown, source = 'manifest'): LoadedManifest {
  const structural = structureProblems(value);
  const problems = structural.length > 0 ? structural : meaningProblems(value as LoadedManifest);
  if (problems.length > 0) {
    const head = problems.length === 1 ? problems[0] : `${problems.length} problems in ${source}`;
    throw new SchemaDiffError('manifest', `invalid manifest ${source}: ${head}`, problems);
  }
  return value as LoadedManifest;
}

function structureProblems(value: unknown): string[] {
  currentValue = value; // read by valueAt() to quote the offending value
  if (validateStructure(value)) return [];
  const byPath = new Map<string, string>();
  for (const err of validateStructure.errors ?? []) {
    const [path, message] = describeAjvError(err);
    // anyOf/pattern/minLength report the same slot several times: the first says it best
    if (!byPath.has(path + message) && ![...byPath.keys()].some((k) => k.startsWith(path + ':'))) {
      byPath.set(path + message, `${path}: ${message}`);
    }
  }
  return dedupeByPath([...byPath.values()]);
}

function dedupeByPath(lines: string[]): string[] {
  const seen = new Set<string>();
  return lines.filter((l) => {
    const path = l.slice(0, l.indexOf(': '));
    if (seen.has(path) && !l.includes('unknown property') && !l.includes('missing required')) return false;
    seen.add(path);
    return true;
  });
}

function describeAjvError(err: ErrorObject): [string, string] {
  const segments = pointerSegments(err.instancePath);
  const path = formatPath(segments);
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required':
      return [path, `missing required property "${String(p.missingProperty)}"`];
    case 'additionalProperties': {
      const known = Object.keys(propertiesAt(err.schemaPath));
      return [path, `unknown property "${String(p.additionalProperty)}"${didYouMean(String(p.additionalProperty), known)}`];
    }
    case 'minLength':
    case 'pattern':
      return [path, 'must be a non-empty string'];
    case 'minItems':
      return [path, 'must not be empty'];
    case 'enum':
      if (segments.at(-1) === 'onDelete' || segments.at(-1) === 'onUpdate') {
        return [path, `unknown action ${JSON.stringify(valueAt(err))} (expected one of: ${FK_ACTIONS.join(', ')})`];
      }
      return [path, `must be one of: ${(p.allowedValues as unknown[]).join(', ')}`];
    case 'anyOf':
      return [path, 'must be a column name or { expr: "<sql expression>" }'];
    case 'const':
      return [path, `must be ${JSON.stringify(p.allowedValue)}`];
    case 'type':
      return [path, `must be ${p.type === 'array' ? 'an array' : `a ${String(p.type)}`}`];
    default:
      return [path, err.message ?? err.keyword];
  }
}

let currentValue: unknown;

function valueAt(err: ErrorObject): unknown {
  let v = currentValue as Record<string, unknown> | undefined;
  for (const s of pointerSegments(err.instancePath)) v = v?.[s] as Record<string, unknown> | undefined;
  return v;
}

function propertiesAt(schemaPath: string): Record<string, unknown> {
  // schemaPath looks like #/definitions/check/additionalProperties
  let node: unknown = manifestJsonSchema;
  for (const s of pointerSegments(schemaPath.replace(/^#/, '')).slice(0, -1)) {
    node = (node as Record<string, unknown>)[s];
  }
  return ((node as { properties?: Record<string, unknown> }).properties ?? {}) as Record<string, unknown>;
}

function meaningProblems(m: LoadedManifest): string[] {
  const problems: string[] = [];
  const indexNames = new Map<string, string>(); // schema.index -> path
  for (const [key, table] of Object.entries(m.tables)) {
    if (!table) continue;
    const tablePath = formatPath(['tables', key]);
    const { schema: keySchema, name } = splitTableKey(key);
    if (keySchema && table.schema && keySchema !== table.schema) {
      problems.push(`${tablePath}.schema: "${table.schema}" contradicts the key's schema "${keySchema}"`);
    }
    const schema = table.schema ?? keySchema ?? m.schema ?? 'public';
    tooLong(problems, tablePath, name, 'table name');
    const constraintNames = new Map<string, string>();
    const claim = (kind: string, itemPath: string, cname: string) => {
      tooLong(problems, `${itemPath}.name`, cname, `${kind} name`);
      const earlier = constraintNames.get(cname);
      if (earlier) problems.push(`${itemPath}.name: duplicate constraint name "${cname}" (also ${earlier})`);
      else constraintNames.set(cname, itemPath);
    };
    (table.checks ?? []).forEach((c, i) => claim('constraint', `${tablePath}.checks[${i}]`, c.name));
    (table.foreignKeys ?? []).forEach((fk, i) => {
      const fkPath = `${tablePath}.foreignKeys[${i}]`;
      claim('constraint', fkPath, fk.name);
      if (fk.columns.length !== fk.references.columns.length) {
        problems.push(
          `${fkPath}: ${fk.columns.length} column(s) (${fk.columns.join(', ')}) reference ${fk.references.columns.length} column(s) of ${fk.references.table} (${fk.references.columns.join(', ')})`,
        );
      }
      fk.columns.forEach((c, j) => tooLong(problems, `${fkPath}.columns[${j}]`, c, 'column name'));
      duplicateColumns(problems, `${fkPath}.columns`, fk.columns);
      if (fk.initiallyDeferred && fk.deferrable === false) {
        problems.push(`${fkPath}.initiallyDeferred: an initially deferred constraint must be deferrable`);
      }
    });
    (table.indexes ?? []).forEach((ix, i) => {
      const ixPath = `${tablePath}.indexes[${i}]`;
      tooLong(problems, `${ixPath}.name`, ix.name, 'index name');
      const qualified = `${schema}.${ix.name}`;
      const earlier = indexNames.get(qualified);
      if (earlier) problems.push(`${ixPath}.name: duplicate index name "${ix.name}" in schema ${schema} (also ${earlier})`);
      else indexNames.set(qualified, ixPath);
      const plain = ix.columns.filter((c): c is string => typeof c === 'string');
      duplicateColumns(problems, `${ixPath}.columns`, plain);
    });
  }
  return problems;
}

function tooLong(problems: string[], path: string, name: string, what: string): void {
  if (identifierTooLong(name)) {
    problems.push(`${path}: ${what} "${name}" is ${Buffer.byteLength(name)} bytes, over the ${MAX_IDENTIFIER_BYTES}-byte limit`);
  }
}

function duplicateColumns(problems: string[], path: string, columns: readonly string[]): void {
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c)) problems.push(`${path}: column "${c}" is listed twice`);
    seen.add(c);
  }
}
