import type { CommandModule } from 'yargs';
import { EXIT, out, withDatabase, withGlobalOptions, withPruneOption, type PruneArgs } from '../context.js';
import { hasTargets, withFleetOptions, type FleetArgs } from './fleet/options.js';

export function verifyCommand(setStatus: (s: number) => void): CommandModule<object, FleetArgs & PruneArgs> {
  return {
    command: 'verify',
    describe: 'check that every manifest object is present, equal and valid, and nothing is left that apply would drop (exit 2 on drift)',
    builder: (y) =>
      withFleetOptions(withPruneOption(withGlobalOptions(y))).option('format', { alias: 'f', choices: ['text', 'json'], default: 'text' }) as never,
    handler: async (args) => {
      if (hasTargets(args)) {
        const { fleetVerify } = await import('./fleet/run.js');
        setStatus(await fleetVerify(args));
        return;
      }
      const { verifyManifest } = await import('../../run/verify.js');
      await withDatabase(args, async (dialect, manifest) => {
        const drift = await verifyManifest(dialect, manifest, args.manifest, { prune: args.prune });
        if (args.format === 'json') out(JSON.stringify({ version: 1, target: dialect.target, ok: drift.length === 0, drift }, null, 2));
        else if (drift.length === 0) out(`${dialect.target}: every object of ${args.manifest} is present, equal and valid`);
        else {
          out(`${drift.length} object(s) drift from ${args.manifest}:`);
          for (const d of drift) out(`  ${d.problem.padEnd(13)} ${d.object} on ${d.table}: ${d.detail}`);
        }
        setStatus(drift.length === 0 ? EXIT.ok : EXIT.pending);
      }, { readOnly: true });
    },
  };
}
