import type { LoadedManifest } from '../manifest/types.js';

export type ManifestFormat = 'ts' | 'json';

export interface ManifestSourceOptions {
  readonly format: ManifestFormat;
  /** TypeScript: the module that exports the Kysely `DB` type (`./db`), for defineManifest<DB>; absent: untyped. */
  readonly dbType?: string;
}

/**
 * A manifest as the text of a file a person keeps and edits: JSON, or a
 * TypeScript module calling defineManifest. Every string from the database
 * (names, expressions) is written as a JSON string literal, which is also a
 * TypeScript one: a quote, a backtick, `${`, the end of a comment or a line break in a
 * name stays inside its literal. Nothing from the database goes into a comment.
 */
export function renderManifestSource(manifest: LoadedManifest, options: ManifestSourceOptions): string {
  if (options.format === 'json') return JSON.stringify(manifest, null, 2) + '\n';
  const typed = options.dbType !== undefined;
  return [
    '// Written by `schema-diff pull` from the database as it is: edit it to say what the database should have.',
    "import { defineManifest } from 'schema-diff';",
    ...(typed ? [`import type { DB } from ${JSON.stringify(options.dbType)};`] : []),
    '',
    `export default defineManifest${typed ? '<DB>' : ''}(${tsValue(manifest, '', 'export default defineManifest<DB>('.length, 0)});`,
    '',
  ].join('\n');
}

const WIDTH = 120;
/** The manifest, its tables, each table and its lists are one entry a line: a diff of two pulls then reads by object. */
const ALWAYS_OPEN_DEPTH = 4;

/** A value as a TypeScript literal: one line where it fits in WIDTH, else one entry a line, trailing commas. */
function tsValue(value: unknown, indent: string, used: number, depth: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const entries = Array.isArray(value)
    ? value.map((v) => ({ key: '', value: v as unknown }))
    : Object.entries(value as Record<string, unknown>).map(([k, v]) => ({ key: `${propertyKey(k)}: `, value: v }));
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return `${open}${close}`;
  if (depth >= ALWAYS_OPEN_DEPTH) {
    const inline = oneLine(value);
    if (used + inline.length <= WIDTH) return inline;
  }
  const inner = indent + '  ';
  const lines = entries.map((e) => `${inner}${e.key}${tsValue(e.value, inner, inner.length + e.key.length, depth + 1)},`);
  return `${open}\n${lines.join('\n')}\n${indent}${close}`;
}

function oneLine(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(oneLine).join(', ')}]`;
  const parts = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${propertyKey(k)}: ${oneLine(v)}`);
  return parts.length ? `{ ${parts.join(', ')} }` : '{}';
}

/** A key that is an identifier goes bare; any other (`sales.orders`, a hostile table name) as a string literal. */
function propertyKey(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
}
