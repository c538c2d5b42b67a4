import { basename } from 'node:path';
import type { Argv } from 'yargs';
import { SchemaDiffError } from '../../../errors.js';
import type { FleetTarget } from '../../../run/fleet/targets.js';
import { configuredFleet } from '../../config.js';
import { databaseUrlOf, parseCount, type GlobalArgs } from '../../context.js';

/** Options that make a command run on a fleet of databases (docs/fleets.md). */
export interface FleetArgs extends GlobalArgs {
  targets?: string;
  'targets-query'?: string;
  parallel: number;
}

export interface RolloutArgs extends FleetArgs {
  canary: number;
  'max-failures': number;
  'only-failed': boolean;
  state?: string;
}

export function withFleetOptions<T>(y: Argv<T>) {
  return y
    .option('targets', { type: 'string', describe: 'run on every database listed in this file (one URL per line, optional label first; docs/fleets.md)' })
    .option('targets-query', {
      type: 'string',
      describe: 'run on the databases this query names (first column) on the --database-url server; read-only',
    })
    .option('parallel', { alias: 'P', type: 'number', default: 4, describe: 'targets worked on at once' });
}

export function withRolloutOptions<T>(y: Argv<T>) {
  return withFleetOptions(y)
    .option('canary', { type: 'number', default: 1, describe: 'targets applied and verified first; the rollout stops if one does not converge' })
    .option('max-failures', { type: 'number', default: 0, describe: 'failures tolerated after the canaries; the next stops the rollout' })
    .option('only-failed', { type: 'boolean', default: false, describe: 'only the targets that failed in the last rollout (from the state file)' })
    .option('state', { type: 'string', describe: 'state file of the rollout (default: <targets file>.state.json)' });
}

const namesFleet = (args: FleetArgs) => args.targets !== undefined || args['targets-query'] !== undefined;

/** A fleet is named by --targets or --targets-query, else by the config's targets unless --database-url names one database. */
export const hasTargets = (args: FleetArgs) => namesFleet(args) || (args['database-url'] === undefined && configuredFleet() !== null);

/** The fleet the flags name. Files and queries are read before any target is connected to. */
export async function loadTargets(args: FleetArgs): Promise<FleetTarget[]> {
  parseCount(args.parallel, 'parallel', 'jobs');
  if (args.targets !== undefined && args['targets-query'] !== undefined) {
    throw new SchemaDiffError('usage', 'give --targets or --targets-query, not both');
  }
  const { parseTargetsFile, targetsOnServer, targetsFromList } = await import('../../../run/fleet/targets.js');
  const configured = configuredFleet();
  if (!namesFleet(args) && configured) return targetsFromList(configured.targets, `config ${basename(configured.path)}`);
  if (args.targets !== undefined) {
    if (args['database-url'] !== undefined) throw new SchemaDiffError('usage', '--targets lists the databases: drop --database-url');
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(args.targets, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new SchemaDiffError('usage', `--targets ${args.targets}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    });
    return parseTargetsFile(text, args.targets);
  }
  const base = databaseUrlOf(args);
  const { queryDatabaseNames } = await import('../../../dialect/open.js');
  return targetsOnServer(base ?? '', await queryDatabaseNames(base, args['targets-query'] as string));
}

/** Where the rollout's state lives: --state, else beside the targets file; a query's fleet has none unless --state names one. */
export function statePathOf(args: RolloutArgs): string | undefined {
  return args.state ?? besideFleetSource(args, '.state.json');
}

/** `<targets file><suffix>`, or `<config file><suffix>` for the config's fleet; none for a query's fleet. */
function besideFleetSource(args: RolloutArgs, suffix: string): string | undefined {
  if (args.targets !== undefined) return `${args.targets}${suffix}`;
  const configured = configuredFleet();
  return !namesFleet(args) && configured ? `${configured.path}${suffix}` : undefined;
}

/**
 * rollback's state, apart from apply's: a rollback must not make apply's
 * --only-failed or its re-run canary forget where the apply left each target.
 */
export function rollbackStatePathOf(args: RolloutArgs): string | undefined {
  return args.state ?? besideFleetSource(args, '.rollback.state.json');
}

export function rolloutCounts(args: RolloutArgs) {
  const whole = (n: number, flag: string, min: number) => {
    if (!Number.isInteger(n) || n < min) throw new SchemaDiffError('usage', `--${flag}: expected a whole number >= ${min}, got ${n}`);
    return n;
  };
  return { canary: whole(args.canary, 'canary', 0), maxFailures: whole(args['max-failures'], 'max-failures', 0), parallel: args.parallel };
}
