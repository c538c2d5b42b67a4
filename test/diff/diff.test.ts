import { diffSchemas } from '../../src/diff/diff.js';
import type { Catalog, DesiredTable, ForeignKey, Index, Table } from '../../src/schema/types.js';

const orders = { schema: 'public', name: 'orders' };
const users = { schema: 'public', name: 'users' };

const liveFk: ForeignKey = {
  name: 'orders_buyer_id_fkey',
  table: orders,
  columns: ['buyer_id'],
  refTable: users,
  refColumns: ['id'],
  onDelete: 'no action',
  onUpdate: 'no action',
  deferrable: false,
  initiallyDeferred: false,
  match: 'simple',
  validated: true,
};

const liveIndex: Index = {
  name: 'orders_status_idx',
  table: orders,
  keys: [{ column: 'status' }],
  unique: false,
  where: null,
  method: 'btree',
  valid: true,
  constraintBacked: false,
};

function catalog(overrides: Partial<Table> = {}): Catalog {
  return {
    dialect: 'postgres',
    tables: [
      {
        ref: orders,
        columns: [],
        primaryKey: ['id'],
        checks: [],
        foreignKeys: [liveFk],
        indexes: [liveIndex],
        rowEstimate: 0,
        ...overrides,
      },
    ],
  };
}

function desired(parts: Partial<DesiredTable>): DesiredTable[] {
  return [{ ref: orders, path: 'tables.orders', checks: [], foreignKeys: [], indexes: [], ...parts }];
}

const meta = { severity: 'critical' as const, path: 'p' };

describe('diffSchemas (pure)', () => {
  test('an FK with the same columns and target but other actions is one replace, never a second FK', () => {
    const fk = { ...liveFk, ...meta, name: 'fk_orders_buyer_id', onDelete: 'restrict' as const };
    const { changes, unmanaged } = diffSchemas(desired({ foreignKeys: [fk] }), catalog());
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ kind: 'replace_foreign_key', current: { name: 'orders_buyer_id_fkey' } });
    expect(unmanaged.map((u) => u.name)).toEqual(['orders_status_idx']);
  });

  test('same FK under another name is a rename; identical is nothing', () => {
    const renamed = diffSchemas(desired({ foreignKeys: [{ ...liveFk, ...meta, name: 'fk_x' }] }), catalog());
    expect(renamed.changes.map((c) => c.kind)).toEqual(['rename_foreign_key']);
    const same = diffSchemas(desired({ foreignKeys: [{ ...liveFk, ...meta }] }), catalog());
    expect(same.changes).toEqual([]);
  });

  test('a NOT VALID FK that is otherwise equal only needs validating', () => {
    const c = catalog({ foreignKeys: [{ ...liveFk, validated: false }] });
    expect(diffSchemas(desired({ foreignKeys: [{ ...liveFk, ...meta }] }), c).changes.map((x) => x.kind)).toEqual([
      'validate_foreign_key',
    ]);
  });

  test('checks are compared by canonical text: equal is nothing, different is replace, absent is add', () => {
    const live = catalog({ checks: [{ name: 'ck_a', table: orders, expr: '(a > 0)', validated: true }] });
    const ck = (name: string, expr: string) => ({ name, table: orders, expr, source: expr, validated: true, ...meta });
    expect(diffSchemas(desired({ checks: [ck('ck_a', '(a > 0)')] }), live).changes).toEqual([]);
    expect(diffSchemas(desired({ checks: [ck('ck_a', '(a >= 0)')] }), live).changes.map((c) => c.kind)).toEqual(['replace_check']);
    expect(diffSchemas(desired({ checks: [ck('ck_b', '(b > 0)')] }), live).changes.map((c) => c.kind)).toEqual(['add_check']);
  });

  test('indexes match by structure: rename when only the name differs, replace when the shape differs, rebuild when INVALID', () => {
    const ix = (over: Partial<Index>) => ({ ...liveIndex, ...meta, source: { keys: liveIndex.keys, where: null }, ...over });
    expect(diffSchemas(desired({ indexes: [ix({ name: 'ix_status' })] }), catalog()).changes.map((c) => c.kind)).toEqual([
      'rename_index',
    ]);
    expect(
      diffSchemas(desired({ indexes: [ix({ where: '(status IS NOT NULL)' })] }), catalog()).changes.map((c) => c.kind),
    ).toEqual(['replace_index']);
    const invalid = catalog({ indexes: [{ ...liveIndex, valid: false }] });
    expect(diffSchemas(desired({ indexes: [ix({})] }), invalid).changes.map((c) => c.kind)).toEqual(['replace_index']);
    expect(diffSchemas(desired({ indexes: [ix({ name: 'ix_new', unique: true })] }), catalog()).changes.map((c) => c.kind)).toEqual([
      'create_index',
    ]);
  });

  test('constraint-backed indexes are never matched nor listed as unmanaged', () => {
    const pk = { ...liveIndex, name: 'orders_pkey', keys: [{ column: 'id' }], unique: true, constraintBacked: true };
    const { changes, unmanaged } = diffSchemas(
      desired({ indexes: [{ ...pk, ...meta, name: 'ix_id', constraintBacked: false, source: { keys: pk.keys, where: null } }] }),
      catalog({ indexes: [pk] }),
    );
    expect(changes.map((c) => c.kind)).toEqual(['create_index']);
    expect(unmanaged.filter((u) => u.kind === 'index')).toEqual([]);
  });

  test('descriptions are compared with comments only where the database has them, and only where the manifest gives one', () => {
    const commented = catalog({ indexes: [{ ...liveIndex, description: 'by hand' }] });
    const want = (description?: string) => desired({ indexes: [{ ...liveIndex, source: { keys: liveIndex.keys, where: null }, ...meta, ...(description !== undefined ? { description } : {}) }] });
    const kinds = (d: DesiredTable[], c: Catalog, ourComment?: () => string | undefined) =>
      diffSchemas(d, c, { comments: true, ourComment }).changes.map((x) => (x.kind.startsWith('comment') ? `${x.kind} ${JSON.stringify((x as { description: unknown }).description)}` : x.kind));
    expect(diffSchemas(want('new'), commented).changes).toEqual([]);
    expect(kinds(want('new'), commented)).toEqual(['comment_index "new"']);
    expect(kinds(want('by hand'), commented)).toEqual([]);
    // no description: not managed, unless the comment is the one schema-diff wrote
    expect(kinds(want(), commented)).toEqual([]);
    expect(kinds(want(), commented, () => 'by hand')).toEqual(['comment_index null']);
    expect(kinds(want(), commented, () => 'something else')).toEqual([]);
    // '' is no comment, as PostgreSQL stores it
    expect(kinds(want(''), commented)).toEqual(['comment_index null']);
    expect(kinds(want(''), catalog())).toEqual([]);
    // a rebuilt index writes its comment in its own step
    expect(kinds(desired({ indexes: [{ ...liveIndex, where: '(x)', source: { keys: liveIndex.keys, where: 'x' }, ...meta, description: 'd' }] }), commented)).toEqual([
      'replace_index',
    ]);
  });
});
