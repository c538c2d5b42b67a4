import type {
  DesiredCheck,
  DesiredForeignKey,
  DesiredIndex,
  DesiredTable,
  DialectName,
  IndexKey,
  OpClass,
  TableRef,
} from '../schema/types.js';
import { freeze, unnamedCheckName, unnamedForeignKeyName } from '../schema/types.js';
import { SchemaDiffError } from '../errors.js';
import { formatPath } from './path.js';
import type { IndexKeySpec, LoadedManifest, OptionValues } from './types.js';

/** A table key is `table` or `schema.table`. */
export function splitTableKey(key: string): { schema?: string; name: string } {
  const dot = key.indexOf('.');
  return dot > 0 ? { schema: key.slice(0, dot), name: key.slice(dot + 1) } : { name: key };
}

export interface ResolveOptions {
  dialect: DialectName;
  /** The dialect's default schema: public on PostgreSQL, main on SQLite. */
  defaultSchema: string;
  /** Whether the dialect has schemas at all (SQLite: every table lives in main). */
  hasSchemas: boolean;
  /** Whether a CHECK or foreign key may go unnamed (SQLite); absent means every constraint needs a name. */
  unnamedConstraints?: boolean;
}

/**
 * A CHECK or foreign key may go unnamed on SQLite only, where ORMs leave them
 * so and the database keeps no name; on PostgreSQL every constraint has one,
 * and the manifest must say which.
 */
function refuseUnnamed(m: LoadedManifest, opts: ResolveOptions): void {
  if (opts.unnamedConstraints === true) return;
  const problems = Object.entries(m.tables).flatMap(([key, spec]) => [
    ...(spec?.checks ?? []).flatMap((c, i) => (c.name === undefined ? [`${formatPath(['tables', key])}.checks[${i}]`] : [])),
    ...(spec?.foreignKeys ?? []).flatMap((fk, i) => (fk.name === undefined ? [`${formatPath(['tables', key])}.foreignKeys[${i}]`] : [])),
  ]);
  if (problems.length === 0) return;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  throw new SchemaDiffError(
    'manifest',
    `manifest ${problems[0]}: a name is required on ${opts.dialect}, where every constraint has one (this database names every constraint)${more}`,
    problems.map((p) => `${p}: a name is required on ${opts.dialect}`),
  );
}

/** The manifest's desired state for one dialect, as the plain data the differ compares. */
export function resolveManifest(m: LoadedManifest, opts: ResolveOptions): readonly DesiredTable[] {
  refuseUnnamed(m, opts);
  const refOf = (key: string, explicitSchema?: string): TableRef => {
    const { schema, name } = splitTableKey(key);
    if (!opts.hasSchemas) return { schema: opts.defaultSchema, name };
    return { schema: explicitSchema ?? schema ?? m.schema ?? opts.defaultSchema, name };
  };
  const tables = Object.entries(m.tables).flatMap(([key, spec]) => {
    if (!spec) return [];
    const ref = refOf(key, spec.schema);
    const path = formatPath(['tables', key]);
    // an unnamed CHECK is known by its expression: normalize() gives it the database's spelling
    const checks: DesiredCheck[] = (spec.checks ?? []).map((c, i) => ({
      name: c.name ?? unnamedCheckName(c.dialects?.[opts.dialect] ?? c.expr),
      ...(c.name === undefined ? { unnamed: true } : {}),
      table: ref,
      expr: c.dialects?.[opts.dialect] ?? c.expr,
      source: c.dialects?.[opts.dialect] ?? c.expr,
      validated: true,
      ...(c.noInherit ? { noInherit: true } : {}),
      description: c.description,
      severity: c.severity ?? 'critical',
      path: `${path}.checks[${i}]`,
    }));
    const foreignKeys: DesiredForeignKey[] = (spec.foreignKeys ?? []).map((fk, i) => ({
      name: fk.name ?? unnamedForeignKeyName(fk.columns, refOf(fk.references.table).name, fk.references.columns),
      ...(fk.name === undefined ? { unnamed: true } : {}),
      table: ref,
      columns: [...fk.columns],
      refTable: refOf(fk.references.table),
      refColumns: [...fk.references.columns],
      onDelete: typeof fk.onDelete === 'object' ? fk.onDelete.action : (fk.onDelete ?? 'no action'),
      ...(typeof fk.onDelete === 'object' ? { onDeleteColumns: [...fk.onDelete.columns] } : {}),
      onUpdate: fk.onUpdate ?? 'no action',
      deferrable: fk.deferrable ?? fk.initiallyDeferred ?? false,
      initiallyDeferred: fk.initiallyDeferred ?? false,
      match: fk.match ?? 'simple',
      validated: true,
      description: fk.description,
      severity: fk.severity ?? 'critical',
      path: `${path}.foreignKeys[${i}]`,
    }));
    const indexes: DesiredIndex[] = (spec.indexes ?? []).map((ix, i) => {
      const keys = ix.columns.map(resolveIndexKey);
      return {
        name: ix.name,
        table: ref,
        keys,
        source: { keys, where: ix.where ?? null },
        unique: ix.unique ?? false,
        where: ix.where ?? null,
        // an access method is a name the database folds to lower case when unquoted; it is rendered quoted
        method: ix.method?.toLowerCase() ?? 'btree',
        valid: true,
        constraintBacked: false,
        ...(ix.constraint ? { uniqueConstraint: true } : {}),
        ...(ix.constraint && (ix.deferrable || ix.initiallyDeferred) ? { deferrable: true } : {}),
        ...(ix.constraint && ix.initiallyDeferred ? { initiallyDeferred: true } : {}),
        ...(ix.include?.length ? { include: [...ix.include] } : {}),
        ...(ix.nullsNotDistinct ? { nullsNotDistinct: true } : {}),
        ...(ix.with && Object.keys(ix.with).length ? { with: optionStrings(ix.with) } : {}),
        description: ix.description,
        severity: ix.severity ?? 'critical',
        path: `${path}.indexes[${i}]`,
      };
    });
    return [{ ref, path, checks, foreignKeys, indexes }];
  });
  return freeze(tables);
}

/** A key part as the differ compares it: defaults left out (ASC, no opclass, no collation). */
function resolveIndexKey(spec: IndexKeySpec<Record<string, Record<string, unknown>>, string>): IndexKey {
  if (typeof spec === 'string') return { column: spec };
  const base = spec.column !== undefined ? { column: spec.column } : { expr: spec.expr as string };
  const opclass: OpClass | undefined =
    spec.opclass === undefined
      ? undefined
      : typeof spec.opclass === 'string'
        ? { name: spec.opclass.toLowerCase() }
        : { name: spec.opclass.name.toLowerCase(), ...(spec.opclass.params ? { params: optionStrings(spec.opclass.params) } : {}) };
  return {
    ...base,
    ...(spec.desc ? { desc: true } : {}),
    ...(spec.nulls ? { nulls: spec.nulls } : {}),
    ...(spec.collate !== undefined ? { collate: spec.collate } : {}),
    ...(opclass ? { opclass } : {}),
  };
}

/** Option values as the catalog prints them (PostgreSQL stores `fillfactor=70` as text). */
function optionStrings(values: OptionValues): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
}
