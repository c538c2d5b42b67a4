import type { CommandModule } from 'yargs';
import { defaultOf } from '../config.js';
import { EXIT, envelope, formatOf, note, out, parseDuration, withDialect, withFormat, withGlobalOptions, type GlobalArgs } from '../context.js';

interface ForgetArgs extends GlobalArgs {
  format: 'text' | 'json';
  json?: boolean;
  names: string[];
  'lock-wait': string;
}

export function forgetCommand(setStatus: (s: number) => void): CommandModule<object, ForgetArgs> {
  return {
    command: 'forget <names..>',
    describe: "end schema-diff's ownership of objects without touching the database: removed from the manifest, they are then left alone",
    builder: (y) =>
      withFormat(withGlobalOptions(y).positional('names', { type: 'string', array: true, describe: 'CHECK, foreign key or index names schema-diff created' }), ['text', 'json'], 'text')
        .option('lock-wait', { type: 'string', default: defaultOf<string>('lock-wait'), describe: 'how long to wait for a running apply or rollback to finish' })
        .example('$0 forget ix_orders_created_at', 'hand the index over to another tool: schema-diff will never drop it') as never,
    handler: async (args) => {
      const { forgetObjects } = await import('../../run/forget.js');
      const lockWaitMs = parseDuration(args['lock-wait'], 'lock-wait');
      await withDialect(args, async (dialect) => {
        const result = await forgetObjects(dialect, args.names.map(String), { lockWaitMs, notice: note });
        if (formatOf(args) === 'json') {
          const forgotten = result.forgotten.map((o) => ({ kind: o.kind, table: o.table, name: o.name }));
          out(envelope('forget', dialect.target, { runId: result.runId, forgotten }));
        } else {
          for (const o of result.forgotten) out(`forgot ${o.kind.replace('_', ' ')} ${o.name} on ${o.table}: schema-diff no longer owns it`);
          out(`recorded as run ${result.runId}; the database schema was not touched`);
        }
        setStatus(EXIT.ok);
      });
    },
  };
}
