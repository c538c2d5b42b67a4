import type { Step } from '../plan/types.js';
import type { DesiredTable } from '../schema/types.js';
import { qualifiedName } from '../schema/types.js';

/** The manifest's `description` of each object, by "schema.table name" (the JSON Schema promises it in plans and reports). */
export function descriptionsOf(desired: readonly DesiredTable[]): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const t of desired) {
    for (const o of [...t.checks, ...t.foreignKeys, ...t.indexes]) {
      if (o.description) out.set(`${qualifiedName(t.ref)} ${o.name}`, o.description);
    }
  }
  return out;
}

/** Steps with the descriptions of the manifest objects they concern (one line each, in manifest order). */
export function describeSteps(steps: readonly Step[], descriptions: ReadonlyMap<string, string>): Step[] {
  return steps.map((s) => {
    const texts = s.objects.map((o) => descriptions.get(`${s.table} ${o}`)).filter((d): d is string => d !== undefined);
    return texts.length ? { ...s, description: [...new Set(texts)].join('; ') } : s;
  });
}
