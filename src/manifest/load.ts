import { readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SchemaDiffError, messageOf } from '../errors.js';
import { checkManifest } from './check.js';
import type { LoadedManifest } from './types.js';

const TYPESCRIPT = ['.ts', '.mts', '.cts'];
const JAVASCRIPT = ['.js', '.mjs', '.cjs'];
const SUPPORTED = [...TYPESCRIPT, ...JAVASCRIPT, '.json'];

/**
 * Loads a manifest from a .ts, .js or .json file and checks it. TypeScript is
 * compiled on the fly by tsx, so users need no build step. The module's default
 * export, or its export named `manifest`, is the manifest. Every failure is a
 * one-line SchemaDiffError naming the file.
 */
export async function loadManifest(file: string): Promise<LoadedManifest> {
  const path = resolve(file);
  await assertReadableFile(path, file);
  const raw = await readManifestValue(path, file);
  return checkManifest(raw, file);
}

async function assertReadableFile(path: string, shown: string): Promise<void> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new SchemaDiffError('manifest', `manifest file not found: ${shown}`);
  if (!info.isFile()) throw new SchemaDiffError('manifest', `manifest ${shown} is not a file`);
  if (!SUPPORTED.includes(extname(path))) {
    throw new SchemaDiffError('manifest', `manifest ${shown}: unsupported file type (expected ${SUPPORTED.join(', ')})`);
  }
}

async function readManifestValue(path: string, shown: string): Promise<unknown> {
  let value: unknown;
  try {
    value = extname(path) === '.json' ? JSON.parse(await readFile(path, 'utf8')) : pickExport(await importModule(path));
  } catch (e) {
    throw new SchemaDiffError('manifest', `cannot load manifest ${shown}: ${firstLine(messageOf(e))}`, [], { cause: e });
  }
  if (value === undefined) {
    throw new SchemaDiffError('manifest', `manifest ${shown} exports no manifest (expected export default defineManifest({...}))`);
  }
  return value;
}

/** Imports a .ts, .js or .mjs module; TypeScript through tsx (config files use it too). */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  if (!TYPESCRIPT.includes(extname(path))) return (await import(url)) as Record<string, unknown>;
  // loaded lazily: tsx registers loader hooks, which --help and .json manifests do not need
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
}

function pickExport(mod: Record<string, unknown>): unknown {
  let value = mod.default ?? mod.manifest;
  // a module compiled to CommonJS wraps its exports once more: { default: { default: manifest } }
  if (value && typeof value === 'object' && !('tables' in value)) {
    const inner = value as Record<string, unknown>;
    value = inner.default ?? inner.manifest ?? value;
  }
  return value;
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}
