import type { CommandModule } from 'yargs';
import { SchemaDiffError } from '../../errors.js';
import { withGlobalOptions, type GlobalArgs } from '../context.js';

export function rollbackCommand(_setStatus: (s: number) => void): CommandModule<object, GlobalArgs> {
  return {
    command: 'rollback',
    describe: 'undo the last apply, or single objects of it (--constraint NAME)',
    builder: (y) => withGlobalOptions(y) as never,
    handler: async () => {
      throw new SchemaDiffError('usage', 'rollback is not available yet');
    },
  };
}
