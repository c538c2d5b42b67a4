import type { CommandModule } from 'yargs';
import { EXIT, manifestOf, withManifestOptions, writeOrPrint } from '../context.js';

interface DocsArgs {
  manifest?: string;
  out?: string;
  debug: boolean;
}

/** The manifest rendered for people as Markdown (no database is read). */
export function docsCommand(setStatus: (s: number) => void): CommandModule<object, DocsArgs> {
  return {
    command: 'docs',
    describe: 'render the manifest for people: every rule, what each foreign key does, an ER diagram (Markdown)',
    builder: (y) =>
      withManifestOptions(y)
        .option('out', { alias: 'o', type: 'string', describe: 'file to write (default: stdout)' })
        .example('$0 docs --out docs/constraints.md', 'commit it beside the manifest') as never,
    handler: async (args) => {
      const { loadManifest } = await import('../../manifest/load.js');
      const { renderConstraintsDoc } = await import('../../publish/constraints-doc.js');
      const path = manifestOf(args);
      const manifest = await loadManifest(path);
      await writeOrPrint(args.out, renderConstraintsDoc(manifest, path), 'constraints documentation');
      setStatus(EXIT.ok);
    },
  };
}
