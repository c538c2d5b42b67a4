import type { FkAction } from '../schema/types.js';

/** `order_items` → `order item`: a table name as a thing, for sentences. */
export function singular(table: string): string {
  const words = table.replace(/^.*\./, '').split(/[_\s]+/).filter((w) => w !== '');
  const last = words.pop() ?? table;
  const one = /ies$/.test(last) ? last.replace(/ies$/, 'y') : /(ss|us|is)$/.test(last) ? last : /(x|ch|sh|ss)es$/.test(last) ? last.replace(/es$/, '') : last.replace(/s$/, '');
  return [...words, one].join(' ');
}

/** `order_items` → `order items`. */
export function plural(table: string): string {
  return table.replace(/^.*\./, '').split(/[_\s]+/).filter((w) => w !== '').join(' ');
}

/** "an order", "a user": a u sounded "you" (user, unit) takes "a". */
const article = (noun: string) => (/^([aeio]|u(n[^aeiou]|m|p|l|t))/i.test(noun) ? `an ${noun}` : `a ${noun}`);

export interface ForeignKeyWords {
  readonly parent: string;
  readonly child: string;
  readonly columns: readonly string[];
  readonly onDelete: FkAction;
  readonly onUpdate: FkAction;
  readonly deferred?: boolean;
  /** ON DELETE SET NULL/DEFAULT (columns): only these columns are set (PostgreSQL 15+). */
  readonly deleteSets?: readonly string[];
}

/** What deleting a parent row does, in words: "deleting a user deletes its payment methods". */
export function onDeleteWords(fk: ForeignKeyWords): string {
  const parent = singular(fk.parent);
  const children = plural(fk.child);
  const cols = (fk.deleteSets ?? fk.columns).join(', ');
  switch (fk.onDelete) {
    case 'cascade':
      return `deleting ${article(parent)} deletes its ${children}`;
    case 'set null':
      return `deleting ${article(parent)} keeps its ${children}, with ${cols} set to NULL`;
    case 'set default':
      return `deleting ${article(parent)} keeps its ${children}, with ${cols} set to the column default`;
    case 'restrict':
      return `${article(parent)} with ${children} cannot be deleted`;
    case 'no action':
      return `${article(parent)} with ${children} cannot be deleted${fk.deferred ? ' (checked at commit)' : ''}`;
  }
}

/** What changing a parent's key does, in words. */
export function onUpdateWords(fk: ForeignKeyWords): string {
  const parent = singular(fk.parent);
  const children = plural(fk.child);
  const cols = fk.columns.join(', ');
  switch (fk.onUpdate) {
    case 'cascade':
      return `changing ${article(parent)}'s key changes ${cols} of its ${children} too`;
    case 'set null':
      return `changing ${article(parent)}'s key sets ${cols} of its ${children} to NULL`;
    case 'set default':
      return `changing ${article(parent)}'s key sets ${cols} of its ${children} to the column default`;
    case 'restrict':
    case 'no action':
      return `the key of ${article(parent)} with ${children} cannot be changed${fk.onUpdate === 'no action' && fk.deferred ? ' (checked at commit)' : ''}`;
  }
}

/** A child row whose parent does not exist: always refused, whatever the actions. */
export function childWords(fk: ForeignKeyWords): string {
  return `${article(singular(fk.child))} must refer to an existing ${singular(fk.parent)} (${fk.columns.join(', ')})`;
}
