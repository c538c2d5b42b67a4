import type { CommandModule } from 'yargs';
import { out, withDatabase, withGlobalOptions, type GlobalArgs } from '../context.js';

export function historyCommand(_setStatus: (s: number) => void): CommandModule<object, GlobalArgs> {
  return {
    command: 'history',
    describe: 'list the applies and rollbacks recorded in the database',
    builder: (y) => withGlobalOptions(y).option('format', { alias: 'f', choices: ['text', 'json'], default: 'text' }) as never,
    handler: async (args) => {
      await withDatabase(args, async (dialect) => {
        const runs = await dialect.history();
        if (args.format === 'json') return out(JSON.stringify({ version: 1, runs }, null, 2));
        if (runs.length === 0) return out('no applies recorded');
        for (const r of runs) {
          const undone = r.steps.filter((s) => s.undoneBy !== null).length;
          const objects = [...new Set(r.steps.flatMap((s) => s.objects))];
          out(
            `${String(r.id).padStart(4)}  ${r.kind.padEnd(8)} ${r.status.padEnd(7)} ${r.startedAt}  ${r.steps.length} step(s)` +
              `${undone ? `, ${undone} undone` : ''}  ${r.fingerprint.slice(0, 19)}  ${r.manifest}`,
          );
          if (objects.length) out(`      ${objects.join(', ')}`);
        }
      });
    },
  };
}
