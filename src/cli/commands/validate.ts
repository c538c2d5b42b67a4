import type { CommandModule } from 'yargs';
import { EXIT, out, withDatabase, withGlobalOptions, type GlobalArgs } from '../context.js';

interface ValidateArgs extends GlobalArgs {
  samples: number;
  jobs: number;
}

export function validateCommand(setStatus: (s: number) => void): CommandModule<object, ValidateArgs> {
  return {
    command: 'validate',
    describe: 'report every row that would violate the manifest, before any change (read-only)',
    builder: (y) =>
      withGlobalOptions(y)
        .option('format', { alias: 'f', choices: ['text', 'json'], default: 'text' })
        .option('samples', { type: 'number', default: 5, describe: 'sample rows per violated constraint' })
        .option('jobs', { alias: 'j', type: 'number', default: 2, describe: 'tables checked in parallel (PostgreSQL)' }) as never,
    handler: async (args) => {
      const { desiredFor, tablesOf } = await import('../../run/prepare.js');
      const { targetsOfManifest } = await import('../../run/targets.js');
      const { checkAgainstCatalog } = await import('../../diff/catalog-check.js');
      await withDatabase(
        args,
        async (dialect, manifest) => {
          const desired = desiredFor(dialect, manifest);
          checkAgainstCatalog(desired, await dialect.introspect(tablesOf(desired)));
          const counts = await dialect.countViolations(targetsOfManifest(desired), { samples: args.samples, jobs: args.jobs });
          const critical = counts.filter((c) => c.severity === 'critical' && (c.violations > 0 || c.error));
          if (args.format === 'json') out(JSON.stringify({ version: 1, constraints: counts }, null, 2));
          else for (const c of counts) out(`${c.name.padEnd(45)} ${c.table.name.padEnd(20)} ${c.kind.padEnd(12)} ${c.error ?? c.violations}`);
          setStatus(critical.length ? EXIT.pending : EXIT.ok);
        },
        { poolSize: args.jobs },
      );
    },
  };
}
