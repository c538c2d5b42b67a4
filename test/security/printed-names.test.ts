import { checkManifest } from '../../src/manifest/check.js';
import { stepComment } from '../../src/plan/step-comment.js';
import type { Step } from '../../src/plan/types.js';
import { preparePlan, planHeader } from '../../src/run/prepare.js';
import { SchemaDiffError } from '../../src/errors.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { describeEachDatabase } from '../helpers/each.js';
import type { TestTarget } from '../helpers/targets.js';

/**
 * `plan > migration.sql` is a script someone runs. A name printed on a `--`
 * comment line once ended the comment at its line break, and the rest of the
 * name ran: `"ck\nDROP TABLE orders; --"`. A manifest name may not hold a
 * control character; a name read from the catalog (which may) is escaped on
 * every comment and progress line.
 */
const HOSTILE = 'ck\nDROP TABLE orders; --';

describe('names of a manifest may not hold control characters', () => {
  const problemsOf = (manifest: unknown): string[] => {
    try {
      checkManifest(manifest);
      return [];
    } catch (e) {
      return [...(e as SchemaDiffError).details];
    }
  };
  test.each([
    ['a constraint name', { tables: { orders: { checks: [{ name: HOSTILE, expr: 'true' }] } } }, 'tables.orders.checks[0].name: constraint name "ck\\nDROP TABLE orders; --" contains a control character (\\n); names may not'],
    ['an index name', { tables: { orders: { indexes: [{ name: 'ix\r', columns: ['a'] }] } } }, 'tables.orders.indexes[0].name: index name "ix\\r" contains a control character (\\r); names may not'],
    ['a column of an index', { tables: { orders: { indexes: [{ name: 'ix', columns: ['a\u001b[2J'] }] } } }, 'tables.orders.indexes[0].columns[0]: column name "a\\x1b[2J" contains a control character (\\x1b); names may not'],
    ['a table key', { tables: { 'orders\u2028x': { checks: [{ name: 'ck', expr: 'true' }] } } }, 'tables["orders\u2028x"]: table name "orders\\u2028x" contains a control character (\\u2028); names may not'],
    ['a foreign key parent', { tables: { orders: { foreignKeys: [{ name: 'fk', columns: ['a'], references: { table: 'users\t', columns: ['id'] } }] } } }, 'tables.orders.foreignKeys[0].references.table: table name "users\\t" contains a control character (\\t); names may not'],
  ])('%s', (_what, tables, problem) => {
    expect(problemsOf({ version: 1, ...tables })).toContain(problem);
  });
});

describe('every comment line of a printed step is one line', () => {
  const step: Step = {
    id: 1,
    action: 'add_check',
    table: 'public.orders\nDROP TABLE a; --',
    name: HOSTILE,
    objects: [HOSTILE],
    reason: 'replaces x\ry',
    sql: ['SELECT 1'],
    inverse: [],
    transactional: true,
    lockTimeout: true,
    lock: 'ACCESS EXCLUSIVE\u2028on orders',
    hazards: [],
  };
  test.each(['forward', 'inverse'] as const)('%s', (direction) => {
    for (const line of stepComment(step, 1, 1, direction)) {
      expect(line).toMatch(/^-- /);
      expect(line).not.toMatch(/[\n\r\u2028]/);
    }
    expect(stepComment(step, 1, 1, 'forward')[0]).toBe('-- [1/1] add_check ck\\nDROP TABLE orders; -- on public.orders\\nDROP TABLE a; --');
  });
});

describeEachDatabase(['postgres', 'pglite'], 'a catalog name with a line break stays inside its comment in the plan script', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(`
      CREATE TABLE orders (id integer PRIMARY KEY, status text);
      CREATE TABLE victim (id integer);
      CREATE INDEX "ix
DROP TABLE victim; --" ON orders (status);`);
  });
  afterAll(async () => target?.dispose());

  test('the rename of an index so named: its reason is escaped', async () => {
    const manifest = { version: 1, tables: { orders: { indexes: [{ name: 'ix_status', columns: ['status'] }] } } } as LoadedManifest;
    const { plan } = await preparePlan(target.dialect, manifest, 'm.json');
    expect(plan.steps.map((s) => s.action)).toEqual(['rename_index']);
    const script = target.dialect.script(plan.steps, 'forward', planHeader(plan, 'forward'));
    const lines = script.split('\n');
    expect(lines).toContain('--   why:  same index exists as ix\\nDROP TABLE victim; --');
    // the one line that starts DROP TABLE is inside the quoted name of the ALTER INDEX statement
    const at = lines.findIndex((l) => l.startsWith('DROP TABLE victim'));
    expect(lines[at - 1]).toBe('ALTER INDEX public."ix');
  });
});
