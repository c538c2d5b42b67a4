import { diffWords } from 'diff';
import type { Plan } from '../plan/types.js';

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
    lines.push(`${plan.target}: up to date with ${plan.manifest} (no changes)`);
  } else {
    lines.push(bold(`${plan.steps.length} step(s) for ${plan.target} from ${plan.manifest}`), '');
    for (const s of plan.steps) {
      lines.push(`${String(s.id).padStart(3)}. ${s.action.padEnd(20)} ${s.name}  ${dim(`on ${s.table}`)}`);
      lines.push(`     ${dim(`why: ${s.reason}`)}`);
      lines.push(`     ${dim(`lock: ${s.lock}`)}`);
      if (s.before !== undefined && s.after !== undefined) lines.push(`     ${wordDiff(s.before, s.after)}`);
      else if (s.before !== undefined && s.action.startsWith('drop_')) lines.push(`     ${red(`- ${s.before}`)}`);
    }
  }
  if (plan.unmanaged.length > 0) {
    lines.push('', `unmanaged (in the database, not in the manifest; left alone): ${plan.unmanaged.length}`);
    for (const u of plan.unmanaged) {
      lines.push(`  ${u.kind.padEnd(11)} ${u.name} on ${u.table.schema}.${u.table.name}: ${u.definition}`);
      if (u.note) lines.push(`              ${dim(u.note)}`);
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
