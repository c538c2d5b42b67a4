import { renderPostgres } from '../../src/dialect/postgres/render.js';
import { postgresScript } from '../../src/dialect/postgres/script.js';
import type { Change } from '../../src/diff/changes.js';
import type { ForeignKey } from '../../src/schema/types.js';

const child = { schema: 'public', name: 'order_items' };
const parent = { schema: 'public', name: 'orders' };
const meta = { severity: 'critical' as const, path: 'p' };
const oldFk: ForeignKey = {
  name: 'order_items_order_id_fkey',
  table: child,
  columns: ['order_id'],
  refTable: parent,
  refColumns: ['id'],
  onDelete: 'no action',
  onUpdate: 'no action',
  deferrable: false,
  initiallyDeferred: false,
  match: 'simple',
  validated: true,
};
const newFk = { ...oldFk, ...meta, name: 'fk_items_order', onDelete: 'cascade' as const };
const catalog = { dialect: 'postgres' as const, tables: [] };

describe('PostgreSQL rendering (pure)', () => {
  test('an FK swap locks the parent first, then drops and adds in one ALTER, NOT VALID, and validates later', () => {
    const steps = renderPostgres([{ kind: 'replace_foreign_key', table: child, desired: newFk, current: oldFk }], catalog);
    expect(steps.map((s) => s.action)).toEqual(['replace_foreign_key', 'validate_constraint']);
    expect(steps[0].sql).toEqual([
      'LOCK TABLE ONLY public.orders IN ACCESS EXCLUSIVE MODE',
      'ALTER TABLE public.order_items DROP CONSTRAINT IF EXISTS order_items_order_id_fkey, ADD CONSTRAINT fk_items_order FOREIGN KEY (order_id) REFERENCES public.orders (id) ON DELETE CASCADE NOT VALID',
    ]);
    expect(steps[0].inverse.at(-1)).toBe('ALTER TABLE public.order_items VALIDATE CONSTRAINT order_items_order_id_fkey');
    expect(steps[0]).toMatchObject({ transactional: true, lockTimeout: true, objects: ['fk_items_order', 'order_items_order_id_fkey'] });
    expect(steps[0].hazards).toContain('CHANGES_DELETE_BEHAVIOUR');
    expect(steps[1]).toMatchObject({ lockTimeout: false, inverse: [], sql: ['ALTER TABLE public.order_items VALIDATE CONSTRAINT fk_items_order'] });
  });

  test('all new constraints of a table are validated by one ALTER TABLE', () => {
    const ck = (name: string) => ({ name, table: parent, expr: '(a > 0)', source: 'a > 0', validated: true, ...meta });
    const changes: Change[] = [
      { kind: 'add_check', table: parent, desired: ck('ck_1') },
      { kind: 'add_check', table: parent, desired: ck('ck_2') },
    ];
    const steps = renderPostgres(changes, catalog);
    expect(steps.map((s) => s.sql)).toEqual([
      ['ALTER TABLE public.orders ADD CONSTRAINT ck_1 CHECK (a > 0) NOT VALID'],
      ['ALTER TABLE public.orders ADD CONSTRAINT ck_2 CHECK (a > 0) NOT VALID'],
      ['ALTER TABLE public.orders VALIDATE CONSTRAINT ck_1, VALIDATE CONSTRAINT ck_2'],
    ]);
    const skipped = renderPostgres(changes, catalog, { skipValidation: new Set(['ck_2']) });
    expect(skipped.at(-1)?.sql).toEqual(['ALTER TABLE public.orders VALIDATE CONSTRAINT ck_1']);
  });

  test('indexes are built CONCURRENTLY first; quoted names stay quoted', () => {
    const table = { schema: 'billing', name: 'Invoices' };
    const ix = {
      name: 'ix_Invoices_Amount',
      table,
      keys: [{ column: 'Amount' }],
      source: { keys: [{ column: 'Amount' }], where: '"Amount" > 0' },
      unique: true,
      where: '("Amount" > (0)::numeric)',
      method: 'btree',
      valid: true,
      constraintBacked: false,
      ...meta,
    };
    const steps = renderPostgres(
      [
        { kind: 'add_check', table, desired: { name: 'ck', table, expr: 'x', source: 'x', validated: true, ...meta } },
        { kind: 'create_index', table, desired: ix },
      ],
      catalog,
    );
    expect(steps[0].sql).toEqual(['CREATE UNIQUE INDEX CONCURRENTLY "ix_Invoices_Amount" ON billing."Invoices" ("Amount") WHERE "Amount" > 0']);
    expect(steps[0].inverse).toEqual(['DROP INDEX CONCURRENTLY IF EXISTS billing."ix_Invoices_Amount"']);
    expect(steps[0].transactional).toBe(false);
  });

  test('the script wraps locking steps in a short transaction with lock_timeout, VALIDATE in its own', () => {
    const steps = renderPostgres([{ kind: 'replace_foreign_key', table: child, desired: newFk, current: oldFk }], catalog);
    const script = postgresScript(steps, 'forward', ['header'], 25);
    expect(script).toContain("BEGIN;\nSET LOCAL lock_timeout = '25ms';\nLOCK TABLE ONLY public.orders IN ACCESS EXCLUSIVE MODE;");
    expect(script).toContain('BEGIN;\nALTER TABLE public.order_items VALIDATE CONSTRAINT fk_items_order;\nCOMMIT;');
    const inverse = postgresScript(steps, 'inverse', ['header'], 25);
    expect(inverse).toContain('undo replace_foreign_key');
    expect(inverse).toMatch(/COMMIT;\nBEGIN;\nALTER TABLE public\.order_items VALIDATE CONSTRAINT order_items_order_id_fkey;\nCOMMIT;/);
  });

  test('a described index built CONCURRENTLY is commented after, in a short transaction under lock_timeout', () => {
    const ix = {
      name: 'ix_orders_status',
      table: parent,
      keys: [{ column: 'status' }],
      source: { keys: [{ column: 'status' }], where: null },
      unique: false,
      where: null,
      method: 'btree',
      valid: true,
      constraintBacked: false,
      description: "finds an order's status \\ fast",
      ...meta,
    };
    const [step] = renderPostgres([{ kind: 'create_index', table: parent, desired: ix }], catalog);
    expect(step.sql).toEqual([
      'CREATE INDEX CONCURRENTLY ix_orders_status ON public.orders (status)',
      "COMMENT ON INDEX public.ix_orders_status IS E'finds an order''s status \\\\ fast'",
    ]);
    expect(step.inverse).toEqual(['DROP INDEX CONCURRENTLY IF EXISTS public.ix_orders_status']);
    expect(step).toMatchObject({ transactional: false, lockTimeout: true });
    expect(step.effects).toEqual([expect.objectContaining({ effect: 'created', comment: ix.description })]);
    expect(postgresScript([step], 'forward', ['h'], 25)).toContain(
      "BEGIN;\nSET LOCAL lock_timeout = '25ms';\nCOMMENT ON INDEX public.ix_orders_status IS E'finds an order''s status \\\\ fast';\nCOMMIT;",
    );
  });

  test('a replaced FK gets the new description; its inverse puts the old comment back before the validation scan', () => {
    const described = { ...oldFk, description: 'by hand' };
    const [step] = renderPostgres([{ kind: 'replace_foreign_key', table: child, desired: { ...newFk, description: 'new' }, current: described }], catalog);
    expect(step.sql.at(-1)).toBe("COMMENT ON CONSTRAINT fk_items_order ON public.order_items IS 'new'");
    expect(step.inverse.slice(-2)).toEqual([
      "COMMENT ON CONSTRAINT order_items_order_id_fkey ON public.order_items IS 'by hand'",
      'ALTER TABLE public.order_items VALIDATE CONSTRAINT order_items_order_id_fkey',
    ]);
    expect(step.scans).toEqual({ sql: [], inverse: [step.inverse.length - 1] });
    // a drop's inverse re-creates the constraint with its comment
    const [drop] = renderPostgres([{ kind: 'drop_foreign_key', table: child, current: described, why: 'removed' }], catalog);
    expect(drop.inverse.at(-2)).toBe("COMMENT ON CONSTRAINT order_items_order_id_fkey ON public.order_items IS 'by hand'");
    expect(drop.scans?.inverse).toEqual([drop.inverse.length - 1]);
  });

  test('a comment change on a kept object: ON CONSTRAINT for a UNIQUE constraint, IS NULL to clear, the previous text as inverse', () => {
    const steps = renderPostgres(
      [
        { kind: 'comment_constraint', table: parent, object: 'index', name: 'uq_orders_number', description: null, previous: "it's" , path: 'p' },
        { kind: 'comment_index', table: parent, object: 'index', name: 'ix_orders_status', description: 'now', previous: null, path: 'p' },
      ],
      catalog,
    );
    expect(steps.map((s) => [s.action, s.sql, s.inverse, s.hazards])).toEqual([
      ['comment_constraint', ['COMMENT ON CONSTRAINT uq_orders_number ON public.orders IS NULL'], ["COMMENT ON CONSTRAINT uq_orders_number ON public.orders IS 'it''s'"], []],
      ['comment_index', ["COMMENT ON INDEX public.ix_orders_status IS 'now'"], ['COMMENT ON INDEX public.ix_orders_status IS NULL'], []],
    ]);
    expect(steps[1].lock).toBe('SHARE UPDATE EXCLUSIVE on index public.ix_orders_status, for milliseconds: catalog only; reads and writes continue');
    expect(steps[0].effects).toEqual([{ kind: 'index', name: 'uq_orders_number', effect: 'commented', comment: null }]);
  });

  test('a dropped UNIQUE constraint comes back with its comment on the constraint, a plain index with its own', () => {
    const ix = { name: 'uq_orders_number', table: parent, keys: [{ column: 'number' }], unique: true, where: null, method: 'btree', valid: true, constraintBacked: true, description: 'one number' };
    const [uq] = renderPostgres([{ kind: 'drop_index', table: parent, current: { ...ix, uniqueConstraint: true }, why: 'removed' }], catalog);
    expect(uq.inverse.at(-1)).toBe("COMMENT ON CONSTRAINT uq_orders_number ON public.orders IS 'one number'");
    const [plain] = renderPostgres([{ kind: 'drop_index', table: parent, current: { ...ix, constraintBacked: false }, why: 'removed' }], catalog);
    expect(plain.inverse.at(-1)).toBe("COMMENT ON INDEX public.uq_orders_number IS 'one number'");
    expect(plain).toMatchObject({ lockTimeout: false, sql: ['DROP INDEX CONCURRENTLY IF EXISTS public.uq_orders_number'] });
  });
});
