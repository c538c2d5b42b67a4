import type { ScriptLayout } from '../plan/script-layout.js';
import type { Step } from '../plan/types.js';
import type { DialectName } from '../schema/types.js';
import type { Dialect } from './dialect.js';
import { postgresLayout, postgresScript } from './postgres/script.js';
import { sqliteLayout, sqliteScript } from './sqlite/script.js';

/** Dialect.script, without a connection: a saved plan is rendered from its `dialect` field alone (`schema-diff show`). */
export type ScriptRenderer = Dialect['script'];

/** The script renderer of a dialect by name. Pure functions: neither driver is loaded. */
export function scriptRendererFor(name: DialectName): ScriptRenderer {
  switch (name) {
    case 'postgres':
      return (steps, direction, header, options) => postgresScript(steps, direction, header, options?.lockTimeoutMs ?? 25);
    case 'sqlite':
      return (steps, direction, header, options) => sqliteScript(steps, direction, header, options?.lockTimeoutMs);
    default: {
      const never: never = name;
      throw new Error(`unknown dialect ${String(never)}`);
    }
  }
}

/** How a dialect's script groups a plan's statements into transactions (other script formats print it: Alembic). */
export type ScriptLayoutOf = (steps: readonly Step[], direction: 'forward' | 'inverse', lockTimeoutMs: number) => ScriptLayout;

export function scriptLayoutFor(name: DialectName): ScriptLayoutOf {
  switch (name) {
    case 'postgres':
      return postgresLayout;
    case 'sqlite':
      return sqliteLayout;
    default: {
      const never: never = name;
      throw new Error(`unknown dialect ${String(never)}`);
    }
  }
}
