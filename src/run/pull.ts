import type { Dialect } from '../dialect/dialect.js';
import { SchemaDiffError } from '../errors.js';
import { checkManifest } from '../manifest/check.js';
import { manifestFromCatalog, type PullNote } from '../manifest/pull.js';
import { splitTableKey } from '../manifest/resolve.js';
import type { LoadedManifest } from '../manifest/types.js';
import { printable } from '../schema/printable.js';
import type { Catalog, DesiredTable, TableRef } from '../schema/types.js';
import { qualifiedName } from '../schema/types.js';
import { desiredFor } from './prepare.js';
import { diffSchemas } from '../diff/diff.js';
import { isDropChange, type DesiredChange } from '../diff/changes.js';

export interface PullOptions {
  /** `table` or `schema.table`; absent or empty: every user table (of `schemas`). */
  readonly tables?: readonly string[];
  /** Only these schemas; absent or empty: every user schema. */
  readonly schemas?: readonly string[];
}

export interface Pulled {
  readonly manifest: LoadedManifest;
  /** The tables read, in the manifest's order. */
  readonly tables: readonly TableRef[];
  readonly notes: readonly PullNote[];
}

/**
 * `schema-diff pull`: the manifest of what the database has, reading only.
 * The result is held to the checks every manifest passes (structure, meaning,
 * and the dialect's proof that each fragment is one expression) before anyone
 * sees it: pull never writes a manifest that plan would refuse.
 */
export async function pullManifest(dialect: Dialect, options: PullOptions = {}): Promise<Pulled> {
  const schemas = schemasOf(dialect, options.schemas ?? []);
  const listed = await dialect.listTables(schemas);
  const tables = options.tables?.length ? pickTables(dialect, listed, options.tables, schemas) : listed;
  const catalog = await dialect.introspect(tables);
  const { manifest, notes } = manifestFromCatalog(catalog, {
    tables,
    defaultSchema: dialect.defaultSchema,
    hasSchemas: dialect.hasSchemas,
    sourceOf: (canonical) => dialect.sourceOf?.(canonical) ?? canonical,
  });
  checkManifest(manifest, '(pulled)');
  const desired = await desiredFor(dialect, manifest);
  return { manifest, tables, notes: [...notes, ...(await roundTripNotes(dialect, desired, catalog))] };
}

/**
 * What plan would still change with the pulled manifest, found the way plan
 * finds it (normalize, then diff), each named: an expression the database
 * prints in a form that does not read back the same is said, never left for
 * the first plan to reveal. NOT VALID constraints are noted already.
 */
async function roundTripNotes(dialect: Dialect, desired: readonly DesiredTable[], catalog: Catalog): Promise<PullNote[]> {
  const { changes } = diffSchemas(await dialect.normalize(desired, catalog), catalog);
  return changes
    .filter((c): c is DesiredChange => !isDropChange(c) && c.kind !== 'validate_check' && c.kind !== 'validate_foreign_key')
    .map((c) => ({
      object: `${printable(qualifiedName(c.table))}: ${printable(c.desired.name)}`,
      reason: `the database prints it in a form that does not read back the same, so plan would ${c.kind.replace(/_/g, ' ')}: write it as it was first written`,
      skipped: false,
    }));
}

function schemasOf(dialect: Dialect, schemas: readonly string[]): readonly string[] | null {
  const wanted = [...new Set(schemas.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean))];
  if (wanted.length === 0) return null;
  const other = wanted.find((s) => s !== dialect.defaultSchema);
  if (!dialect.hasSchemas && other !== undefined) {
    throw new SchemaDiffError('usage', `--schema: ${dialect.name} has no schema "${printable(other)}" (every table is in ${dialect.defaultSchema})`);
  }
  return wanted;
}

/**
 * --tables, each found among the listed tables: `schema.table` exactly, a bare
 * name in the default schema, else in the one schema that has it. An unknown
 * or ambiguous name is an error, not an empty manifest.
 */
function pickTables(dialect: Dialect, listed: readonly TableRef[], names: readonly string[], schemas: readonly string[] | null): TableRef[] {
  const picked = new Map<string, TableRef>();
  for (const entry of names.flatMap((n) => n.split(',')).map((n) => n.trim()).filter(Boolean)) {
    const { schema, name } = dialect.hasSchemas ? splitTableKey(entry) : { schema: undefined, name: entry };
    const candidates = listed.filter((t) => t.name === name && (schema === undefined || t.schema === schema));
    const found = candidates.length > 1 ? candidates.filter((t) => t.schema === dialect.defaultSchema) : candidates;
    if (found.length === 1) picked.set(qualifiedName(found[0]), found[0]);
    else if (found.length > 1 || candidates.length > 1) {
      throw new SchemaDiffError('usage', `--tables: "${printable(entry)}" is in several schemas (${candidates.map((t) => t.schema).join(', ')}): write schema.table`);
    } else {
      const where = schemas ? ` in schema ${schemas.join(', ')}` : '';
      throw new SchemaDiffError('usage', `--tables: no table "${printable(entry)}"${where} (schema-diff's own tables and system tables are never pulled)`);
    }
  }
  return [...picked.values()];
}
