import type { ForeignKey } from '../../schema/types.js';
import { leadStart, type ParsedCheck, type ParsedForeignKey, type ParsedTable, type Span } from './create-table.js';
import { quoteColumns, quoteIdent } from './quote.js';

/** What a rebuild changes in a table's CREATE TABLE text: managed constraints only. */
export interface TableEdits {
  /** CHECKs found by name whose expression is replaced in place. */
  readonly replaceChecks: ReadonlyArray<{ readonly name: string; readonly expr: string }>;
  /** CHECKs to add; a null name adds an unnamed one (`CHECK (expr)`). */
  readonly addChecks: ReadonlyArray<{ readonly name: string | null; readonly expr: string }>;
  /** CHECKs to take out of the text (column or table constraints, named or not). */
  readonly removeChecks?: readonly ParsedCheck[];
  /** Foreign keys to take out of the text (inline REFERENCES clauses or table constraints). */
  readonly removeForeignKeys: readonly ParsedForeignKey[];
  readonly addForeignKeys: readonly ForeignKey[];
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/**
 * The table's own CREATE TABLE text with only the managed constraints edited:
 * a replaced CHECK keeps its place and name, a removed constraint takes its
 * comma and leading whitespace with it (never a comment), added constraints go
 * after the last element, laid out like it.
 */
export function editCreateTable(table: ParsedTable, edits: TableEdits): string {
  const out: Edit[] = [];
  for (const r of edits.replaceChecks) {
    const check = table.checks.find((c) => c.name === r.name) ?? table.checks.find((c) => c.name?.toLowerCase() === r.name.toLowerCase());
    if (!check) throw new Error(`CHECK ${r.name} not found in the CREATE TABLE text of ${table.name}`);
    out.push({ ...check.exprSpan, text: r.expr });
  }
  for (const fk of edits.removeForeignKeys) out.push(...removal(table, fk));
  for (const ck of edits.removeChecks ?? []) out.push(...removal(table, { ...ck, inline: ck.column !== null }));
  const added = [
    ...edits.addChecks.map((c) => `${c.name === null ? '' : `CONSTRAINT ${quoteIdent(c.name)} `}CHECK (${c.expr})`),
    ...edits.addForeignKeys.map(foreignKeyConstraint),
  ];
  if (added.length > 0) out.push(...insertion(table, added));
  return applyEdits(table.text, out);
}

/**
 * New constraints go after the last element. A comment on the same line as
 * that element stays with it: the comma goes before the comment (a `--`
 * comment would swallow it), the constraints after it.
 */
function insertion(table: ParsedTable, added: readonly string[]): Edit[] {
  const last = table.elements[table.elements.length - 1];
  const separator = separatorLike(table, last.span.start, last.leadStart);
  const comment = trailingComment(table, last.span.end);
  if (comment === null || !separator.startsWith(',\n')) {
    return [{ start: last.span.end, end: last.span.end, text: added.map((a) => separator + a).join('') }];
  }
  return [
    { start: last.span.end, end: last.span.end, text: ',' },
    { start: comment, end: comment, text: added.map((a, i) => (i === 0 ? separator.slice(1) : separator) + a).join('') },
  ];
}

/** The end of a comment that follows `offset` on the same line, or null. */
function trailingComment(table: ParsedTable, offset: number): number | null {
  let end: number | null = null;
  for (const t of table.tokens.filter((x) => x.start >= offset)) {
    if (t.kind === 'comment') end = t.end;
    else if (t.kind !== 'space' || t.text.includes('\n')) break;
  }
  return end;
}

/** A constraint's text taken out: a whole table-constraint element with its comma, or a column constraint with its leading space. */
function removal(table: ParsedTable, fk: { readonly inline: boolean; readonly span: Span; readonly element: number }): Edit[] {
  const element = table.elements[fk.element];
  const wholeElement = !fk.inline && element.span.start === fk.span.start && element.span.end === fk.span.end;
  if (wholeElement && element.comma) {
    return [
      { ...element.comma, text: '' },
      { start: Math.max(element.leadStart, element.comma.end), end: element.span.end, text: '' },
    ];
  }
  return [{ start: leadStart(table.tokens, fk.span.start), end: fk.span.end, text: '' }];
}

/** `,\n  ` when the elements sit one per line (with the last one's indentation), else `, `. */
function separatorLike(table: ParsedTable, elementStart: number, lead: number): string {
  const gap = table.text.slice(lead, elementStart);
  const nl = gap.lastIndexOf('\n');
  return nl >= 0 ? `,\n${gap.slice(nl + 1)}` : ', ';
}

export function foreignKeyConstraint(fk: ForeignKey): string {
  const parts = [
    `${fk.unnamed ? '' : `CONSTRAINT ${quoteIdent(fk.name)} `}FOREIGN KEY (${quoteColumns(fk.columns)})`,
    `REFERENCES ${quoteIdent(fk.refTable.name)}${fk.refColumns.length ? ` (${quoteColumns(fk.refColumns)})` : ''}`,
  ];
  if (fk.onUpdate !== 'no action') parts.push(`ON UPDATE ${fk.onUpdate.toUpperCase()}`);
  if (fk.onDelete !== 'no action') parts.push(`ON DELETE ${fk.onDelete.toUpperCase()}`);
  if (fk.deferrable) parts.push(fk.initiallyDeferred ? 'DEFERRABLE INITIALLY DEFERRED' : 'DEFERRABLE INITIALLY IMMEDIATE');
  return parts.join(' ');
}

function applyEdits(text: string, edits: readonly Edit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start || b.end - a.end);
  for (let k = 1; k < sorted.length; k++) {
    if (sorted[k].end > sorted[k - 1].start) throw new Error('overlapping edits of a CREATE TABLE text');
  }
  let out = text;
  for (const e of sorted) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
