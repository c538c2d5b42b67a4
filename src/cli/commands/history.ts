import type { CommandModule } from 'yargs';
import type { HistoryRun, HistoryStep } from '../../dialect/dialect.js';
import { EXIT, envelope, formatOf, out, withDialect, withFormat, withGlobalOptions } from '../context.js';
import { hasTargets, withFleetOptions, type FleetArgs } from './fleet/options.js';

interface HistoryArgs extends FleetArgs {
  format: 'text' | 'json';
  json?: boolean;
  steps: boolean;
}

export function historyCommand(setStatus: (s: number) => void): CommandModule<object, HistoryArgs> {
  return {
    command: 'history',
    describe: 'list the applies, rollbacks and forgets recorded in the database, oldest first',
    builder: (y) =>
      withFormat(withFleetOptions(withGlobalOptions(y)), ['text', 'json'], 'text')
        .option('steps', { alias: 's', type: 'boolean', default: false, describe: 'list every step of every run' }) as never,
    handler: async (args) => {
      if (hasTargets(args)) {
        const { fleetHistory } = await import('./fleet/run.js');
        setStatus(await fleetHistory(args));
        return;
      }
      await withDialect(args, async (dialect) => {
        const runs = await dialect.history();
        if (formatOf(args) === 'json') out(envelope('history', dialect.target, { runs: runs.map((r) => withUndone(r, runs)) }));
        else if (runs.length === 0) out(`${dialect.target}: no applies recorded`);
        else out(runs.flatMap((r) => describeRun(r, runs, args.steps)).join('\n'));
        setStatus(EXIT.ok);
      }, { readOnly: true });
    },
  };
}

/** For a rollback run, which applied steps it undid (the journal stores the link on the applied step). */
function undoneBy(run: HistoryRun, runs: readonly HistoryRun[]): HistoryStep[] {
  return runs.flatMap((r) => r.steps).filter((s) => s.undoneBy === run.id);
}

function withUndone(run: HistoryRun, runs: readonly HistoryRun[]) {
  if (run.kind !== 'rollback') return run;
  return { ...run, undid: undoneBy(run, runs).map((s) => ({ runId: s.runId, seq: s.seq })) };
}

function describeRun(run: HistoryRun, runs: readonly HistoryRun[], withSteps: boolean): string[] {
  const head = [
    `#${run.id}`.padEnd(5),
    run.kind.padEnd(8),
    // A killed run stays 'running' until the next apply or rollback marks it 'interrupted' (history only reads).
    run.status.padEnd(11),
    run.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    // a forget run ran no plan: it has no fingerprint
    run.fingerprint ? `${run.fingerprint.slice(0, 19)}…` : '-'.padEnd(20),
    summary(run, runs),
  ].join('  ');
  const objects = [...new Set(run.steps.flatMap((s) => s.objects))];
  const lines = [head];
  if (run.manifest) lines.push(`      manifest: ${run.manifest}`);
  if (objects.length) lines.push(...wrapList('      objects:  ', objects));
  if (withSteps) lines.push(...run.steps.map((s) => describeStep(run, s)));
  return lines;
}

/** A long list of names over several lines, each under ~110 columns, continuation lines indented. */
function wrapList(label: string, names: readonly string[], width = 110): string[] {
  const lines: string[] = [];
  let line = label;
  for (const [i, name] of names.entries()) {
    const piece = name + (i < names.length - 1 ? ',' : '');
    if (line.length > label.length && line.length + 1 + piece.length > width) {
      lines.push(line);
      line = ' '.repeat(label.length) + piece;
    } else {
      line += (line.length > label.length ? ' ' : '') + piece;
    }
  }
  return [...lines, line];
}

function summary(run: HistoryRun, runs: readonly HistoryRun[]): string {
  const n = `${run.steps.length} step(s)`;
  if (run.kind === 'rollback') {
    const applies = [...new Set(undoneBy(run, runs).map((s) => `#${s.runId}`))];
    // an undo of some objects of a step marks nothing undone: the step stays in effect for the others
    const parts = [...new Set(run.steps.flatMap((s) => (s.partOf ? [`#${s.partOf.runId}`] : [])))];
    const said = [...(applies.length ? [`undid ${applies.join(', ')}`] : []), ...(parts.length ? [`undid part of ${parts.join(', ')}`] : [])];
    return [n, ...said].join(', ');
  }
  const undone = run.steps.filter((s) => s.undoneBy !== null);
  const inPart = partsInEffect(run, runs);
  const part = inPart.length ? [`objects of ${new Set(inPart.map((s) => s.partOf?.seq)).size} step(s) undone by ${[...new Set(inPart.map((s) => `#${s.runId}`))].join(', ')}`] : [];
  if (undone.length === 0) return [n, ...part].join(', ');
  const by = [...new Set(undone.map((s) => s.undoneBy as number))].sort((a, b) => a - b).map((id) => `#${id}`).join(', ');
  return [n, `${undone.length === run.steps.length ? 'all' : undone.length} undone by ${by}`, ...part].join(', ');
}

/** Undos of some objects of this run's steps, still in effect (the steps themselves are not marked undone). */
function partsInEffect(run: HistoryRun, runs: readonly HistoryRun[]): HistoryStep[] {
  return runs.flatMap((r) => (r.kind === 'rollback' ? r.steps.filter((s) => s.partOf?.runId === run.id && s.undoneBy === null) : []));
}

function describeStep(run: HistoryRun, s: HistoryStep): string {
  const undone = s.undoneBy !== null ? `  (undone by #${s.undoneBy})` : '';
  const what = run.kind !== 'rollback' ? s.action : s.partOf ? `undo part of step ${s.partOf.seq} of #${s.partOf.runId}: ${s.action}` : `undo ${s.action}`;
  return `      ${String(s.seq).padStart(3)}. ${what} ${s.name} on ${s.table}${undone}`;
}
