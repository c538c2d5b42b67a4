import { spawnSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REQUIRE_PG } from './postgres.js';

/**
 * A Python that can run Alembic: Debian's (python3-alembic, python3-sqlalchemy,
 * python3-psycopg2; .ci/run installs them) or the first python3 on PATH that
 * has the packages. A pyenv python3 on PATH often has none, hence the order.
 */
const CANDIDATES = ['/usr/bin/python3', 'python3'];

function findPython(modules: string): string | null {
  for (const python of CANDIDATES) {
    const probe = spawnSync(python, ['-c', `import ${modules}`], { stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  return null;
}

/** Any python3 at all (enough to parse a revision with ast). */
export const anyPython = findPython('ast');
export const alembicPython = findPython('alembic, sqlalchemy');
export const alembicPgPython = findPython('alembic, sqlalchemy, psycopg2');

const missing = (what: string) =>
  `no Python with ${what} (tried ${CANDIDATES.join(', ')}; Debian: apt-get install python3-alembic python3-sqlalchemy python3-psycopg2)`;

/**
 * describe() when a Python with Alembic (and psycopg2 for PostgreSQL) is
 * there; otherwise a skip that says why, or a failure under
 * SCHEMA_DIFF_REQUIRE_PG=1 (.ci/run), which installs them.
 */
export function describeAlembic(name: string, needs: 'sqlite' | 'postgres', body: (python: string) => void): void {
  const python = needs === 'postgres' ? alembicPgPython : alembicPython;
  const why = missing(needs === 'postgres' ? 'alembic, sqlalchemy and psycopg2' : 'alembic and sqlalchemy');
  if (python) {
    describe(name, () => body(python));
    return;
  }
  if (REQUIRE_PG) {
    describe(name, () => {
      test('Alembic is required (SCHEMA_DIFF_REQUIRE_PG=1)', () => {
        throw new Error(why);
      });
    });
    return;
  }
  console.warn(`SKIPPED Alembic tests: ${why}. Set SCHEMA_DIFF_REQUIRE_PG=1 to make this a failure.`);
  describe.skip(`${name} [skipped: ${why}]`, () => body(''));
}

/**
 * env.py as `alembic init` writes it (offline: literal binds, named
 * paramstyle), the URL from the environment, and every statement the driver
 * receives appended to a log (one JSON string a line) so a test can compare
 * it with the plan byte for byte.
 */
const ENV_PY = `
import json, os
from alembic import context
from sqlalchemy import create_engine, event, pool

URL = os.environ["SD_ALEMBIC_URL"]
LOG = os.environ.get("SD_STATEMENT_LOG")


def run_migrations_offline():
    context.configure(url=URL, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def log_statement(conn, cursor, statement, parameters, ctx, executemany):
    if LOG:
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(statement) + "\\n")


def run_migrations_online():
    engine = create_engine(URL, poolclass=pool.NullPool)
    event.listen(engine, "before_cursor_execute", log_statement)
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
`;

const INI = `[alembic]
script_location = .

[loggers]
keys = root
[handlers]
keys = console
[formatters]
keys = generic
[logger_root]
level = WARN
handlers = console
[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic
[formatter_generic]
format = %%(levelname)s %%(name)s %%(message)s
`;

export interface AlembicResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface AlembicProject {
  readonly dir: string;
  /** Writes versions/<id>_constraints.py. */
  addRevision(id: string, source: string): string;
  /** Runs `python -m alembic ARGS` in the project against the URL. */
  alembic(args: readonly string[]): Promise<AlembicResult>;
  /** The statements the driver received since the last call (and forgets them). */
  takeStatements(): string[];
  /** The same, while Alembic runs, without forgetting them. */
  peekStatements(): string[];
  dispose(): void;
}

/** A throwaway Alembic project whose env.py connects to `url` (an SQLAlchemy URL). */
export function alembicProject(python: string, url: string): AlembicProject {
  const dir = mkdtempSync(join(tmpdir(), 'sd-alembic-'));
  mkdirSync(join(dir, 'versions'));
  writeFileSync(join(dir, 'alembic.ini'), INI);
  writeFileSync(join(dir, 'env.py'), ENV_PY);
  writeFileSync(join(dir, 'script.py.mako'), '');
  const log = join(dir, 'statements.log');
  return {
    dir,
    addRevision(id, source) {
      const path = join(dir, 'versions', `${id}_constraints.py`);
      writeFileSync(path, source);
      return path;
    },
    alembic: (args) =>
      new Promise((done, fail) => {
        const env = { ...process.env, SD_ALEMBIC_URL: url, SD_STATEMENT_LOG: log, PYTHONDONTWRITEBYTECODE: '1' };
        const child = spawn(python, ['-m', 'alembic', ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', fail);
        child.on('close', (code) => done({ code, stdout, stderr }));
      }),
    takeStatements() {
      const statements = readLog(log);
      rmSync(log, { force: true });
      return statements;
    },
    peekStatements: () => readLog(log),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function readLog(log: string): string[] {
  if (!existsSync(log)) return [];
  // a line still being written is left for the next read
  const lines = readFileSync(log, 'utf8').split('\n').slice(0, -1);
  return lines.filter(Boolean).map((l) => JSON.parse(l) as string);
}

/** Whether Python parses `source` (ast.parse, nothing run); the SyntaxError otherwise. */
export function pythonParses(python: string, source: string): { ok: boolean; error: string } {
  const r = spawnSync(python, ['-c', 'import ast, sys; ast.parse(sys.stdin.buffer.read().decode("utf-8"))'], { input: source });
  return { ok: r.status === 0, error: r.stderr.toString() };
}

/** The Python value of each literal (ast.literal_eval), as JSON. */
export function pythonLiterals(python: string, literals: readonly string[]): unknown[] {
  const script = 'import ast, json, sys; print(json.dumps([ast.literal_eval(l) for l in json.load(sys.stdin)]))';
  const r = spawnSync(python, ['-c', script], { input: JSON.stringify(literals) });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return JSON.parse(r.stdout.toString()) as unknown[];
}
