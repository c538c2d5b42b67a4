import type { Argv } from 'yargs';
import { SchemaDiffError } from '../../errors.js';
import { checkRevisionId } from '../../publish/revision-id.js';

/** The formats plan and show print a plan in. */
export const PLAN_FORMATS = ['sql', 'json', 'text', 'alembic'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];
export const FORMAT_HELP = 'sql script, JSON plan, a summary for people, or an Alembic revision (needs --revision-id, --down-revision)';

export interface AlembicArgs {
  format: PlanFormat | 'json';
  'revision-id'?: string;
  'down-revision'?: string;
}

export function withAlembicOptions<T>(y: Argv<T>) {
  return y
    .option('revision-id', { type: 'string', describe: '--format alembic: the revision id of the revision written' })
    .option('down-revision', { type: 'string', describe: '--format alembic: the revision it follows (none for the first)' });
}

/**
 * --revision-id and --down-revision, required by --format alembic and only
 * there; `none` makes the revision a project's first (down_revision = None).
 */
export function alembicOptionsOf(args: AlembicArgs): { revision: string; downRevision: string | null } | undefined {
  const revision = args['revision-id'];
  const down = args['down-revision'];
  if (args.format !== 'alembic') {
    if (revision !== undefined || down !== undefined) throw new SchemaDiffError('usage', '--revision-id and --down-revision go with --format alembic');
    return undefined;
  }
  if (revision === undefined || down === undefined) {
    throw new SchemaDiffError('usage', `--format alembic needs ${revision === undefined ? '--revision-id' : '--down-revision'} (an Alembic revision id; --down-revision none for the first revision)`);
  }
  return {
    revision: checkRevisionId('--revision-id', String(revision)),
    downRevision: down === 'none' ? null : checkRevisionId('--down-revision', String(down)),
  };
}
