import { readFile, writeFile } from 'node:fs/promises';
import { SchemaDiffError, messageOf } from '../errors.js';
import type { Plan } from './types.js';

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
  return plan as Plan;
}
