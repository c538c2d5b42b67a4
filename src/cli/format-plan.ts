import { diffWords } from 'diff';
import type { Plan } from '../plan/types.js';
import { printable as shown } from '../schema/printable.js';

const useColour = () => Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const paint = (code: number, s: string) => (useColour() ? `\x1b[${code}m${s}\x1b[0m` : s);
export const red = (s: string) => paint(31, s);
export const green = (s: string) => paint(32, s);
export const dim = (s: string) => paint(2, s);
export const bold = (s: string) => paint(1, s);

/** A readable summary of a plan for people: one line a step, a word diff of what is replaced. */
export function formatPlanText(plan: Plan): string {
  const lines: string[] = [];
  if (plan.steps.length === 0) {
    lines.push(shown(`${plan.target}: up to date with ${plan.manifest} (no changes)`));
  } else {
    lines.push(bold(shown(`${plan.steps.length} step(s) for ${plan.target} from ${plan.manifest}`)), '');
    for (const s of plan.steps) {
      // names come from the manifest and the catalog: a control character in one must not repaint the terminal
      lines.push(`${String(s.id).padStart(3)}. ${s.action.padEnd(20)} ${shown(s.name)}  ${dim(`on ${shown(s.table)}`)}`);
      lines.push(`     ${dim(`why: ${shown(s.reason)}`)}`);
      lines.push(`     ${dim(`lock: ${shown(s.lock)}`)}`);
      if (s.before !== undefined && s.after !== undefined) lines.push(`     ${wordDiff(shown(s.before), shown(s.after))}`);
      else if (s.before !== undefined && s.action.startsWith('drop_')) lines.push(`     ${red(`- ${shown(s.before)}`)}`);
    }
  }
  if (plan.unmanaged.length > 0) {
    lines.push('', `unmanaged (in the database, not in the manifest; left alone): ${plan.unmanaged.length}`);
    for (const u of plan.unmanaged) {
      lines.push(shown(`  ${u.kind.padEnd(11)} ${u.name} on ${u.table.schema}.${u.table.name}: ${u.definition}`));
      if (u.note) lines.push(`              ${dim(shown(u.note))}`);
    }
  }
  return lines.join('\n');
}

function wordDiff(before: string, after: string): string {
  const parts = diffWords(before, after);
  if (!useColour()) {
    return `- ${before}\n       + ${after}`;
  }
  return parts.map((p) => (p.added ? green(p.value) : p.removed ? red(p.value) : p.value)).join('');
}
