import { readFile, writeFile } from 'node:fs/promises';
import { SchemaDiffError, messageOf } from '../errors.js';
import type { Plan, Step } from './types.js';

/** Saves a plan as the documented JSON (docs/plan-format.md). */
export async function savePlan(path: string, plan: Plan): Promise<void> {
  await writeFile(path, JSON.stringify(plan, null, 2) + '\n');
}

export async function loadPlan(path: string): Promise<Plan> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new SchemaDiffError('usage', `cannot read plan ${path}: ${messageOf(e).split('\n')[0]}`);
  }
  const plan = value as Partial<Plan>;
  if (plan?.version !== 1 || !Array.isArray(plan.steps) || typeof plan.fingerprint !== 'string') {
    throw new SchemaDiffError('usage', `${path} is not a schema-diff plan (version 1)`);
  }
  // `show` renders a file without a database: its dialect picks the renderer, its steps must be steps
  if (plan.dialect !== 'postgres' && plan.dialect !== 'sqlite') {
    throw new SchemaDiffError('usage', `${path}: unknown dialect ${JSON.stringify(plan.dialect)} (expected postgres or sqlite)`);
  }
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const bad = plan.steps.findIndex((s: Partial<Step>) => !s || !strings(s.sql) || !strings(s.inverse) || !strings(s.hazards) || !strings(s.objects));
  if (bad >= 0) throw new SchemaDiffError('usage', `${path}: steps[${bad}] is not a plan step (sql, inverse, hazards and objects must be lists of strings)`);
  return plan as Plan;
}
