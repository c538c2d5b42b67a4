import { SchemaDiffError } from '../errors.js';
import { unprintableIn } from '../schema/printable.js';
import type { DesiredTable } from '../schema/types.js';

/** A piece of SQL the manifest brings, spliced into statements: where it came from and its text. */
export interface ManifestFragment {
  readonly path: string;
  readonly text: string;
}

/** Every SQL fragment of the manifest: CHECK expressions, index predicates and expression keys. */
export function manifestFragments(desired: readonly DesiredTable[]): ManifestFragment[] {
  return desired.flatMap((table) => [
    ...table.checks.map((c) => ({ path: `${c.path}.expr`, text: c.source })),
    ...table.indexes.flatMap((ix) => [
      ...ix.source.keys.flatMap((k, i) => ('expr' in k ? [{ path: `${ix.path}.columns[${i}].expr`, text: k.expr }] : [])),
      ...(ix.source.where !== null ? [{ path: `${ix.path}.where`, text: ix.source.where }] : []),
    ]),
  ]);
}

/**
 * Refuses the manifest when any fragment is not one expression, as the
 * dialect's own lexer reads it (`problemOf` says why, or null). Nothing of the
 * manifest may reach the database before this: a fragment that closes a
 * parenthesis it did not open, or ends the statement, would change or add SQL.
 */
export function fragmentProblems(desired: readonly DesiredTable[], problemOf: (text: string) => string | null): string[] {
  return manifestFragments(desired).flatMap(({ path, text }) => {
    const problem = fragmentProblem(text, problemOf);
    return problem === null ? [] : [`${path}: not a single SQL expression (${problem})`];
  });
}

/**
 * Why one fragment is not a single expression, or null. Control characters
 * other than a line feed and a tab are refused before any lexer reads it: they
 * are where lexers disagree (PostgreSQL ends a `--` comment at a carriage return
 * too, SQLite only at a line feed), and no expression needs one.
 */
export function fragmentProblem(text: string, problemOf: (text: string) => string | null): string | null {
  const control = unprintableIn(text, '\n\t');
  return control !== null ? `contains the control character ${control}` : problemOf(text);
}

const OPTION_NAME = /^[a-z_][a-z0-9_]*$/;
const OPTION_VALUE = /^[A-Za-z0-9_.+-]+$/;
const OPCLASS = /^[a-z_][a-z0-9_]*$/;
const COLLATION = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/;

/**
 * The names and values of the manifest that reach SQL as words, not
 * expressions (storage parameters, operator classes and their parameters,
 * collations): each is rendered quoted, and is also refused here unless it is
 * a plain word, whatever path the desired state came by.
 */
export function wordProblems(desired: readonly DesiredTable[]): string[] {
  const problems: string[] = [];
  const options = (path: string, values: Readonly<Record<string, string>> | undefined) => {
    for (const [k, v] of Object.entries(values ?? {})) {
      if (!OPTION_NAME.test(k)) problems.push(`${path}: option name ${JSON.stringify(k)} is not a lower-case name`);
      if (!OPTION_VALUE.test(v)) problems.push(`${path}.${k}: value ${JSON.stringify(v)} is not a number or plain word`);
    }
  };
  for (const ix of desired.flatMap((t) => t.indexes)) {
    options(`${ix.path}.with`, ix.with);
    ix.keys.forEach((k, i) => {
      const path = `${ix.path}.columns[${i}]`;
      if (k.opclass && !OPCLASS.test(k.opclass.name)) problems.push(`${path}.opclass: ${JSON.stringify(k.opclass.name)} is not an operator class name`);
      options(`${path}.opclass.params`, k.opclass?.params);
      if (k.collate !== undefined && !COLLATION.test(k.collate)) problems.push(`${path}.collate: ${JSON.stringify(k.collate)} is not a collation name`);
    });
  }
  return problems;
}

/** One `manifest …` error for a list of problems, each also on its own line below. */
export function refuseManifest(problems: readonly string[]): void {
  if (problems.length === 0) return;
  const head = problems.length === 1 ? problems[0] : `${problems.length} problems: ${problems[0]} …`;
  throw new SchemaDiffError('manifest', `manifest ${head}`, problems);
}
