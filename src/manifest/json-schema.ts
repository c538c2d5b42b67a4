/**
 * The structure of a manifest as a JSON Schema (draft-07). Exported so that
 * editors and `.json` manifests can use it; ajv checks every loaded manifest
 * against it before the meaning checks in check.ts.
 */
const fkAction = { enum: ['no action', 'restrict', 'cascade', 'set null', 'set default'] };
const nonEmpty = { type: 'string', minLength: 1, pattern: '\\S' };
const severity = { enum: ['critical', 'warning'] };

export const manifestJsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://schema-diff.dev/manifest.schema.json',
  title: 'schema-diff manifest',
  type: 'object',
  required: ['tables'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    version: { const: 1 },
    name: { type: 'string' },
    schema: nonEmpty,
    tables: {
      type: 'object',
      additionalProperties: { $ref: '#/definitions/table' },
    },
  },
  definitions: {
    table: {
      type: 'object',
      additionalProperties: false,
      properties: {
        schema: nonEmpty,
        checks: { type: 'array', items: { $ref: '#/definitions/check' } },
        foreignKeys: { type: 'array', items: { $ref: '#/definitions/foreignKey' } },
        indexes: { type: 'array', items: { $ref: '#/definitions/index' } },
      },
    },
    check: {
      type: 'object',
      required: ['name', 'expr'],
      additionalProperties: false,
      properties: {
        name: nonEmpty,
        expr: nonEmpty,
        dialects: {
          type: 'object',
          additionalProperties: false,
          properties: { postgres: nonEmpty, sqlite: nonEmpty },
        },
        description: { type: 'string' },
        severity,
      },
    },
    foreignKey: {
      type: 'object',
      required: ['name', 'columns', 'references'],
      additionalProperties: false,
      properties: {
        name: nonEmpty,
        columns: { type: 'array', minItems: 1, items: nonEmpty },
        references: {
          type: 'object',
          required: ['table', 'columns'],
          additionalProperties: false,
          properties: {
            table: nonEmpty,
            columns: { type: 'array', minItems: 1, items: nonEmpty },
          },
        },
        onDelete: fkAction,
        onUpdate: fkAction,
        deferrable: { type: 'boolean' },
        initiallyDeferred: { type: 'boolean' },
        description: { type: 'string' },
        severity,
      },
    },
    index: {
      type: 'object',
      required: ['name', 'columns'],
      additionalProperties: false,
      properties: {
        name: nonEmpty,
        columns: {
          type: 'array',
          minItems: 1,
          items: {
            anyOf: [
              nonEmpty,
              {
                type: 'object',
                required: ['expr'],
                additionalProperties: false,
                properties: { expr: nonEmpty },
              },
            ],
          },
        },
        unique: { type: 'boolean' },
        where: nonEmpty,
        method: nonEmpty,
        description: { type: 'string' },
        severity,
      },
    },
  },
} as const;
