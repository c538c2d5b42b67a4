import type { CommandModule } from 'yargs';
import { EXIT, manifestOf, withManifestOptions, writeOrPrint } from '../context.js';

interface CodegenArgs {
  manifest?: string;
  out?: string;
  debug: boolean;
}

/** The manifest's rules as a dependency-free TypeScript module (no database is read). */
export function codegenCommand(setStatus: (s: number) => void): CommandModule<object, CodegenArgs> {
  return {
    command: 'codegen',
    describe: "write a dependency-free TypeScript module with the manifest's rules, messages and codes and an explainViolation",
    builder: (y) =>
      withManifestOptions(y)
        .option('out', { alias: 'o', type: 'string', describe: 'file to write (default: stdout)' })
        .example('$0 codegen --out src/constraints.ts', 'for applications that do not load the manifest at run time') as never,
    handler: async (args) => {
      const { loadManifest } = await import('../../manifest/load.js');
      const { generateConstraintsModule } = await import('../../publish/codegen.js');
      const path = manifestOf(args);
      const manifest = await loadManifest(path);
      await writeOrPrint(args.out, generateConstraintsModule(manifest, path), 'constraints module');
      setStatus(EXIT.ok);
    },
  };
}
