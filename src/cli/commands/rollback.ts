import type { CommandModule } from 'yargs';
import { defaultOf } from '../config.js';
import { SchemaDiffError } from '../../errors.js';
import { printable } from '../../schema/printable.js';
import type { RollbackPlan, RollbackResult, RollbackScope } from '../../run/rollback.js';
import {
  backupOptionsOf,
  envelope,
  EXIT,
  formatOf,
  out,
  parseCount,
  parseDuration,
  withBackupOptions,
  withDialect,
  withFormat,
  withGlobalOptions,
  type BackupArgs,
} from '../context.js';
import { hasTargets, withRolloutOptions, type RolloutArgs } from './fleet/options.js';

interface RollbackArgs extends RolloutArgs, BackupArgs {
  format: 'text' | 'json';
  json?: boolean;
  constraint: string[];
  to?: number;
  'dry-run': boolean;
  yes: boolean;
  'lock-timeout': string;
  'lock-retries': number;
  'retry-budget': string;
  'lock-wait': string;
  quiet: boolean;
}

export function rollbackCommand(setStatus: (s: number) => void): CommandModule<object, RollbackArgs> {
  return {
    command: 'rollback',
    describe: 'undo the last apply, every apply after a run (--to ID), or single objects (--constraint NAME)',
    builder: (y) =>
      withFormat(withRolloutOptions(withBackupOptions(withGlobalOptions(y))), ['text', 'json'], 'text')
        .option('constraint', {
          alias: 'c',
          type: 'string',
          array: true,
          default: [],
          describe: 'return just this object (CHECK, foreign key or index; repeatable) to its state before the apply that last changed it',
        })
        .option('to', { type: 'number', describe: 'undo every apply after run ID (see schema-diff history); 0 undoes them all' })
        .option('dry-run', { type: 'boolean', default: false, describe: 'print the SQL script it would run; change nothing' })
        .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'do not ask for confirmation' })
        .option('lock-timeout', { type: 'string', default: defaultOf<string>('lock-timeout'), describe: 'lock_timeout for each write-blocking statement' })
        .option('lock-retries', { type: 'number', default: defaultOf<number>('lock-retries'), describe: 'attempts per step before giving up' })
        .option('retry-budget', { type: 'string', default: defaultOf<string>('retry-budget'), describe: 'total time a step may spend retrying its lock' })
        .option('lock-wait', { type: 'string', default: defaultOf<string>('lock-wait'), describe: 'how long to wait for a running apply or rollback to finish' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress on stderr' }) as never,
    handler: async (args) => {
      const { rollback } = await import('../../run/rollback.js');
      const { confirmOnTerminal } = await import('../confirm.js');
      const { progressPrinter } = await import('../progress.js');
      const scope = scopeOf(args);
      const limits = {
        lockTimeoutMs: parseDuration(args['lock-timeout'], 'lock-timeout'),
        lockRetries: parseCount(args['lock-retries'], 'lock-retries', 'lockRetries'),
        retryBudgetMs: parseDuration(args['retry-budget'], 'retry-budget'),
        lockWaitMs: parseDuration(args['lock-wait'], 'lock-wait'),
      };
      const backup = backupOptionsOf(args);
      if (hasTargets(args)) {
        const { fleetRollback } = await import('./fleet/rollback.js');
        setStatus(await fleetRollback(args, scope, { ...limits, ...backup }));
        return;
      }
      await withDialect(args, async (dialect) => {
        const result = await rollback(dialect, {
          scope,
          dryRun: args['dry-run'],
          ...limits,
          ...backup,
          confirm: (plan) => confirmOnTerminal(rollbackQuestion(plan), args.yes),
          events: progressPrinter(args.quiet),
        });
        if (formatOf(args) === 'json') out(envelope('rollback', result.plan.target, asJson(result, args['dry-run'])));
        else out(asText(result, args['dry-run']));
        setStatus(EXIT.ok);
      });
    },
  };
}

function scopeOf(args: RollbackArgs): RollbackScope {
  const names = (args.constraint ?? []).map(String).filter((n) => n.length > 0);
  if (names.length > 0 && args.to !== undefined) {
    throw new SchemaDiffError('usage', '--constraint and --to do not combine: undo objects, or every apply after a run');
  }
  if (names.length > 0) return { kind: 'objects', names };
  if (args.to !== undefined) {
    if (!Number.isInteger(args.to) || args.to < 0) throw new SchemaDiffError('usage', `--to: expected a run id (0 or more), got ${args.to}`);
    return { kind: 'to', runId: args.to };
  }
  return { kind: 'last' };
}

/** The confirmation asked before a rollback: every statement it will run, then the question. */
export function rollbackQuestion(plan: RollbackPlan): string {
  const statements = plan.steps.flatMap((s) => [`-- ${s.id}. ${printable(s.reason)}`, ...s.sql.map((q) => `${printable(q)};`)]);
  return [
    `rollback will run these statements on ${plan.target}:`,
    ...statements,
    `undo ${plan.steps.length} step(s) of apply run ${plan.applies.join(', ')} on ${plan.target} (${summarize(plan.objects)})?`,
  ].join('\n');
}

function asText(result: RollbackResult, dryRun: boolean): string {
  const { plan } = result;
  if (plan.steps.length === 0) return plan.notes.length ? plan.notes.join('\n') : `${plan.target}: nothing to undo`;
  if (dryRun && result.script !== undefined) return result.script;
  return `rolled back ${plan.steps.length} step(s) of apply run ${plan.applies.join(', ')} on ${plan.target} (run ${result.runId}): ${summarize(plan.objects)}`;
}

function asJson(result: RollbackResult, dryRun: boolean) {
  const { plan } = result;
  return {
    dryRun,
    runId: result.runId,
    applies: plan.applies,
    objects: plan.objects,
    notes: plan.notes,
    steps: plan.steps.map((s) => ({
      id: s.id,
      action: s.action,
      table: s.table,
      name: s.name,
      sql: s.sql,
      undoes: plan.undoes.get(s.id) ?? [],
      // an undo of some objects of a step marks nothing undone: it names the step it took them from
      ...(s.partOf ? { partOf: s.partOf, objects: s.objects } : {}),
    })),
    ...(result.script !== undefined ? { script: result.script } : {}),
  };
}

function summarize(names: readonly string[]): string {
  return names.length <= 6 ? names.join(', ') : `${names.slice(0, 6).join(', ')} and ${names.length - 6} more`;
}
