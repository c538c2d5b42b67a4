import type { FkAction } from '../../schema/types.js';
import {
  isName,
  isOp,
  isWord,
  matchParen,
  significant,
  splitTopLevel,
  tokenize,
  TokenizeError,
  type Token,
} from './tokenizer.js';

/**
 * A table's CREATE TABLE text taken apart just enough to find its CHECK and
 * FOREIGN KEY constraints, with the character offsets of each, so that the
 * managed ones can be replaced, removed or added while every other byte of the
 * text (types, defaults, collations, generated columns, AUTOINCREMENT,
 * WITHOUT ROWID, STRICT, comments) stays exactly as it was.
 */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface ParsedCheck {
  /** From `CONSTRAINT name`, or null for an unnamed CHECK. */
  readonly name: string | null;
  /** The column it is declared on, for a column-level CHECK. */
  readonly column: string | null;
  /** From `CONSTRAINT` (or `CHECK`) to the closing parenthesis. */
  readonly span: Span;
  /** The expression between the parentheses, as written. */
  readonly expr: string;
  readonly exprSpan: Span;
  readonly element: number;
}

export interface ParsedForeignKey {
  readonly name: string | null;
  /** true for `col ... REFERENCES parent` inside a column definition. */
  readonly inline: boolean;
  readonly columns: readonly string[];
  readonly refTable: string;
  /** Empty when omitted: the parent's primary key. */
  readonly refColumns: readonly string[];
  readonly onDelete: FkAction;
  readonly onUpdate: FkAction;
  readonly deferrable: boolean;
  readonly initiallyDeferred: boolean;
  readonly span: Span;
  readonly element: number;
}

export interface ParsedElement {
  readonly kind: 'column' | 'constraint';
  /** The column's name, for a column definition. */
  readonly column: string | null;
  /** First to last significant character of the element. */
  readonly span: Span;
  /** The comma before it, if any. */
  readonly comma: Span | null;
  /** Where the text before the element stops being whitespace (end of the comma or a comment). */
  readonly leadStart: number;
}

export interface ParsedTable {
  readonly text: string;
  readonly tokens: readonly Token[];
  readonly name: string;
  readonly elements: readonly ParsedElement[];
  readonly checks: readonly ParsedCheck[];
  readonly foreignKeys: readonly ParsedForeignKey[];
  /** Offset of the parenthesis that closes the column list. */
  readonly bodyClose: number;
  readonly withoutRowid: boolean;
  readonly autoincrement: boolean;
}

const CONSTRAINT_START = ['CONSTRAINT', 'PRIMARY', 'NOT', 'NULL', 'UNIQUE', 'CHECK', 'DEFAULT', 'COLLATE', 'REFERENCES', 'GENERATED', 'AS', 'FOREIGN'];
const TABLE_CONSTRAINT_START = ['CONSTRAINT', 'PRIMARY', 'UNIQUE', 'CHECK', 'FOREIGN'];

export function parseCreateTable(text: string): ParsedTable {
  const tokens = tokenize(text);
  const sig = significant(tokens);
  let i = 0;
  const expectWord = (...words: string[]) => {
    if (!isWord(sig[i], ...words)) throw new TokenizeError(`expected ${words.join(' or ')} at offset ${sig[i]?.start ?? text.length}`);
    i++;
  };
  expectWord('CREATE');
  if (isWord(sig[i], 'TEMP', 'TEMPORARY')) i++;
  expectWord('TABLE');
  if (isWord(sig[i], 'IF')) i += 3;
  if (isOp(sig[i + 1], '.')) i += 2;
  const name = sig[i++].value;
  if (!isOp(sig[i], '(')) throw new TokenizeError(`CREATE TABLE ${name} AS SELECT has no column list to edit`);
  const open = i;
  const close = matchParen(sig, open);
  const elements: ParsedElement[] = [];
  const checks: ParsedCheck[] = [];
  const foreignKeys: ParsedForeignKey[] = [];
  for (const part of splitTopLevel(sig, open, close)) {
    const index = elements.length;
    const first = sig[part.from];
    const isConstraint = isWord(first, ...TABLE_CONSTRAINT_START);
    const column = isConstraint ? null : first.value;
    const comma = part.comma === null ? null : { start: sig[part.comma].start, end: sig[part.comma].end };
    elements.push({
      kind: isConstraint ? 'constraint' : 'column',
      column,
      span: { start: first.start, end: sig[part.to - 1].end },
      comma,
      leadStart: leadStart(tokens, first.start),
    });
    scanConstraints(text, sig, isConstraint ? part.from : part.from + 1, part.to, { column, element: index, checks, foreignKeys });
  }
  const after = sig.slice(close + 1);
  return {
    text,
    tokens,
    name,
    elements,
    checks,
    foreignKeys,
    bodyClose: sig[close].start,
    withoutRowid: after.some((t, k) => isWord(t, 'WITHOUT') && isWord(after[k + 1], 'ROWID')),
    autoincrement: sig.slice(open, close).some((t) => isWord(t, 'AUTOINCREMENT')),
  };
}

/** The end of the last comment or punctuation before `offset`, skipping only whitespace. */
export function leadStart(tokens: readonly Token[], offset: number): number {
  let start = offset;
  for (let k = tokens.findIndex((t) => t.start === offset) - 1; k >= 0 && tokens[k].kind === 'space'; k--) start = tokens[k].start;
  return start;
}

/** Walks the constraints of one column definition (after its name) or one table-constraint element. */
function scanConstraints(
  text: string,
  sig: readonly Token[],
  from: number,
  to: number,
  into: { column: string | null; element: number; checks: ParsedCheck[]; foreignKeys: ParsedForeignKey[] },
): void {
  const { column, element, checks, foreignKeys } = into;
  let name: string | null = null;
  let nameStart: number | null = null;
  for (let i = from; i < to; ) {
    const t = sig[i];
    if (isWord(t, 'CONSTRAINT')) {
      nameStart = t.start;
      name = sig[i + 1].value;
      i += 2;
      continue;
    }
    const start = nameStart ?? t.start;
    if (isWord(t, 'CHECK') && isOp(sig[i + 1], '(')) {
      const close = matchParen(sig, i + 1);
      const exprSpan = { start: sig[i + 1].end, end: sig[close].start };
      checks.push({ name, column, span: { start, end: sig[close].end }, expr: text.slice(exprSpan.start, exprSpan.end), exprSpan, element });
      i = close + 1;
    } else if (isWord(t, 'REFERENCES') && column !== null) {
      const fk = parseReferences(sig, i, to);
      foreignKeys.push({ name, inline: true, columns: [column], ...fk.clause, span: { start, end: sig[fk.next - 1].end }, element });
      i = fk.next;
    } else if (isWord(t, 'FOREIGN') && isWord(sig[i + 1], 'KEY') && isOp(sig[i + 2], '(')) {
      const close = matchParen(sig, i + 2);
      const columns = namesIn(sig, i + 3, close);
      const fk = parseReferences(sig, close + 1, to);
      foreignKeys.push({ name, inline: false, columns, ...fk.clause, span: { start, end: sig[fk.next - 1].end }, element });
      i = fk.next;
    } else {
      i = skipOther(sig, i, to);
    }
    name = null;
    nameStart = null;
  }
}

/** Skips a constraint we do not manage (or a column's type name) up to the next constraint keyword. */
function skipOther(sig: readonly Token[], i: number, to: number): number {
  const isDefault = isWord(sig[i], 'DEFAULT');
  i++;
  if (isDefault) {
    // DEFAULT takes one value: a signed literal, a word (NULL, CURRENT_TIMESTAMP …) or a parenthesized expression
    if (isOp(sig[i], '-') || isOp(sig[i], '+')) i++;
    if (isOp(sig[i], '(')) return matchParen(sig, i) + 1;
    return i + 1;
  }
  while (i < to && !isWord(sig[i], ...CONSTRAINT_START)) {
    i = isOp(sig[i], '(') ? matchParen(sig, i) + 1 : i + 1;
  }
  return i;
}

type ClauseFields = Pick<ParsedForeignKey, 'refTable' | 'refColumns' | 'onDelete' | 'onUpdate' | 'deferrable' | 'initiallyDeferred'>;

/** `REFERENCES parent [(cols)] [ON DELETE|UPDATE action] [MATCH x] [[NOT] DEFERRABLE [INITIALLY …]]` */
function parseReferences(sig: readonly Token[], at: number, to: number): { clause: ClauseFields; next: number } {
  if (!isWord(sig[at], 'REFERENCES') || !isName(sig[at + 1])) {
    throw new TokenizeError(`expected REFERENCES parent at offset ${sig[at]?.start}`);
  }
  const clause: { -readonly [K in keyof ClauseFields]: ClauseFields[K] } = {
    refTable: sig[at + 1].value,
    refColumns: [],
    onDelete: 'no action',
    onUpdate: 'no action',
    deferrable: false,
    initiallyDeferred: false,
  };
  let i = at + 2;
  if (isOp(sig[i], '(')) {
    const close = matchParen(sig, i);
    clause.refColumns = namesIn(sig, i + 1, close);
    i = close + 1;
  }
  while (i < to) {
    if (isWord(sig[i], 'ON') && isWord(sig[i + 1], 'DELETE', 'UPDATE')) {
      const { action, next } = parseAction(sig, i + 2);
      if (isWord(sig[i + 1], 'DELETE')) clause.onDelete = action;
      else clause.onUpdate = action;
      i = next;
    } else if (isWord(sig[i], 'MATCH')) {
      i += 2;
    } else if (isWord(sig[i], 'NOT') && isWord(sig[i + 1], 'DEFERRABLE')) {
      i = skipInitially(sig, i + 2);
    } else if (isWord(sig[i], 'DEFERRABLE')) {
      clause.deferrable = true;
      clause.initiallyDeferred = isWord(sig[i + 1], 'INITIALLY') && isWord(sig[i + 2], 'DEFERRED');
      i = skipInitially(sig, i + 1);
    } else {
      break;
    }
  }
  return { clause, next: i };
}

function skipInitially(sig: readonly Token[], i: number): number {
  return isWord(sig[i], 'INITIALLY') ? i + 2 : i;
}

function parseAction(sig: readonly Token[], i: number): { action: FkAction; next: number } {
  if (isWord(sig[i], 'SET') && isWord(sig[i + 1], 'NULL')) return { action: 'set null', next: i + 2 };
  if (isWord(sig[i], 'SET') && isWord(sig[i + 1], 'DEFAULT')) return { action: 'set default', next: i + 2 };
  if (isWord(sig[i], 'NO') && isWord(sig[i + 1], 'ACTION')) return { action: 'no action', next: i + 2 };
  if (isWord(sig[i], 'CASCADE')) return { action: 'cascade', next: i + 1 };
  if (isWord(sig[i], 'RESTRICT')) return { action: 'restrict', next: i + 1 };
  throw new TokenizeError(`unknown foreign key action at offset ${sig[i]?.start}`);
}

/** Names in a parenthesized list (a column may carry COLLATE/ASC/DESC in PRIMARY KEY lists: first token only). */
function namesIn(sig: readonly Token[], from: number, to: number): string[] {
  return splitTopLevel(sig, from - 1, to).map((p) => sig[p.from].value);
}
