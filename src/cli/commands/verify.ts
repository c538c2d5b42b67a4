import type { CommandModule } from 'yargs';
import { EXIT, envelope, formatOf, manifestOf, note, out, withDatabase, withFormat, withGlobalOptions, withPruneOption, type PruneArgs } from '../context.js';
import { hasTargets, withFleetOptions, type FleetArgs } from './fleet/options.js';

interface VerifyArgs extends FleetArgs, PruneArgs {
  format: 'text' | 'json';
  json?: boolean;
}

export function verifyCommand(setStatus: (s: number) => void): CommandModule<object, VerifyArgs> {
  return {
    command: 'verify',
    describe: 'check that every manifest object is present, equal and valid, and nothing is left that apply would drop (exit 2 on drift)',
    builder: (y) => withFormat(withFleetOptions(withPruneOption(withGlobalOptions(y))), ['text', 'json'], 'text') as never,
    handler: async (args) => {
      if (hasTargets(args)) {
        const { fleetVerify } = await import('./fleet/run.js');
        setStatus(await fleetVerify(args));
        return;
      }
      const { verifyManifest } = await import('../../run/verify.js');
      const manifestPath = manifestOf(args);
      await withDatabase(args, async (dialect, manifest) => {
        const drift = await verifyManifest(dialect, manifest, manifestPath, { prune: args.prune });
        if (formatOf(args) === 'json') out(envelope('verify', dialect.target, { ok: drift.length === 0, drift }));
        else if (drift.length === 0) out(`${dialect.target}: every object of ${manifestPath} is present, equal and valid`);
        else {
          out(`${drift.length} object(s) drift from ${manifestPath}:`);
          for (const d of drift) out(`  ${d.problem.padEnd(13)} ${d.object} on ${d.table}: ${d.detail}`);
        }
        for (const line of dialect.applicationNotes?.() ?? []) note(line);
        setStatus(drift.length === 0 ? EXIT.ok : EXIT.pending);
      }, { readOnly: true });
    },
  };
}
