import type { Dialect } from '../dialect/dialect.js';
import type { Owned } from '../diff/ownership.js';
import type { StepAction } from '../plan/types.js';
import type { Catalog } from '../schema/types.js';
import { findTable } from '../schema/types.js';
import { definitionNow, objectsOf, tableRefOf } from './rollback-drift.js';

/**
 * Objects owned through journal rows from before Step.effects that kept no
 * definition (diff/ownership.ts legacyEffects): the live object's definition
 * becomes the recorded one when rendering it as that step did gives the very
 * text the step left (Step.after), as rollback tells an object changed by
 * hand. Otherwise it stays unknown, and the object is left alone. The text is
 * untrusted: it is only ever compared, and apply checks the journal's trust
 * before it drops anything on the journal's word.
 */
export function proveLegacyDefinitions(dialect: Dialect, catalog: Catalog, owned: ReadonlyMap<string, Owned>): Map<string, Owned> {
  const proven = new Map(owned);
  for (const [key, o] of owned) {
    if (o.definition !== undefined || !o.legacy) continue;
    const table = findTable(catalog, tableRefOf(o.table));
    const current = table && objectsOf(table, o.kind).find((x) => x.name === o.name);
    if (!current) continue;
    const step = { table: o.table, action: o.legacy.action as StepAction, name: o.name, objects: [o.name] };
    if (definitionNow(dialect, catalog, step, current, o.kind) === o.legacy.after) proven.set(key, { ...o, definition: current });
  }
  return proven;
}
