import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * MeStore's tables as they stand before the plan, and demo rows, as SQL text.
 * Found next to this file in the source tree, or from dist/ by walking up.
 */
function baselineDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    for (const candidate of [dir, join(dir, 'manifest', 'baseline')]) {
      if (existsSync(join(candidate, 'postgres.sql'))) return candidate;
    }
    dir = dirname(dir);
  }
  throw new Error('manifest/baseline/*.sql not found');
}

const read = (file: string) => readFileSync(join(baselineDir(), file), 'utf8');

export type BaselineDialect = 'postgres' | 'sqlite';

/** CREATE TABLE statements of the seven MeStore tables. */
export const baselineSchema = (dialect: BaselineDialect): string => read(`${dialect}.sql`);
/** Rows that satisfy every constraint of the plan. */
export const demoRows = (): string => read('demo-rows.sql');
/** Rows that break several constraints, for validate to find. */
export const demoViolations = (): string => read('demo-violations.sql');
