import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SchemaDiffError, messageOf } from '../errors.js';
import { checkManifest } from './check.js';
import type { LoadedManifest } from './types.js';

/**
 * Loads a manifest from a .ts, .js or .json file. TypeScript is compiled on the
 * fly by tsx, so users need no build step. The module's default export, or its
 * export named `manifest`, is the manifest.
 */
export async function loadManifest(file: string): Promise<LoadedManifest> {
  const path = resolve(file);
  if (!existsSync(path)) throw new SchemaDiffError('manifest', `manifest file not found: ${file}`);
  const raw = await readManifestValue(path, file);
  return checkManifest(raw, file);
}

async function readManifestValue(path: string, shown: string): Promise<unknown> {
  const ext = extname(path);
  try {
    if (ext === '.json') return JSON.parse(await readFile(path, 'utf8'));
    const mod = ['.ts', '.mts', '.cts'].includes(ext) ? await importTypeScript(path) : await import(pathToFileURL(path).href);
    const value = pickExport(mod as Record<string, unknown>);
    if (value === undefined) {
      throw new SchemaDiffError('manifest', `manifest ${shown}: exports no manifest (export default defineManifest({...}))`);
    }
    return value;
  } catch (e) {
    if (e instanceof SchemaDiffError) throw e;
    throw new SchemaDiffError('manifest', `cannot load manifest ${shown}: ${firstLine(messageOf(e))}`, [], { cause: e });
  }
}

async function importTypeScript(path: string): Promise<unknown> {
  const { tsImport } = await import('tsx/esm/api');
  return tsImport(pathToFileURL(path).href, import.meta.url);
}

function pickExport(mod: Record<string, unknown>): unknown {
  let value = mod.default ?? mod.manifest;
  // a CommonJS-compiled module wraps its exports once more
  if (value && typeof value === 'object' && 'default' in value && !('tables' in value)) {
    value = (value as Record<string, unknown>).default;
  }
  return value;
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}
