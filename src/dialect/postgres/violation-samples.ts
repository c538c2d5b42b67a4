import type { ViolationTarget } from '../dialect.js';
import { referencedColumns } from './expr-columns.js';
import {
  SAMPLE_KIND,
  checkSamplesSql,
  foreignKeyOnlySamplesSql,
  uniqueSamplesSql,
  type CheckTarget,
  type ForeignKeyTarget,
  type SampleShape,
  type UniqueTarget,
} from './violation-sql.js';
import type { Outcome, Step, TableWork } from './violations.js';

type Row = Record<string, unknown>;

/**
 * Sample rows for the constraints of a table that have violations, read after
 * its counting passes: none for a clean table. Primary key first, then the
 * columns the constraint reads, in key order.
 */
export async function addSamples(step: Step, work: TableWork, counts: Map<ViolationTarget, Outcome>, limit: number, filter: string | undefined): Promise<void> {
  const violated = work.targets.filter((t) => (counts.get(t)?.violations ?? 0) > 0 && !counts.get(t)?.error);
  const checks = violated.filter((t): t is CheckTarget => t.kind === 'check');
  if (checks.length > 0) {
    for (const [c, rows] of await sampleChecks(step, work, checks, limit, filter)) counts.set(c, { ...(counts.get(c) as Outcome), sample: rows });
  }
  for (const t of violated) {
    if (t.kind === 'check') continue;
    const sample = t.kind === 'foreign_key' ? await sampleForeignKey(step, work, t, limit, filter) : await sampleUnique(step, work, t, limit, filter);
    counts.set(t, { ...(counts.get(t) as Outcome), sample });
  }
}

async function sampleChecks(step: Step, work: TableWork, checks: readonly CheckTarget[], limit: number, filter: string | undefined) {
  const pk = work.table?.primaryKey ?? [];
  const names = work.table?.columns.map((c) => c.name) ?? [];
  const own = new Map(checks.map((c) => [c, sampleColumns(pk, referencedColumns(c.expr, names), names)]));
  const shape = shapeOf(pk, [...new Set([...own.values()].flat())], limit);
  const result = await step(`samples of ${checks.length} CHECK(s)`, checkSamplesSql(work.ref, checks, shape, filter));
  const samples = new Map<CheckTarget, Row[]>();
  if ('error' in result) return samples;
  checks.forEach((c, i) => {
    const mine = result.rows.filter((r) => Number(r[SAMPLE_KIND]) === i);
    samples.set(c, mine.map((r) => pick(r, own.get(c) as string[])));
  });
  return samples;
}

async function sampleForeignKey(step: Step, work: TableWork, fk: ForeignKeyTarget, limit: number, filter: string | undefined): Promise<Row[]> {
  const pk = work.table?.primaryKey ?? [];
  const names = work.table?.columns.map((c) => c.name) ?? [];
  const shape = shapeOf(pk, sampleColumns(pk, fk.columns, names), limit);
  const found = await step(`samples of ${fk.name}`, foreignKeyOnlySamplesSql(fk, shape, filter));
  return 'error' in found ? [] : found.rows;
}

async function sampleUnique(step: Step, work: TableWork, ix: UniqueTarget, limit: number, filter: string | undefined): Promise<Row[]> {
  const pk = work.table?.primaryKey ?? [];
  const names = work.table?.columns.map((c) => c.name) ?? [];
  const read = ix.keys.flatMap((k) => ('column' in k ? [k.column] : referencedColumns(k.expr, names)));
  const shape = shapeOf(pk, sampleColumns(pk, read, names), limit);
  const rows = await step(`samples of ${ix.name}`, uniqueSamplesSql(ix, shape, filter));
  return 'error' in rows ? [] : rows.rows;
}

/** Primary key, then the columns the constraint reads; every column when there is neither. */
function sampleColumns(pk: readonly string[], read: readonly string[], all: readonly string[]): string[] {
  const columns = [...new Set([...pk, ...read])];
  return columns.length > 0 ? columns : [...all];
}

function shapeOf(pk: readonly string[], columns: readonly string[], limit: number): SampleShape {
  return { columns, orderBy: pk.length > 0 ? pk : columns, limit };
}

function pick(row: Row, columns: readonly string[]): Row {
  return Object.fromEntries(columns.map((c) => [c, row[c]]));
}
