import { scriptLayoutFor } from '../dialect/scripts.js';
import type { ScriptLayout } from '../plan/script-layout.js';
import { stepComment } from '../plan/step-comment.js';
import type { Plan } from '../plan/types.js';
import { printable } from '../schema/printable.js';
import { checkRevisionId } from './revision-id.js';

export interface AlembicOptions {
  /** This revision's id (`revision = …`). */
  readonly revision: string;
  /** The revision it follows; null for a project's first revision. */
  readonly downRevision: string | null;
  readonly lockTimeoutMs?: number;
}

/**
 * A plan as an Alembic revision: `upgrade()` runs the plan's steps and
 * `downgrade()` their inverses, last step first, each statement exactly as
 * `plan` prints it, in the transactions the SQL script uses (the dialect's
 * layout). Every statement is a Python string literal with everything but
 * printable ASCII escaped, so a name or an expression can only ever be data.
 */
export function renderAlembic(plan: Plan, options: AlembicOptions): string {
  checkRevisionId('--revision-id', options.revision);
  if (options.downRevision !== null) checkRevisionId('--down-revision', options.downRevision);
  const layoutOf = scriptLayoutFor(plan.dialect);
  const lockTimeoutMs = options.lockTimeoutMs ?? 25;
  return [
    '"""schema-diff plan as an Alembic revision',
    '',
    `Revision ID: ${options.revision}`,
    `Revises: ${options.downRevision ?? ''}`,
    '"""',
    ...[
      `schema-diff plan --format alembic (${plan.steps.length} step(s)); do not edit the statements:`,
      'schema-diff verify and the next plan compare the database with what they make.',
      `database:    ${plan.target}`,
      `manifest:    ${plan.manifest}`,
      `fingerprint: ${plan.fingerprint}`,
      `created:     ${plan.createdAt}`,
    ].map((l) => `# ${printable(l)}`),
    'from contextlib import contextmanager',
    '',
    'from alembic import context, op',
    '',
    `revision = ${pyString(options.revision)}`,
    `down_revision = ${options.downRevision === null ? 'None' : pyString(options.downRevision)}`,
    'branch_labels = None',
    'depends_on = None',
    '',
    '',
    RUNTIME,
    '',
    '',
    ...direction('upgrade', layoutOf(plan.steps, 'forward', lockTimeoutMs), 'forward'),
    '',
    ...direction('downgrade', layoutOf(plan.steps, 'inverse', lockTimeoutMs), 'inverse'),
  ].join('\n');
}

/**
 * The helpers every revision carries. Online, a statement goes to the driver
 * as it is (no_parameters: SQLAlchemy parses no `:name` bind and psycopg2
 * formats no `%`); offline (`alembic upgrade --sql`) it is written out as it
 * is (op.execute would read `:name` as a bind and turn tabs into spaces).
 * The steps run inside autocommit_block, each run with its own BEGIN … COMMIT
 * as the SQL script has it: in the migration's own transaction every step's
 * lock would be held until the last step ends, and CONCURRENTLY cannot run in
 * one. On SQLite the one transaction of all steps is BEGIN IMMEDIATE, opened
 * there too, after the PRAGMAs that SQLite ignores inside a transaction.
 */
const RUNTIME = `
def _execute(statement):
    """One statement of the plan, exactly as schema-diff wrote it."""
    if context.is_offline_mode():
        impl = op.get_context().impl
        impl.static_output(statement + impl.command_terminator)
    else:
        op.get_bind().execution_options(no_parameters=True).exec_driver_sql(statement)


@contextmanager
def _transaction(begin="BEGIN", setup=(), teardown=()):
    """BEGIN ... COMMIT around the block; on an error, ROLLBACK, then the error."""
    for statement in setup:
        _execute(statement)
    _execute(begin)
    try:
        yield
    except BaseException:
        if not context.is_offline_mode():
            _execute("ROLLBACK")
            for statement in teardown:
                _execute(statement)
        raise
    _execute("COMMIT")
    for statement in teardown:
        _execute(statement)


def _run(statements):
    for statement in statements:
        _execute(statement)`.trimStart();

function direction(fn: 'upgrade' | 'downgrade', layout: ScriptLayout, dir: 'forward' | 'inverse'): string[] {
  const lines = [`def ${fn}():`];
  if (layout.steps.length === 0) return [...lines, '    # nothing to do: the database matched the manifest', '    pass', ''];
  const shared = layout.shared;
  if (shared) {
    lines.push(
      '    # all steps in one transaction, as schema-diff apply runs them; the PRAGMAs outside it, where SQLite honours them',
      `    with op.get_context().autocommit_block(), _transaction(${pyString(shared.begin)}, ${pyTuple(shared.setup)}, ${pyTuple(shared.teardown)}):`,
    );
  } else {
    lines.push('    # each step in its own short transaction (or none: CONCURRENTLY), as schema-diff apply runs them', '    with op.get_context().autocommit_block():');
  }
  const indent = '        ';
  layout.steps.forEach(({ step, runs }, i) => {
    if (i > 0) lines.push('');
    lines.push(...stepComment(step, i + 1, layout.steps.length, dir).map((c) => `${indent}#${c.slice(2)}`));
    for (const run of runs) {
      if (run.transaction && !shared) {
        lines.push(`${indent}with _transaction():`, `${indent}    _run([`, ...run.statements.map((s) => `${indent}        ${pyString(s)},`), `${indent}    ])`);
      } else lines.push(...run.statements.map((s) => `${indent}_execute(${pyString(s)})`));
    }
  });
  return [...lines, ''];
}

function pyTuple(items: readonly string[]): string {
  return items.length === 0 ? '()' : `(${items.map(pyString).join(', ')},)`;
}

/**
 * A Python str literal for any text: quoted, with the backslash and the
 * quote escaped and every character outside printable ASCII written as
 * \xNN, \uNNNN or \UNNNNNNNN, so no text can end the literal or the line, and
 * `\N{…}`, `"""` or braces stay plain characters.
 */
export function pyString(text: string): string {
  // Python's own repr chooses so: double quotes when that saves escaping single ones
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i) as number;
    if (code > 0xffff) i++;
    const ch = String.fromCodePoint(code);
    if (ch === '\\' || ch === quote) out += `\\${ch}`;
    else if (code >= 0x20 && code <= 0x7e) out += ch;
    else if (code <= 0xff) out += `\\x${hex(code, 2)}`;
    else if (code <= 0xffff) out += `\\u${hex(code, 4)}`;
    else out += `\\U${hex(code, 8)}`;
  }
  return `${out}${quote}`;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
