import type { CommandModule } from 'yargs';
import { EXIT, out } from '../context.js';

interface DemoArgs {
  dialect: 'postgres' | 'sqlite';
  debug: boolean;
}

/**
 * A guided tour on an embedded database: no server needed. Builds MeStore as
 * it stands today, then walks through validate, plan, apply, verify, plan
 * again, and shows the new rules at work.
 */
export function demoCommand(setStatus: (s: number) => void): CommandModule<object, DemoArgs> {
  return {
    command: 'demo',
    describe: "walk through MeStore's constraint plan on an embedded database (PGlite or SQLite)",
    builder: (y) =>
      y
        .option('dialect', { choices: ['postgres', 'sqlite'] as const, default: 'postgres' as const, describe: 'embedded PostgreSQL (PGlite) or an SQLite file' })
        .option('debug', { type: 'boolean', default: false }) as never,
    handler: async (args) => {
      const { runDemo } = await import('../demo.js');
      await runDemo(args.dialect, out);
      setStatus(EXIT.ok);
    },
  };
}
