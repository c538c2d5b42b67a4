import { scriptLayoutFor } from '../dialect/scripts.js';
import type { ScriptLayout } from '../plan/script-layout.js';
import { stepComment } from '../plan/step-comment.js';
import type { Plan } from '../plan/types.js';
import { printable } from '../schema/printable.js';
import { checkRevisionId } from './revision-id.js';
import { FIRST_ATTEMPT_MS } from '../plan/lock-attempts.js';

export interface AlembicOptions {
  /** This revision's id (`revision = …`). */
  readonly revision: string;
  /** The revision it follows; null for a project's first revision. */
  readonly downRevision: string | null;
  readonly lockTimeoutMs?: number;
  /** Attempts and time for a step whose lock is not granted within lock_timeout (apply's --lock-retries, --retry-budget). */
  readonly lockRetries?: number;
  readonly retryBudgetMs?: number;
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
    `Revises: ${options.downRevision ?? '<base>'}`,
    '"""',
    ...[
      `schema-diff plan --format alembic (${plan.steps.length} step(s)); do not edit the statements:`,
      'schema-diff verify and the next plan compare the database with what they make.',
      `database:    ${plan.target}`,
      `manifest:    ${plan.manifest}`,
      `fingerprint: ${plan.fingerprint}`,
      `created:     ${plan.createdAt}`,
    ].map((l) => `# ${printable(l)}`),
    'import random',
    'import time',
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
    runtime({ lockRetries: options.lockRetries ?? 50, retryBudgetMs: options.retryBudgetMs ?? 60_000 }),
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
 * one. A lock not granted within lock_timeout is retried as apply retries it,
 * short attempts first (the SQL script cannot retry). On SQLite the one transaction of all steps is
 * BEGIN IMMEDIATE, opened there too, after the PRAGMAs that SQLite ignores
 * inside a transaction.
 */
const runtime = (retries: { lockRetries: number; retryBudgetMs: number }) => `
# A locked step waits at most lock_timeout for its lock, then gives way to the application's
# queries and tries again, as schema-diff apply does: this many attempts within this many seconds.
# Writers queue behind a statement waiting for its lock, so the first attempts wait only a few ms
# (2, 4, 8 ... up to the step's lock_timeout); the last attempt possible waits the whole lock_timeout.
LOCK_RETRIES = ${Math.max(1, Math.floor(retries.lockRetries))}
RETRY_BUDGET_SECONDS = ${retries.retryBudgetMs / 1000}
FIRST_ATTEMPT_MS = ${FIRST_ATTEMPT_MS}


def _execute(statement):
    """One statement of the plan, exactly as schema-diff wrote it."""
    if context.is_offline_mode():
        impl = op.get_context().impl
        impl.static_output(statement + impl.command_terminator)
    else:
        op.get_bind().execution_options(no_parameters=True).exec_driver_sql(statement)


def _lock_not_available(error):
    orig = getattr(error, "orig", None)
    return "55P03" in (getattr(orig, "pgcode", None), getattr(orig, "sqlstate", None))


def _short_attempts(lock_timeout_ms):
    """How many attempts wait less than lock_timeout_ms (2, 4, 8 ... ms below it)."""
    n = 0
    while FIRST_ATTEMPT_MS * 2 ** n < lock_timeout_ms:
        n += 1
    return n


def _pause_seconds(attempt, lock_timeout_ms, jitter):
    """After a failed attempt: 20 ms +/-50% during the short attempts, then 20 ms doubling up to 2 s."""
    grown = max(1, attempt - _short_attempts(lock_timeout_ms))
    return min(2.0, 0.02 * 2 ** (grown - 1)) * (0.5 + jitter)


def _attempt_lock_timeout_ms(attempt, lock_timeout_ms, spent):
    """Doubling from FIRST_ATTEMPT_MS; the whole lock_timeout_ms when no attempt may follow this one."""
    short = min(lock_timeout_ms, FIRST_ATTEMPT_MS * 2 ** (attempt - 1))
    room = RETRY_BUDGET_SECONDS - spent - (short + lock_timeout_ms) / 1000.0 - _pause_seconds(attempt, lock_timeout_ms, 1.0)
    if context.is_offline_mode() or attempt >= LOCK_RETRIES or room < 0:
        return lock_timeout_ms
    return short


def _transaction(statements, lock_timeout_ms=None):
    """BEGIN, [SET LOCAL lock_timeout,] the statements, COMMIT; a lock not granted in time: ROLLBACK, wait, again."""
    started = time.monotonic()
    whole = False
    for attempt in range(1, LOCK_RETRIES + 1):
        _execute("BEGIN")
        ms = None
        try:
            if lock_timeout_ms is not None:
                ms = lock_timeout_ms if whole else _attempt_lock_timeout_ms(attempt, lock_timeout_ms, time.monotonic() - started)
                _execute("SET LOCAL lock_timeout = '%dms'" % ms)
            for statement in statements:
                _execute(statement)
        except BaseException as error:
            _execute("ROLLBACK")
            wait = _pause_seconds(attempt, lock_timeout_ms or 0, random.random())
            spent = time.monotonic() - started
            out_of_budget = spent + wait > RETRY_BUDGET_SECONDS
            if not _lock_not_available(error):
                raise
            # the last attempt waits the whole lock_timeout, even when a short one's round trips took the budget
            if out_of_budget and ms is not None and ms < lock_timeout_ms and attempt < LOCK_RETRIES:
                whole = True
            elif attempt == LOCK_RETRIES or out_of_budget:
                raise
            time.sleep(wait)
            continue
        _execute("COMMIT")
        return


@contextmanager
def _one_transaction(begin, setup, teardown):
    """All the steps in one transaction: setup, begin, the block, COMMIT, teardown (ROLLBACK on an error)."""
    for statement in setup:
        _execute(statement)
    _execute(begin)
    try:
        yield
    except BaseException:
        _execute("ROLLBACK")
        for statement in teardown:
            _execute(statement)
        raise
    _execute("COMMIT")
    for statement in teardown:
        _execute(statement)`.trimStart();

function direction(fn: 'upgrade' | 'downgrade', layout: ScriptLayout, dir: 'forward' | 'inverse'): string[] {
  const lines = [`def ${fn}():`];
  if (layout.steps.length === 0) return [...lines, '    # nothing to do: the database matched the manifest', '    pass', ''];
  const shared = layout.shared;
  if (shared) {
    lines.push(
      '    # all steps in one transaction, as schema-diff apply runs them; the PRAGMAs outside it, where SQLite honours them',
      `    with op.get_context().autocommit_block(), _one_transaction(${pyString(shared.begin)}, ${pyTuple(shared.setup)}, ${pyTuple(shared.teardown)}):`,
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
        // the runtime sets lock_timeout itself, per attempt: the layout's SET LOCAL is its first statement
        if (run.lockTimeoutMs !== undefined && !run.statements[0]?.startsWith('SET LOCAL lock_timeout ')) {
          throw new Error(`internal: a run with lockTimeoutMs must start with its SET LOCAL lock_timeout (step ${step.id})`);
        }
        const statements = run.lockTimeoutMs === undefined ? run.statements : run.statements.slice(1);
        const timeout = run.lockTimeoutMs === undefined ? '' : `, lock_timeout_ms=${Math.round(run.lockTimeoutMs)}`;
        lines.push(`${indent}_transaction([`, ...statements.map((s) => `${indent}    ${pyString(s)},`), `${indent}]${timeout})`);
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
