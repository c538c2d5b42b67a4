import type { CommandModule } from 'yargs';
import { SchemaDiffError } from '../../errors.js';
import type { ReportEntry, Validation, ValidationReport } from '../../run/validate.js';
import type { Catalog } from '../../schema/types.js';
import { qualifiedName } from '../../schema/types.js';
import { idOf } from '../fix-sql.js';
import { printable } from '../../schema/printable.js';
import { EXIT, envelope, formatOf, note, out, parseCount, withDatabase, withFormat, withGlobalOptions } from '../context.js';
import { hasTargets, withFleetOptions, type FleetArgs } from './fleet/options.js';

interface ValidateArgs extends FleetArgs {
  format: 'text' | 'json';
  json?: boolean;
  out?: string;
  'fix-sql': boolean;
  samples: number;
  jobs: number;
  only?: string[];
  table?: string[];
  since?: string;
  column?: string;
}

export function validateCommand(setStatus: (s: number) => void): CommandModule<object, ValidateArgs> {
  return {
    command: 'validate',
    describe: 'report every row that would violate the manifest, before any change (read-only; exit 2 on critical violations)',
    builder: (y) =>
      withFormat(withFleetOptions(withGlobalOptions(y)), ['text', 'json'], 'text', 'report on stdout as a table or JSON')
        .option('out', { alias: 'o', type: 'string', describe: 'also write the JSON report to this file' })
        .option('fix-sql', { type: 'boolean', default: false, describe: 'print commented SQL templates to fix each violated constraint (never run)' })
        .option('samples', { type: 'number', default: 5, describe: 'sample rows per violated constraint' })
        .option('jobs', { alias: 'j', type: 'number', default: 2, describe: 'tables checked in parallel (PostgreSQL server)' })
        .option('only', { type: 'string', array: true, describe: 'check only this constraint or unique index (repeatable)' })
        .option('table', { alias: 't', type: 'string', array: true, describe: 'check only this table, name or schema.name (repeatable)' })
        .option('since', { type: 'string', describe: 'check only rows whose --column is at or after this date or timestamp (a nightly watch)' })
        .option('column', { type: 'string', describe: 'the timestamp column --since compares, default created_at (must exist in every table checked)' }) as never,
    handler: async (args) => {
      const samples = parseCount(args.samples, 'samples', 'samples');
      const jobs = parseCount(args.jobs, 'jobs', 'jobs');
      if (args['fix-sql'] && formatOf(args) === 'json') {
        throw new SchemaDiffError('usage', '--fix-sql prints SQL: use it without --format json (--out still writes the JSON report)');
      }
      if (args.column !== undefined && args.since === undefined) throw new SchemaDiffError('usage', '--column goes with --since: name the moment to check from');
      const since = args.since !== undefined ? { since: { column: args.column ?? 'created_at', from: args.since } } : {};
      if (hasTargets(args)) {
        const { fleetValidate } = await import('./fleet/run.js');
        setStatus(await fleetValidate(args, { samples, jobs, ...since }));
        return;
      }
      const { validateManifest } = await import('../../run/validate.js');
      const validation = await withDatabase(
        args,
        (dialect, manifest) =>
          validateManifest(dialect, manifest, {
            only: args.only,
            tables: args.table,
            samples,
            jobs,
            onProgress: (m) => note(m),
            ...since,
          }),
        { poolSize: jobs, readOnly: true },
      );
      await printValidation(validation, args);
      setStatus(validation.report.ready ? EXIT.ok : EXIT.pending);
    },
  };
}

async function printValidation(validation: Validation, args: ValidateArgs): Promise<void> {
  const { report } = validation;
  const json = envelope('validate', report.target, report);
  if (args.out) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(args.out, json + '\n');
    note(`report written to ${args.out}`);
  }
  if (args['fix-sql']) {
    const { fixSqlTemplates } = await import('../fix-sql.js');
    out(fixSqlTemplates(validation));
    note(summaryLines(report).join('\n'));
  } else if (formatOf(args) === 'json') out(json);
  else out(formatReportText(validation).join('\n'));
}

const SAMPLE_IDS_WIDTH = 60;

/** The text report: one line per constraint, then the summary and the score. */
export function formatReportText({ report, catalog }: Pick<Validation, 'report' | 'catalog'>): string[] {
  const header = ['constraint', 'table', 'kind', 'severity', 'violations', 'sample ids'];
  // One line per constraint whatever its rows hold: every cell is made printable.
  const rows = report.constraints.map((c) => [c.name, c.table, kindOf(c), c.severity, countOf(c), sampleIds(c, catalog)].map(printable));
  const widths = header.slice(0, -1).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 4 ? cell.padStart(widths[i]) : i < widths.length ? cell.padEnd(widths[i]) : cell))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w)).concat('-'.repeat(10))), ...rows.map(line), ...descriptionLines(report), '', ...summaryLines(report)];
}

/** What each violated constraint is for, in the manifest's words (its `description`). */
function descriptionLines(report: ValidationReport): string[] {
  const described = report.constraints.filter((c) => c.description && (c.violations > 0 || c.error !== undefined));
  if (described.length === 0) return [];
  return ['', 'what the violated constraints are for:', ...described.map((c) => printable(`  ${c.name}: ${c.description}`))];
}

export function summaryLines(report: ValidationReport): string[] {
  const t = report.totals;
  const failing = [
    `${t.violated} violated`,
    ...(t.errors ? [`${t.errors} failed to evaluate`] : []),
    `${t.critical} critical, ${t.warning} warning`,
  ].join(', ');
  const verdict = report.ready
    ? 'ready: no critical constraint is violated'
    : `NOT READY: ${t.critical} critical constraint(s) violated or failing; fix the rows before apply (--fix-sql shows where to start)`;
  return [
    `${t.constraints} constraint(s) on ${t.tables} table(s): ${failing}; ${t.violations} violating row(s)`,
    `data-quality score: ${report.score.toFixed(2)} / 100 (${t.passed} of ${t.checks} row × constraint checks pass)`,
    verdict,
  ];
}

function kindOf(c: ReportEntry): string {
  return c.kind === 'foreign_key' ? 'foreign key' : c.kind;
}

function countOf(c: ReportEntry): string {
  if (c.error !== undefined) return 'error';
  return c.groups ? `${c.violations} (${c.groups} key${c.groups === 1 ? '' : 's'})` : String(c.violations);
}

function sampleIds(c: ReportEntry, catalog: Catalog): string {
  if (c.error !== undefined) return c.error;
  if (c.sample.length === 0) return '';
  const pk = catalog.tables.find((t) => qualifiedName(t.ref) === c.table)?.primaryKey ?? [];
  const ids = c.sample.map((r) => (pk.length === 0 ? '?' : idOf(r, pk)));
  const more = c.violations > c.sample.length ? ', …' : '';
  const text = ids.join(', ') + more;
  return text.length > SAMPLE_IDS_WIDTH ? text.slice(0, SAMPLE_IDS_WIDTH - 1) + '…' : text;
}
