import type { ViolationTarget } from '../dialect/dialect.js';
import type { ReportEntry, Validation } from '../run/validate.js';
import type { IndexKey, Table, TableRef } from '../schema/types.js';
import { findTable, qualifiedName } from '../schema/types.js';
import { printable } from '../schema/printable.js';

/**
 * `validate --fix-sql`: for each violated constraint, the query that shows its
 * rows and the UPDATE or DELETE a person would start from. Every line is a
 * comment: the output is read and adapted, never run as it is. Plain SQL that
 * PostgreSQL and SQLite both accept.
 */
export function fixSqlTemplates(validation: Validation): string {
  const { report, targets, catalog } = validation;
  const bad = report.constraints.filter((c) => c.violations > 0 || c.error !== undefined);
  const lines = [
    '-- schema-diff validate --fix-sql: templates for review. Nothing here runs as it is: every line is a comment.',
    '-- Uncomment and adapt only what you mean, run it in a transaction, then run validate again.',
    `-- database: ${report.target}`,
    `-- ${bad.length} constraint(s) to fix`,
  ];
  for (const entry of bad) {
    const target = targets.find((t) => t.name === entry.name && qualifiedName(t.table) === entry.table);
    if (!target) continue;
    const table = findTable(catalog, target.table);
    lines.push('', ...templateFor(entry, target, table).map((l) => (l === '' ? '--' : `-- ${l}`)));
  }
  // Every value that reaches a line (row keys, names, driver messages) stays on it: no newline ends a comment early.
  return lines.map(printable).join('\n') + '\n';
}

function templateFor(entry: ReportEntry, target: ViolationTarget, table: Table | undefined): string[] {
  const head = `${entry.name} on ${entry.table} (${entry.severity})`;
  if (entry.error !== undefined) {
    return [
      `${head}: the expression fails on some row: ${entry.error}`,
      'Find that row (a division by zero, a bad cast …), then correct the row or the expression in the manifest.',
    ];
  }
  const pk = table?.primaryKey ?? [];
  const sampleIds = pk.length && entry.sample.length ? [`samples (${pk.join(', ')}): ${entry.sample.map((r) => idOf(r, pk)).join('; ')}`] : [];
  switch (target.kind) {
    case 'check':
      return [`${head}: ${entry.violations} row(s) where (${oneLine(target.expr)}) is false`, ...sampleIds, ...checkTemplate(target, entry, pk)];
    case 'foreign_key':
      return [
        `${head}: ${entry.violations} row(s) whose ${columnsPhrase(target.columns)} no row of ${qualifiedName(target.refTable)}`,
        ...sampleIds,
        ...foreignKeyTemplate(target, table),
      ];
    case 'unique':
      return [
        `${head}: ${entry.groups ?? 0} duplicated key(s), ${entry.violations} row(s) in excess`,
        ...sampleIds,
        ...uniqueTemplate(target, pk),
      ];
  }
}

function checkTemplate(t: Extract<ViolationTarget, { kind: 'check' }>, entry: ReportEntry, pk: readonly string[]): string[] {
  const where = `(${oneLine(t.expr)}) IS FALSE`;
  const from = tableName(t.table);
  const shown = entry.sample[0] ? Object.keys(entry.sample[0]) : pk;
  const columns = shown.filter((c) => !pk.includes(c));
  const set = columns.length ? columns.map((c) => `${ident(c)} = ${ident(c)} /* corrected value */`).join(', ') : '/* column = corrected value */';
  return [
    'Look at them:',
    `  SELECT ${shown.length ? shown.map(ident).join(', ') : '*'} FROM ${from} WHERE ${where}${orderBy(pk)};`,
    'Correct them (as written, this changes nothing: put the right values in):',
    `  UPDATE ${from} SET ${set} WHERE ${where};`,
    'Or remove them:',
    `  DELETE FROM ${from} WHERE ${where};`,
  ];
}

function foreignKeyTemplate(t: Extract<ViolationTarget, { kind: 'foreign_key' }>, table: Table | undefined): string[] {
  const from = tableName(t.table);
  const outer = (alias: string) => t.columns.map((c) => `${alias}${ident(c)}`);
  const orphan = (alias: string) =>
    `${outer(alias).map((c) => `${c} IS NOT NULL`).join(' AND ')} AND NOT EXISTS (SELECT 1 FROM ${tableName(t.refTable)} p WHERE ${t.refColumns
      .map((r, i) => `p.${ident(r)} = ${outer(alias)[i]}`)
      .join(' AND ')})`;
  const nullable = t.columns.every((c) => table?.columns.find((col) => col.name === c)?.nullable ?? false);
  return [
    'Look at them:',
    `  SELECT c.* FROM ${from} c WHERE ${orphan('c.')};`,
    'Create the missing parent rows, or point them at existing ones; or detach them:',
    nullable
      ? `  UPDATE ${from} SET ${t.columns.map((c) => `${ident(c)} = NULL`).join(', ')} WHERE ${orphan(`${from}.`)};`
      : `  (${t.columns.join(', ')} NOT NULL: rows cannot be detached, only re-pointed or removed)`,
    'Or remove them:',
    `  DELETE FROM ${from} WHERE ${orphan(`${from}.`)};`,
  ];
}

function uniqueTemplate(t: Extract<ViolationTarget, { kind: 'unique' }>, pk: readonly string[]): string[] {
  const from = tableName(t.table);
  const keys = t.keys.map(keyText).join(', ');
  const where = t.where ? oneLine(t.where) : null;
  // NULL keys never clash; a predicate that already says so is not repeated
  const notNull = t.keys.map((k) => `${keyText(k)} IS NOT NULL`).filter((c) => c !== where);
  const indexed = [...(where ? [`(${where})`] : []), ...notNull].join(' AND ');
  const look = [
    'Look at them, a key\'s rows together:',
    `  SELECT * FROM ${from} WHERE ${indexed} AND (${keys}) IN (SELECT ${keys} FROM ${from} WHERE ${indexed} GROUP BY ${keys} HAVING count(*) > 1) ORDER BY ${keys}${pk.length ? `, ${pk.map(ident).join(', ')}` : ''};`,
  ];
  if (pk.length === 0) return [...look, 'No primary key: choose by hand which row of each key to keep.'];
  const ids = pk.map(ident).join(', ');
  return [
    ...look,
    `Keep the first row of each key (lowest ${pk.join(', ')}) and remove the others, or change their keys:`,
    `  DELETE FROM ${from} WHERE (${ids}) IN (SELECT ${ids} FROM (SELECT ${ids}, row_number() OVER (PARTITION BY ${keys} ORDER BY ${ids}) AS n FROM ${from} WHERE ${indexed}) d WHERE n > 1);`,
  ];
}

function columnsPhrase(columns: readonly string[]): string {
  return columns.length === 1 ? `${columns[0]} matches` : `(${columns.join(', ')}) match`;
}

function keyText(k: IndexKey): string {
  return 'column' in k ? ident(k.column) : `(${oneLine(k.expr)})`;
}

function orderBy(pk: readonly string[]): string {
  return pk.length ? ` ORDER BY ${pk.map(ident).join(', ')}` : '';
}

/** A sample row's primary key: `4`, or `(1, EU)` for a composite one. */
export function idOf(row: Record<string, unknown>, pk: readonly string[]): string {
  const values = pk.map((c) => printable(String(row[c])));
  return values.length === 1 ? values[0] : `(${values.join(', ')})`;
}

/** Comment lines cannot hold a newline; `--` comments inside an expression would swallow the rest of the line. */
function oneLine(expr: string): string {
  return expr
    .split(/\r\n|[\n\r\u2028\u2029]/)
    .map((l) => l.replace(/--.*$/, '').replace(/\t/g, ' ').trim())
    .filter(Boolean)
    .join(' ');
}

// Words that cannot stand bare as a name in PostgreSQL or SQLite and are plausible column names.
const RESERVED = new Set(
  'all and as asc by case check collate column constraint create default desc distinct else end from group having in index is join key limit not null of on or order primary references select table then to union unique user using when where'.split(' '),
);

/** An identifier both PostgreSQL and SQLite read back as the same name. */
function ident(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

function tableName(ref: TableRef): string {
  return `${ident(ref.schema)}.${ident(ref.name)}`;
}
