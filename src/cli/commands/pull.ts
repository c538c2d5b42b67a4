import type { CommandModule } from 'yargs';
import { SchemaDiffError } from '../../errors.js';
import type { ManifestFormat } from '../../publish/manifest-source.js';
import { EXIT, note, out, withDialect } from '../context.js';

interface PullArgs {
  'database-url'?: string;
  tables?: string[];
  schema?: string[];
  out?: string;
  force: boolean;
  format?: ManifestFormat;
  'db-type'?: string;
  debug: boolean;
}

/** The manifest of what the database has (read-only): the start of a project on an existing database. */
export function pullCommand(setStatus: (s: number) => void): CommandModule<object, PullArgs> {
  return {
    command: 'pull',
    aliases: ['init'],
    describe: 'write a manifest of the CHECKs, foreign keys and indexes the database has (nothing is changed)',
    builder: (y) =>
      y
        .option('database-url', {
          alias: 'd',
          type: 'string',
          describe: 'postgres://…, pglite:<dir>, sqlite:///path.db (default: $DATABASE_URL, then the config file)',
        })
        .option('tables', { alias: 't', type: 'string', array: true, describe: 'only these tables: table or schema.table (comma-separated or repeated; default: every user table)' })
        .option('schema', { type: 'string', array: true, describe: 'only the tables of these schemas (PostgreSQL; comma-separated or repeated)' })
        .option('out', { alias: 'o', type: 'string', describe: 'file to write (default: stdout); an existing one only with --force' })
        .option('force', { type: 'boolean', default: false, describe: 'overwrite the --out file if it exists' })
        .option('format', { alias: 'f', choices: ['ts', 'json'] as const, describe: "ts or json (default: from --out's extension, else ts)" })
        .option('db-type', { type: 'string', describe: 'module exporting your Kysely DB type (./db): the .ts manifest uses defineManifest<DB>' })
        .option('debug', { type: 'boolean', default: false, describe: 'print stack traces and driver details' })
        .example('$0 pull --out manifest/index.ts --db-type ./db.js', 'start a typed manifest from the database you have')
        .example('$0 pull --tables orders,users --format json', 'two tables, as JSON on stdout') as never,
    handler: async (args) => {
      const { pullManifest } = await import('../../run/pull.js');
      const { renderManifestSource } = await import('../../publish/manifest-source.js');
      const format = formatFor(args);
      if (args['db-type'] !== undefined && format !== 'ts') throw new SchemaDiffError('usage', '--db-type: only a .ts manifest imports a DB type (use --format ts)');
      if (args.out !== undefined && !args.force) await refuseExisting(args.out);
      const pulled = await withDialect(args, (dialect) => pullManifest(dialect, { tables: args.tables, schemas: args.schema }), { readOnly: true });
      for (const n of pulled.notes) note(`${n.skipped ? 'skipped' : 'note'}: ${n.object}: ${n.reason}`);
      if (pulled.tables.length === 0) note('note: no tables found: the manifest lists none');
      const text = renderManifestSource(pulled.manifest, { format, dbType: args['db-type'] });
      if (args.out === undefined) out(text);
      else await writeManifest(args.out, text, args.force, pulled.tables.length);
      setStatus(EXIT.ok);
    },
  };
}

/** --format, else the --out file's extension (a manifest is loaded by its extension), else ts. */
function formatFor(args: PullArgs): ManifestFormat {
  const extension = /\.([cm]?ts|json|[cm]?js)$/.exec(args.out ?? '')?.[1];
  const fromOut: ManifestFormat | undefined = extension === undefined ? undefined : extension === 'json' ? 'json' : extension.endsWith('ts') ? 'ts' : undefined;
  if (args.out !== undefined && fromOut === undefined) {
    throw new SchemaDiffError('usage', `--out ${args.out}: a manifest file ends in .ts or .json (that is how schema-diff loads it)`);
  }
  if (args.format !== undefined && fromOut !== undefined && args.format !== fromOut) {
    throw new SchemaDiffError('usage', `--format ${args.format} does not fit --out ${args.out} (a manifest is loaded by its extension)`);
  }
  return args.format ?? fromOut ?? 'ts';
}

async function refuseExisting(path: string): Promise<void> {
  const { stat } = await import('node:fs/promises');
  if (await stat(path).then(() => true, () => false)) {
    throw new SchemaDiffError('refused', `--out ${path} exists; nothing was written (--force overwrites it)`);
  }
}

/** Written in one go; without --force, `wx` refuses a file that appeared since the check, rather than overwrite it. */
async function writeManifest(path: string, text: string, force: boolean, tables: number): Promise<void> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(path, text, { flag: force ? 'w' : 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new SchemaDiffError('refused', `--out ${path} exists; nothing was written (--force overwrites it)`);
    throw new SchemaDiffError('usage', `--out ${path}: cannot write it: ${(e as Error).message}`);
  }
  note(`manifest of ${tables} table(s) written to ${path}`);
}
