import type { Dialect } from '../dialect/dialect.js';
import { isCommentChange, isDropChange, type Change } from '../diff/changes.js';
import { sameIndexShape } from '../diff/diff.js';
import type { RemovalOptions } from '../diff/ownership.js';
import type { LoadedManifest } from '../manifest/types.js';
import { qualifiedName, type Index } from '../schema/types.js';
import { preparePlan } from './prepare.js';

export interface Drift {
  readonly object: string;
  readonly table: string;
  /**
   * 'extra': not in the manifest, and apply would drop it (schema-diff made it, or --prune);
   * 'comment': present and equal, but its database comment is not the manifest's description.
   */
  readonly problem: 'missing' | 'differs' | 'not_valid' | 'invalid_index' | 'misnamed' | 'extra' | 'comment';
  readonly detail: string;
}

/**
 * verify: every manifest object present, equal, and valid, and nothing left
 * that apply would drop. An empty list means the database matches.
 */
export async function verifyManifest(dialect: Dialect, manifest: LoadedManifest, manifestPath: string, options: RemovalOptions = {}): Promise<Drift[]> {
  const { diff } = await preparePlan(dialect, manifest, manifestPath, options);
  return diff.changes.map(driftOf);
}

function driftOf(c: Change): Drift {
  if (isDropChange(c)) {
    const why = c.why === 'removed' ? 'schema-diff created it and the manifest no longer lists it' : 'not in the manifest (--prune)';
    return { object: c.current.name, table: qualifiedName(c.table), problem: 'extra', detail: `${why}; apply drops it` };
  }
  if (isCommentChange(c)) {
    const now = c.previous === null ? 'no comment' : `the comment ${JSON.stringify(c.previous)}`;
    const wanted = c.description === null ? 'none (schema-diff wrote it, and the description was removed)' : `the description ${JSON.stringify(c.description)}`;
    return { object: c.name, table: qualifiedName(c.table), problem: 'comment', detail: `database has ${now}, manifest wants ${wanted}` };
  }
  const base = { object: c.desired.name, table: qualifiedName(c.table) };
  switch (c.kind) {
    case 'add_check':
      return { ...base, problem: 'missing', detail: `CHECK (${c.desired.expr}) is not in the database` };
    case 'add_foreign_key':
      return { ...base, problem: 'missing', detail: 'foreign key is not in the database' };
    case 'create_index':
      return { ...base, problem: 'missing', detail: 'index is not in the database' };
    case 'replace_check':
      return { ...base, problem: 'differs', detail: `database has CHECK (${c.current.expr}), manifest wants CHECK (${c.desired.expr})` };
    case 'replace_foreign_key':
      return {
        ...base,
        problem: 'differs',
        detail: `database has ${c.current.name} on delete ${c.current.onDelete}, on update ${c.current.onUpdate}; manifest wants on delete ${c.desired.onDelete}, on update ${c.desired.onUpdate}`,
      };
    case 'replace_index':
      return c.current.valid
        ? { ...base, problem: 'differs', detail: 'index definition differs from manifest' }
        : { ...base, problem: 'invalid_index', detail: 'index is INVALID (a concurrent build failed)' };
    case 'replace_unique_constraint':
      if (sameIndexShape(c.current, c.desired)) {
        return { ...base, problem: 'differs', detail: `UNIQUE constraint is ${timingOf(c.current)} in the database, the manifest wants it ${timingOf(c.desired)}` };
      }
      return { ...base, problem: 'differs', detail: 'index definition differs from manifest (a UNIQUE constraint on one side)' };
    case 'add_unique_constraint':
      return { ...base, problem: 'differs', detail: 'index is there, the UNIQUE constraint the manifest asks for is not' };
    case 'rename_foreign_key':
    case 'rename_index':
      return { ...base, problem: 'misnamed', detail: `present under the name ${c.current.name}` };
    case 'validate_check':
    case 'validate_foreign_key':
      return { ...base, problem: 'not_valid', detail: 'constraint is NOT VALID: existing rows were never checked' };
    default: {
      const never: never = c;
      throw new Error(`unhandled change ${JSON.stringify(never)}`);
    }
  }
}

/** When a UNIQUE constraint is checked, in the words of its definition. */
function timingOf(ix: Index): string {
  if (ix.initiallyDeferred) return 'DEFERRABLE INITIALLY DEFERRED';
  return ix.deferrable ? 'DEFERRABLE' : 'NOT DEFERRABLE';
}
