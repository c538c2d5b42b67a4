import type { Dialect } from '../dialect/dialect.js';
import { ownedObjects, type Owned } from '../diff/ownership.js';
import { SchemaDiffError } from '../errors.js';
import type { Step } from '../plan/types.js';
import { didYouMean } from '../schema/names.js';
import { checkLimits } from './limits.js';
import { closeInterruptedRuns } from './recover.js';

export interface ForgetOptions {
  /** How long to wait for a running apply or rollback to finish. */
  readonly lockWaitMs: number;
  readonly notice?: (message: string) => void;
}

export interface ForgetResult {
  readonly runId: number;
  /** The objects schema-diff no longer owns. */
  readonly forgotten: readonly Owned[];
}

/**
 * forget: ends schema-diff's ownership of objects without touching them (as
 * Terraform's `state rm`), so that removing them from the manifest no longer
 * drops them: for a team that hands an object over to another tool. Journaled
 * as a 'forget' run, under the apply lock, on a journal it can trust (the next
 * plan reads ownership from it). Every name must be one schema-diff owns;
 * otherwise nothing is written.
 */
export async function forgetObjects(dialect: Dialect, names: readonly string[], options: ForgetOptions): Promise<ForgetResult> {
  checkLimits({ lockWaitMs: options.lockWaitMs });
  if (names.length === 0) throw new SchemaDiffError('usage', 'name at least one object to forget (see schema-diff history for what schema-diff made)');
  const release = await dialect.lock(options.lockWaitMs);
  try {
    await dialect.checkJournalTrust();
    await closeInterruptedRuns(dialect, options.notice);
    const owned = [...ownedObjects(await dialect.history()).values()];
    const forgotten = names.flatMap((name) => {
      const found = owned.filter((o) => o.name === name);
      if (found.length === 0) throw notOwned(name, owned);
      return found;
    });
    const unique = [...new Map(forgotten.map((o) => [`${o.kind}:${o.table}:${o.name}`, o])).values()];
    const runId = await dialect.recordRun('forget', '', unique.map(forgetStep));
    return { runId, forgotten: unique };
  } finally {
    await release().catch(() => {});
  }
}

function forgetStep(o: Owned, i: number): Step {
  return {
    id: i + 1,
    action: 'forget',
    table: o.table,
    name: o.name,
    objects: [o.name],
    reason: `schema-diff forget: ${o.name} is no longer schema-diff's (created by apply run ${o.runId}); the database is not touched`,
    sql: [],
    inverse: [],
    transactional: true,
    lockTimeout: false,
    lock: 'none: nothing runs on the database',
    hazards: [],
    effects: [{ kind: o.kind, name: o.name, effect: 'forgotten' }],
  };
}

function notOwned(name: string, owned: readonly Owned[]): SchemaDiffError {
  const names = owned.map((o) => o.name);
  const known = names.length ? `; it owns: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ' …' : ''}` : '; it owns nothing';
  return new SchemaDiffError(
    'usage',
    `${name}: schema-diff does not own an object of that name (it never created it, or it was dropped or forgotten)${didYouMean(name, names)}${known}; nothing was changed`,
  );
}
