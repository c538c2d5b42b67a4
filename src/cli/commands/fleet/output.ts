import type { FleetEvents, TargetOutcome } from '../../../run/fleet/rollout.js';
import { note } from '../../context.js';
import { printable } from '../../../schema/printable.js';

/** What the per-target count means for each command: the summary's column and the JSON field. */
export type CountName = 'steps' | 'drift' | 'violations' | 'runs';

/**
 * One line per target on stderr as it finishes; when stderr is a terminal, a
 * progress bar under them, redrawn in place (cleared before each line, drawn
 * again after it, erased at the end so the summary starts clean).
 */
export function fleetProgress(countName: CountName, quiet = false, stream: NodeJS.WriteStream = process.stderr): FleetEvents {
  if (quiet) return {};
  const tty = stream.isTTY === true;
  const statuses = new Map<string, number>();
  let drawn = false;
  return {
    finished: (o, done, total) => {
      const line = `[${done}/${total}] ${printable(o.label)}: ${o.status}${o.canary ? ' (canary)' : ''}, ${o.count} ${countName}, ${o.ms} ms${o.lockWaitMs ? ` (lock wait ${o.lockWaitMs} ms)` : ''}${(o.error ?? o.note) ? ` — ${printable(o.error ?? o.note ?? '')}` : ''}`;
      if (!tty) return note(line);
      statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
      const bar = done < total ? progressBar(done, total, statuses, Math.max(10, Math.min(40, (stream.columns ?? 80) - 40))) : '';
      stream.write(`\r\x1b[K${line}\n${bar}`);
      drawn = bar !== '';
    },
    ended: () => {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}

/** `[########------------]  12/40  ok 10 · failed 2`: the bar, the count, and the statuses so far. */
export function progressBar(done: number, total: number, statuses: ReadonlyMap<string, number>, width: number): string {
  const filled = total > 0 ? Math.round((done / total) * width) : width;
  const counts = [...statuses].map(([status, n]) => `${status} ${n}`).join(' · ');
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(done).padStart(String(total).length)}/${total}  ${counts}`;
}

/**
 * The summary table: one line per target, every cell made printable (a label or a driver message may hold anything).
 * With `lockWait` (apply, rollback) a column gives each target's longest wait for a write-blocking lock:
 * `—` when it took none (nothing to run), blank when it was not run.
 */
export function summaryTable(outcomes: readonly TargetOutcome[], countName: CountName, options: { lockWait?: boolean } = {}): string[] {
  const numeric = new Set([2, 3, ...(options.lockWait ? [4] : [])]);
  const header = ['target', 'status', countName, 'time', ...(options.lockWait ? ['lock wait'] : []), 'error'];
  const rows = outcomes.map((o) => {
    const ran = o.status !== 'untouched';
    const wait = !ran ? '' : o.lockWaitMs === undefined ? '—' : `${o.lockWaitMs} ms`;
    // a note (why a target was left as it is) goes where an error would: it says why this line is not ok
    return [o.label, o.status, String(o.count), ran ? `${o.ms} ms` : '', ...(options.lockWait ? [wait] : []), clipped(o.error ?? o.note ?? '')].map(printable);
  });
  const widths = header.slice(0, -1).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : i < widths.length ? c.padEnd(widths[i]) : c))
      .join('  ')
      .trimEnd();
  return [line(header), line([...widths.map((w) => '-'.repeat(w)), '-----']), ...rows.map(line)];
}

// The table keeps one screen line per target; the JSON and the progress line carry the whole message.
const ERROR_WIDTH = 100;
const clipped = (s: string) => (s.length > ERROR_WIDTH ? s.slice(0, ERROR_WIDTH - 1) + '…' : s);

/** The closing line: how many targets stand where. */
export function statusCounts(outcomes: readonly TargetOutcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o.status, (counts.get(o.status) ?? 0) + 1);
  return `${outcomes.length} target(s): ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`;
}

/** A target in the JSON report: the same as its summary line, the count under the command's own name. */
export function outcomeJson(o: TargetOutcome, countName: CountName, planId?: string) {
  return {
    target: o.label,
    status: o.status,
    [countName]: o.count,
    ms: o.ms,
    ...(o.lockWaitMs !== undefined ? { lockWaitMs: o.lockWaitMs } : {}),
    ...(o.canary ? { canary: true } : {}),
    ...(planId ? { plan: planId } : {}),
    ...(o.error ? { error: o.error } : {}),
    ...(o.note ? { note: o.note } : {}),
    ...(o.startedAt ? { startedAt: o.startedAt, finishedAt: o.finishedAt } : {}),
  };
}
