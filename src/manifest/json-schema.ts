/**
 * The structure of a manifest as a JSON Schema (draft-07). Exported so that
 * editors and `.json` manifests can use it (docs/manifest.schema.json is this
 * object, written by scripts/export-schema.ts); ajv checks every loaded
 * manifest against it before the meaning checks in check.ts.
 */
const fkAction = {
  enum: ['no action', 'restrict', 'cascade', 'set null', 'set default'],
  description: 'Referential action, lower case as in SQL.',
};
// `\S` rejects blank strings as well as empty ones: an expression of spaces is no expression
const nonEmpty = { type: 'string', minLength: 1, pattern: '\\S' };
const severity = {
  enum: ['critical', 'warning'],
  description: '`critical` (default) violations make `validate` exit 2; `warning` ones are reported only.',
};
const description = { type: 'string', description: 'Why the object exists, shown in plans and reports; on PostgreSQL also the object\'s database comment (COMMENT ON).' };
const message = { ...nonEmpty, description: 'What an end user is told when a write breaks the rule (explainViolation); default `description`.' };
// an API code is a constant-like word: it ends up in JSON responses, logs and a generated TypeScript module
const code = {
  type: 'string',
  pattern: '^[A-Z][A-Z0-9_]*$',
  description: 'The code an API returns for a violation, e.g. ORDER_TOTAL_NOT_POSITIVE (upper case, digits, underscores); default derived from the name.',
};
const columnList = { type: 'array', minItems: 1, items: nonEmpty };
// Names and values that reach SQL without being expressions: each is rendered quoted, and kept to plain words here too.
const optionName = { type: 'string', pattern: '^[a-z_][a-z0-9_]*$' };
const optionValues = {
  type: 'object',
  propertyNames: optionName,
  additionalProperties: { type: ['number', 'boolean', 'string'], pattern: '^[A-Za-z0-9_.+-]+$' },
};
const opclassName = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Operator class name (PostgreSQL).' };

export const manifestJsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://schema-diff.dev/manifest.schema.json',
  title: 'schema-diff manifest',
  description: 'The integrity constraints (CHECK, FOREIGN KEY, indexes) a database should have.',
  type: 'object',
  required: ['tables'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string', description: 'This schema, for editors.' },
    version: { const: 1, description: 'Manifest format version.' },
    name: { type: 'string', description: 'A name for people reading the manifest.' },
    schema: { ...nonEmpty, description: 'Default PostgreSQL schema for tables without one (default `public`).' },
    tables: {
      type: 'object',
      description: 'Keyed by `table` or `schema.table`.',
      // one dot at most: `schema.table`; a name may not start or end with it
      propertyNames: { pattern: '^[^.]+(\\.[^.]+)?$' },
      additionalProperties: { $ref: '#/definitions/table' },
    },
  },
  definitions: {
    table: {
      type: 'object',
      additionalProperties: false,
      properties: {
        schema: { ...nonEmpty, description: 'PostgreSQL schema; must agree with a `schema.table` key.' },
        checks: { type: 'array', items: { $ref: '#/definitions/check' } },
        foreignKeys: { type: 'array', items: { $ref: '#/definitions/foreignKey' } },
        indexes: { type: 'array', items: { $ref: '#/definitions/index' } },
      },
    },
    check: {
      type: 'object',
      required: ['expr'],
      additionalProperties: false,
      properties: {
        name: { ...nonEmpty, description: 'Constraint name, unique within its table. Required on PostgreSQL; on SQLite, left out for an unnamed CHECK.' },
        expr: { ...nonEmpty, description: 'Boolean SQL expression, as inside CHECK ( ... ).' },
        dialects: {
          type: 'object',
          description: 'Per-dialect replacements for `expr`.',
          additionalProperties: false,
          properties: { postgres: nonEmpty, sqlite: nonEmpty },
        },
        description,
        severity,
        noInherit: { type: 'boolean', description: 'PostgreSQL NO INHERIT: not enforced on child tables.' },
        message,
        code,
      },
    },
    foreignKey: {
      type: 'object',
      required: ['columns', 'references'],
      additionalProperties: false,
      properties: {
        name: {
          ...nonEmpty,
          description: 'Constraint name, unique within its table. Required on PostgreSQL; on SQLite, left out for an unnamed foreign key.',
        },
        columns: columnList,
        references: {
          type: 'object',
          required: ['table', 'columns'],
          additionalProperties: false,
          properties: {
            table: { ...nonEmpty, description: 'Referenced table: `table` or `schema.table`.' },
            columns: columnList,
          },
        },
        onDelete: {
          type: ['string', 'object'],
          if: { type: 'string' },
          then: fkAction,
          else: {
            required: ['action', 'columns'],
            additionalProperties: false,
            description: 'PostgreSQL 15: ON DELETE SET NULL (columns), setting only some of the key columns.',
            properties: { action: { enum: ['set null', 'set default'] }, columns: columnList },
          },
        },
        onUpdate: fkAction,
        match: { enum: ['simple', 'full'], description: 'MATCH FULL or SIMPLE (default), PostgreSQL.' },
        deferrable: { type: 'boolean' },
        initiallyDeferred: { type: 'boolean', description: 'Implies deferrable.' },
        description,
        severity,
        message,
        code,
      },
    },
    index: {
      type: 'object',
      required: ['name', 'columns'],
      additionalProperties: false,
      properties: {
        name: { ...nonEmpty, description: 'Index name, unique within its schema (PostgreSQL) or database (SQLite).' },
        columns: {
          type: 'array',
          minItems: 1,
          description: 'Key parts: a column name, or { "expr": "<sql expression>" }.',
          items: { $ref: '#/definitions/indexKey' },
        },
        unique: { type: 'boolean' },
        where: { ...nonEmpty, description: 'Partial index predicate, as in WHERE ( ... ).' },
        method: { ...nonEmpty, description: 'Access method (PostgreSQL), default btree.' },
        include: { ...columnList, description: 'Non-key columns stored in the index (PostgreSQL INCLUDE).' },
        nullsNotDistinct: { type: 'boolean', description: 'NULLS NOT DISTINCT (PostgreSQL 15): NULLs count as equal.' },
        with: { ...optionValues, description: 'Storage parameters (PostgreSQL), as in WITH ( ... ).' },
        constraint: { type: 'boolean', description: 'A UNIQUE constraint using the index (PostgreSQL; needs unique).' },
        deferrable: { type: 'boolean', description: 'DEFERRABLE UNIQUE constraint (PostgreSQL; needs constraint).' },
        initiallyDeferred: { type: 'boolean', description: 'INITIALLY DEFERRED (implies deferrable; needs constraint).' },
        description,
        severity,
        message,
        code,
      },
    },
    // if/then/else rather than anyOf: a wrong key then gets the one error of its own kind, not one per branch
    indexKey: {
      type: ['string', 'object'],
      if: { type: 'string' },
      then: nonEmpty,
      else: {
        additionalProperties: false,
        properties: {
          column: nonEmpty,
          expr: nonEmpty,
          desc: { type: 'boolean' },
          nulls: { enum: ['first', 'last'] },
          opclass: {
            type: ['string', 'object'],
            if: { type: 'string' },
            then: opclassName,
            else: { required: ['name'], additionalProperties: false, properties: { name: opclassName, params: optionValues } },
          },
          collate: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.@-]*$', description: 'Collation name.' },
        },
      },
    },
  },
} as const;

/** The schema as the file docs/manifest.schema.json holds it (scripts/export-schema.ts writes it; a test compares). */
export function manifestJsonSchemaText(): string {
  return JSON.stringify(manifestJsonSchema, null, 2) + '\n';
}
