import { diffWords } from 'diff';
import type { ViolationCount } from '../dialect/dialect.js';
import type { Plan } from '../plan/types.js';
import { printable as shown } from '../schema/printable.js';
import { qualifiedName } from '../schema/types.js';
import { coloursFor } from './colour.js';

const paint = () => coloursFor(process.stdout);
export const red = (s: string) => paint().red(s);
export const green = (s: string) => paint().green(s);
export const dim = (s: string) => paint().dim(s);
export const bold = (s: string) => paint().bold(s);

/**
 * A readable summary of a plan for people: one line a step, a word diff of
 * what is replaced, and the rows that would block apply when they were
 * counted. Coloured for the stream it goes to (apply shows it on stderr).
 */
export function formatPlanText(plan: Plan, options: { blockers?: readonly ViolationCount[]; stream?: { isTTY?: boolean } } = {}): string {
  const c = coloursFor(options.stream ?? process.stdout);
  const lines: string[] = [];
  if (plan.steps.length === 0) {
    lines.push(shown(`${plan.target}: up to date with ${plan.manifest} (no changes)`));
  } else {
    lines.push(c.bold(shown(`${plan.steps.length} step(s) for ${plan.target} from ${plan.manifest}`)), '');
    for (const s of plan.steps) {
      // names come from the manifest and the catalog: a control character in one must not repaint the terminal
      lines.push(`${String(s.id).padStart(3)}. ${s.action.padEnd(20)} ${shown(s.name)}  ${c.dim(`on ${shown(s.table)}`)}`);
      if (s.description) lines.push(`     ${shown(s.description)}`);
      lines.push(`     ${c.dim(`why: ${shown(s.reason)}`)}`);
      lines.push(`     ${c.dim(`lock: ${shown(s.lock)}`)}`);
      if (s.hazards.length) lines.push(`     ${c.dim(`hazards: ${s.hazards.join(', ')}`)}`);
      if (s.before !== undefined && s.after !== undefined) lines.push(`     ${wordDiff(shown(s.before), shown(s.after), c)}`);
      else if (s.before !== undefined && s.action.startsWith('drop_')) lines.push(`     ${c.red(`- ${shown(s.before)}`)}`);
    }
  }
  if (options.blockers?.length) lines.push('', ...blockerLines(options.blockers).map((l, i) => (i === 0 ? c.red(l) : l)));
  const warnings = plan.warnings ?? [];
  if (warnings.length > 0) {
    lines.push('', `warnings: ${warnings.length}`);
    for (const w of warnings) lines.push(`  ${w.hazard} ${w.object}: ${w.message}`);
  }
  if (plan.unmanaged.length > 0) {
    lines.push('', `unmanaged (in the database, not in the manifest; left alone): ${plan.unmanaged.length}`);
    for (const u of plan.unmanaged) {
      lines.push(shown(`  ${u.kind.padEnd(11)} ${u.name} on ${u.table.schema}.${u.table.name}: ${u.definition}`));
      if (u.note) lines.push(`              ${c.dim(shown(u.note))}`);
    }
  }
  return lines.join('\n');
}

/** What apply's pre-check would refuse on: existing rows that break a constraint the plan adds. */
export function blockerLines(blockers: readonly ViolationCount[]): string[] {
  return [
    `existing rows would block apply: ${blockers.length} constraint(s) (fix the rows first; schema-diff validate shows them)`,
    ...blockers.map((b) =>
      shown(
        b.error
          ? `  ${b.name} on ${qualifiedName(b.table)}: the check fails to evaluate (${b.error})`
          : `  ${b.name} on ${qualifiedName(b.table)}: ${b.violations} row${b.violations === 1 ? '' : 's'}`,
      ),
    ),
  ];
}

function wordDiff(before: string, after: string, c: ReturnType<typeof coloursFor>): string {
  if (!c.isColorSupported) return `- ${before}\n       + ${after}`;
  return diffWords(before, after)
    .map((p) => (p.added ? c.green(p.value) : p.removed ? c.red(p.value) : p.value))
    .join('');
}
