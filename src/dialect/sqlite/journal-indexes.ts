import type { HistoryRun, HistoryStep } from '../dialect.js';
import { journalError } from '../history-runs.js';
import { inverseOfSqlite, type SqliteOrigin } from './inverse.js';
import { rebuildStatements, type RebuildSpec } from './rebuild.js';
import { schemaEditStatements } from './schema-edit.js';
import { isOp, isWord, sameName, significant, tokenize } from './tokenizer.js';

type IndexText = RebuildSpec['indexesBefore'][number];

const INDEX_ACTIONS = new Set<HistoryStep['action']>(['create_index', 'replace_index', 'rename_index', 'drop_index']);

/** A point in the journal: run, then step; later runs have larger ids. */
interface At {
  readonly runId: number;
  readonly seq: number;
}

/**
 * The inverse of a journaled step as it must run now. A table step's way back
 * (edit in place or rebuild) expects the table's indexes exactly as they were
 * when the step was journaled, and a rebuild back builds exactly those again.
 * An index step of the same table journaled before it may have been undone
 * since: `rollback --constraint ix_…` of an index step of the same apply (on
 * the edit path an index is a step of its own), or of an older apply. Each
 * such undo, in the order the rollbacks ran it, is replayed on the recorded
 * index set, so the guard expects, and a rebuild back builds, the indexes the
 * journal says the table has now; an index made or dropped by hand still stops
 * the undo. Computed at rollback time from what every journal with origins
 * holds, so journals written before this converge too. The only texts taken
 * from the index steps are their recorded CREATE INDEX, each proven to be one
 * on this table by inverseOfSqlite.
 */
export function inverseNowSqlite(step: HistoryStep, history: readonly HistoryRun[]): readonly string[] {
  const recorded = inverseOfSqlite(step);
  const origin = step.origin as SqliteOrigin;
  const replayed = (indexes: readonly IndexText[]) => undoneSince(step, history).reduce(undoOn, indexes);
  if (origin.kind === 'edit' && step.action === 'edit_table') {
    const indexes = replayed(origin.back.indexes);
    return indexes === origin.back.indexes ? recorded : schemaEditStatements({ ...origin.back, indexes });
  }
  if (origin.kind === 'rebuild' && step.action === 'rebuild_table') {
    const indexesBefore = replayed(origin.back.indexesBefore);
    const indexesAfter = replayed(origin.back.indexesAfter);
    if (indexesBefore === origin.back.indexesBefore && indexesAfter === origin.back.indexesAfter) return recorded;
    return rebuildStatements({ ...origin.back, indexesBefore, indexesAfter });
  }
  return recorded;
}

/**
 * The index steps of the step's table that were in effect when it was
 * journaled and have been undone since, in the order they were undone.
 */
function undoneSince(step: HistoryStep, history: readonly HistoryRun[]): HistoryStep[] {
  const at: At = { runId: step.runId, seq: step.seq };
  return history
    .flatMap((r) => r.steps)
    .filter((h) => h.table === step.table && INDEX_ACTIONS.has(h.action) && h.undoneBy !== null && earlier(h, at))
    .map((h) => ({ h, undone: undoneAt(h, history) }))
    .filter((u) => earlier(at, u.undone))
    .sort((a, b) => a.undone.runId - b.undone.runId || a.undone.seq - b.undone.seq)
    .map((u) => u.h);
}

function earlier(a: At, b: At): boolean {
  return a.runId < b.runId || (a.runId === b.runId && a.seq < b.seq);
}

/**
 * Where in the journal a step was undone: the undo step of its rollback run
 * (same action, table and name). Not found: the end of that run, which is
 * also where rollback puts the undo of an index step beside a part of its table.
 */
function undoneAt(h: HistoryStep, history: readonly HistoryRun[]): At {
  const runId = h.undoneBy as number;
  const undo = history.find((r) => r.id === runId)?.steps.find((u) => !u.partOf && u.action === h.action && u.table === h.table && u.name === h.name);
  return { runId, seq: undo?.seq ?? Number.POSITIVE_INFINITY };
}

/** The index set after the undo of index step `h`, which dropped the index it made and built the one it replaced or dropped. */
function undoOn(indexes: readonly IndexText[], h: HistoryStep): readonly IndexText[] {
  // proves the recorded index to restore is one CREATE INDEX on this table, or refuses naming the step
  inverseOfSqlite(h);
  const origin = h.origin as SqliteOrigin;
  const dropped = origin.kind === 'index' ? origin.drop : null;
  const restore = origin.kind === 'index' || origin.kind === 'restore_index' ? origin.restore : undefined;
  const restored = restore === undefined ? null : storedIndex(restore, h);
  const kept = indexes.filter((i) => !(dropped !== null && sameName(i.name, dropped)) && !(restored !== null && sameName(i.name, restored.name)));
  return restored === null ? kept : [...kept, restored];
}

/**
 * A CREATE INDEX as sqlite_schema keeps it, with its name: SQLite stores
 * `CREATE [UNIQUE] INDEX ` and then the text from the index's own name on
 * (no IF NOT EXISTS, no schema), which is what the guard compares.
 */
function storedIndex(text: string, h: HistoryStep): IndexText {
  const sig = significant(tokenize(text));
  let i = 1;
  const unique = isWord(sig[i], 'UNIQUE');
  if (unique) i++;
  i++;
  if (isWord(sig[i], 'IF')) i += 3;
  if (isOp(sig[i + 1], '.')) i += 2;
  const name = sig[i];
  if (name === undefined || (name.kind !== 'word' && name.kind !== 'quoted')) throw journalError(h.runId, h.seq, 'its recorded index to restore has no name');
  return { name: name.value, sql: `CREATE ${unique ? 'UNIQUE ' : ''}INDEX ${text.slice(name.start).trimEnd()}` };
}
