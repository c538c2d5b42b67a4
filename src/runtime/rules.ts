import type { LoadedManifest } from '../manifest/types.js';

/** What a write can break: a CHECK, a foreign key, a unique index. */
export type ViolationKind = 'check' | 'foreign_key' | 'unique';

/**
 * One manifest rule as the application sees it when a write breaks it: the
 * lookup table explainViolation searches, and what `schema-diff codegen`
 * writes out. Plain JSON, so both can hold the same values.
 */
export interface RuleInfo {
  /** null for an SQLite CHECK or foreign key the manifest leaves unnamed. */
  readonly name: string | null;
  /** The table's name, without its schema. */
  readonly table: string;
  /** The schema the manifest gives it (`schema.table` key, `schema` field or the top-level one); null for the default. */
  readonly schema: string | null;
  readonly kind: ViolationKind;
  readonly severity: 'critical' | 'warning';
  readonly description: string | null;
  /** The manifest's `message`, else its description, else a sentence naming the rule. */
  readonly message: string;
  /** The manifest's `code`, else one derived from the name (codeFromName). */
  readonly code: string;
  /** Unique index: its key columns (SQLite names a violation by them); foreign key: the referencing columns. */
  readonly columns: readonly string[];
  /** Foreign key: the referenced table, without schema. */
  readonly references: string | null;
  /** An unnamed CHECK: its SQLite expression, which SQLite's message quotes in place of a name. */
  readonly expr?: string;
}

/** `ck_order_total_positive` → `ORDER_TOTAL_POSITIVE`: the usual prefixes dropped, upper case, non-word characters as `_`. */
export function codeFromName(name: string): string {
  const bare = name.replace(/^(ck|chk|fk|ix|idx|uq|ux|uniq)_/i, '');
  const code = bare.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '').toUpperCase();
  return /^[A-Z]/.test(code) ? code : `C_${code}`;
}

function splitKey(key: string): { schema: string | null; name: string } {
  const dot = key.indexOf('.');
  return dot > 0 ? { schema: key.slice(0, dot), name: key.slice(dot + 1) } : { schema: null, name: key };
}

/** Every rule of a manifest a write can break, in manifest order (non-unique indexes reject nothing). */
export function rulesOf(manifest: LoadedManifest): RuleInfo[] {
  const rules: RuleInfo[] = [];
  for (const [key, spec] of Object.entries(manifest.tables)) {
    if (!spec) continue;
    const { schema, name: table } = splitKey(key);
    const base = { table, schema: schema ?? spec.schema ?? manifest.schema ?? null };
    const info = (o: { name?: string; description?: string; message?: string; code?: string; severity?: 'critical' | 'warning' }, kind: ViolationKind) => {
      // an unnamed rule (SQLite) is called after its table and kind
      const called = o.name ?? `${table}_${kind}`;
      return {
        ...base,
        name: o.name ?? null,
        kind,
        severity: o.severity ?? 'critical',
        description: o.description ?? null,
        message: o.message ?? o.description ?? `The change breaks the rule ${called} on ${table}.`,
        code: o.code ?? codeFromName(called),
      };
    };
    for (const c of spec.checks ?? []) {
      rules.push({ ...info(c, 'check'), columns: [], references: null, ...(c.name === undefined ? { expr: c.dialects?.sqlite ?? c.expr } : {}) });
    }
    for (const fk of spec.foreignKeys ?? []) {
      rules.push({ ...info(fk, 'foreign_key'), columns: [...fk.columns], references: splitKey(fk.references.table).name });
    }
    for (const ix of spec.indexes ?? []) {
      if (!ix.unique) continue;
      // SQLite names a unique violation by its plain columns; a key with options is still a column
      const columns = ix.columns.flatMap((c) => (typeof c === 'string' ? [c] : c.column !== undefined ? [c.column] : []));
      rules.push({ ...info(ix, 'unique'), columns, references: null });
    }
  }
  return rules;
}
