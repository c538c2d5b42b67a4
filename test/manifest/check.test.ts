import { checkManifest } from '../../src/manifest/check.js';
import { SchemaDiffError } from '../../src/errors.js';
import { mestore } from '../../manifest/mestore.js';

/** The lines checkManifest reports for a manifest (empty when it is accepted). */
function problemsOf(manifest: unknown): readonly string[] {
  try {
    checkManifest(manifest, 'm.json');
    return [];
  } catch (e) {
    if (!(e instanceof SchemaDiffError)) throw e;
    expect(e.code).toBe('manifest');
    expect(e.message).not.toContain('\n');
    return e.details;
  }
}

const fk = (extra: Record<string, unknown> = {}) => ({
  name: 'fk_orders_buyer',
  columns: ['buyer_id'],
  references: { table: 'users', columns: ['id'] },
  ...extra,
});
const orders = (spec: Record<string, unknown>) => ({ tables: { orders: spec } });

describe('checkManifest accepts', () => {
  test("MeStore's manifest", () => {
    expect(problemsOf(mestore)).toEqual([]);
    expect(checkManifest(mestore)).toBe(mestore);
  });

  test('every optional field, expressions in index keys, schema-qualified keys and references', () => {
    const full = {
      $schema: './manifest.schema.json',
      version: 1,
      name: 'full',
      schema: 'sales',
      tables: {
        orders: {
          checks: [
            { name: 'ck_a', expr: 'a > 0', dialects: { postgres: 'a > 0', sqlite: 'a > 0' }, description: 'd', severity: 'warning' },
          ],
          foreignKeys: [
            fk({ references: { table: 'auth.users', columns: ['id'] }, onDelete: 'set null', onUpdate: 'cascade', deferrable: true, initiallyDeferred: true }),
          ],
          indexes: [{ name: 'ix_a', columns: ['a', { expr: 'lower(b)' }], unique: true, where: 'a IS NOT NULL', method: 'btree' }],
        },
        'auth.users': { schema: 'auth', indexes: [{ name: 'ix_a', columns: ['email'] }] },
      },
    };
    expect(problemsOf(full)).toEqual([]);
  });

  test('the same index name in two schemas, the same constraint name on two tables', () => {
    expect(
      problemsOf({
        tables: {
          orders: { checks: [{ name: 'ck_positive', expr: 'a > 0' }], indexes: [{ name: 'ix_status', columns: ['status'] }] },
          'archive.orders': { checks: [{ name: 'ck_positive', expr: 'a > 0' }], indexes: [{ name: 'ix_status', columns: ['status'] }] },
        },
      }),
    ).toEqual([]);
  });

  test('an identifier of exactly 63 bytes', () => {
    expect(problemsOf(orders({ checks: [{ name: 'c'.repeat(63), expr: 'a > 0' }] }))).toEqual([]);
  });
});

describe('checkManifest rejects, naming the exact path', () => {
  const cases: [string, unknown, string[]][] = [
    ['a check without expr', orders({ checks: [{ name: 'ck_a' }] }), ['tables.orders.checks[0]: missing required property "expr"']],
    [
      'a blank expr (third check)',
      orders({ checks: [{ name: 'ck_a', expr: 'a > 0' }, { name: 'ck_b', expr: 'b > 0' }, { name: 'ck_c', expr: '   ' }] }),
      ['tables.orders.checks[2].expr: must be a non-empty string'],
    ],
    ['an empty expr, reported once', orders({ checks: [{ name: 'ck_a', expr: '' }] }), ['tables.orders.checks[0].expr: must be a non-empty string']],
    [
      'an unknown property, with did-you-mean',
      orders({ checks: [{ name: 'ck_a', expr: 'a > 0', sevrity: 'warning' }] }),
      ['tables.orders.checks[0]: unknown property "sevrity" (did you mean severity?)'],
    ],
    [
      'a misspelled required property: one line, not "missing" as well',
      { tabels: {} },
      ['(manifest): unknown property "tabels" (did you mean tables?)'],
    ],
    [
      'a misspelled expression key in an index',
      orders({ indexes: [{ name: 'ix_a', columns: [{ exp: 'lower(a)' }] }] }),
      ['tables.orders.indexes[0].columns[0]: unknown property "exp" (did you mean expr?)'],
    ],
    [
      'an index key that is neither a column nor an expression',
      orders({ indexes: [{ name: 'ix_a', columns: [42] }] }),
      ['tables.orders.indexes[0].columns[0]: must be a column name or { column | expr, desc?, nulls?, opclass?, collate? }'],
    ],
    [
      'a duplicate constraint name in a table (CHECK and FK share the namespace)',
      orders({ checks: [{ name: 'ck_a', expr: 'a > 0' }], foreignKeys: [fk({ name: 'ck_a' })] }),
      ['tables.orders.foreignKeys[0].name: duplicate constraint name "ck_a" in table orders (also tables.orders.checks[0].name)'],
    ],
    [
      'a duplicate index name in one table',
      orders({ indexes: [{ name: 'ix_a', columns: ['a'] }, { name: 'ix_a', columns: ['b'] }] }),
      ['tables.orders.indexes[1].name: duplicate index name "ix_a" in schema public (also tables.orders.indexes[0].name)'],
    ],
    [
      'a duplicate index name across tables of one schema',
      { tables: { orders: { indexes: [{ name: 'ix_status', columns: ['status'] }] }, 'public.payments': { indexes: [{ name: 'ix_status', columns: ['status'] }] } } },
      ['tables["public.payments"].indexes[0].name: duplicate index name "ix_status" in schema public (also tables.orders.indexes[0].name)'],
    ],
    [
      'a duplicate index name across tables whose schema comes from the manifest default and the key',
      { schema: 'sales', tables: { orders: { indexes: [{ name: 'ix_s', columns: ['s'] }] }, 'sales.items': { indexes: [{ name: 'ix_s', columns: ['s'] }] } } },
      ['tables["sales.items"].indexes[0].name: duplicate index name "ix_s" in schema sales (also tables.orders.indexes[0].name)'],
    ],
    [
      'an index named like a table of its schema',
      { tables: { orders: { indexes: [{ name: 'payments', columns: ['a'] }] }, payments: {} } },
      ['tables.orders.indexes[0].name: index name "payments" is a table\'s name in schema public (tables.payments)'],
    ],
    [
      'an identifier over 63 bytes',
      orders({ checks: [{ name: 'c'.repeat(64), expr: 'a > 0' }] }),
      [`tables.orders.checks[0].name: constraint name "${'c'.repeat(64)}" is 64 bytes, over PostgreSQL's 63-byte limit`],
    ],
    [
      'a multi-byte UTF-8 identifier over 63 bytes though only 32 characters',
      orders({ indexes: [{ name: 'ñ'.repeat(32), columns: ['a'] }] }),
      [`tables.orders.indexes[0].name: index name "${'ñ'.repeat(32)}" is 64 bytes, over PostgreSQL's 63-byte limit`],
    ],
    [
      'a column name over 63 bytes in a foreign key',
      orders({ foreignKeys: [fk({ columns: ['é'.repeat(40)] })] }),
      [`tables.orders.foreignKeys[0].columns[0]: column name "${'é'.repeat(40)}" is 80 bytes, over PostgreSQL's 63-byte limit`],
    ],
    [
      'a foreign key whose column count differs from its target',
      orders({ foreignKeys: [fk({ columns: ['buyer_id', 'shop_id'] })] }),
      ['tables.orders.foreignKeys[0]: 2 column(s) (buyer_id, shop_id) reference 1 column(s) of users (id)'],
    ],
    [
      'an unknown onDelete action',
      orders({ foreignKeys: [fk({ onDelete: 'nullify' })] }),
      ['tables.orders.foreignKeys[0].onDelete: unknown action "nullify" (expected one of: no action, restrict, cascade, set null, set default)'],
    ],
    [
      'an unknown onUpdate action in upper case',
      orders({ foreignKeys: [fk({ onUpdate: 'CASCADE' })] }),
      ['tables.orders.foreignKeys[0].onUpdate: unknown action "CASCADE" (expected one of: no action, restrict, cascade, set null, set default)'],
    ],
    [
      'wrong types',
      orders({ checks: 'ck_a', indexes: [{ name: 3, columns: ['a'], unique: 'yes' }] }),
      ['tables.orders.checks: must be an array', 'tables.orders.indexes[0].name: must be a string', 'tables.orders.indexes[0].unique: must be a boolean'],
    ],
    ['a manifest that is not an object', 42, ['(manifest): must be an object']],
    ['an index with empty columns', orders({ indexes: [{ name: 'ix_a', columns: [] }] }), ['tables.orders.indexes[0].columns: must not be empty']],
    [
      'a table key whose schema contradicts `schema`',
      { tables: { 'sales.orders': { schema: 'public' } } },
      ['tables["sales.orders"].schema: "public" contradicts the key\'s schema "sales"'],
    ],
    [
      'the same table under two keys',
      { tables: { orders: {}, 'public.orders': {} } },
      ['tables["public.orders"]: table public.orders is listed twice (also tables.orders)'],
    ],
    ['a table key with two dots', { tables: { 'a.b.c': {} } }, ['tables["a.b.c"]: a table key must be "table" or "schema.table"']],
    [
      'initiallyDeferred with deferrable false',
      orders({ foreignKeys: [fk({ deferrable: false, initiallyDeferred: true })] }),
      ['tables.orders.foreignKeys[0].initiallyDeferred: an initially deferred constraint must be deferrable'],
    ],
    [
      'a column listed twice in an index (position counted with expressions)',
      orders({ indexes: [{ name: 'ix_a', columns: ['a', { expr: 'lower(b)' }, 'a'] }] }),
      ['tables.orders.indexes[0].columns[2]: column "a" is listed twice'],
    ],
    ['an unknown severity', orders({ checks: [{ name: 'ck_a', expr: 'a > 0', severity: 'high' }] }), ['tables.orders.checks[0].severity: must be one of: critical, warning']],
    ['an unknown version', { version: 2, tables: {} }, ['version: must be 1']],
    [
      'an index key with both column and expr, and one with neither',
      orders({ indexes: [{ name: 'ix_a', columns: [{ column: 'a', expr: 'a + 1' }, { desc: true }] }] }),
      ['tables.orders.indexes[0].columns[0]: give either "column" or "expr", not both', 'tables.orders.indexes[0].columns[1]: give "column" or "expr"'],
    ],
    [
      'an unknown NULLS order',
      orders({ indexes: [{ name: 'ix_a', columns: [{ column: 'a', nulls: 'middle' }] }] }),
      ['tables.orders.indexes[0].columns[0].nulls: must be one of: first, last'],
    ],
    [
      'an operator class, a collation and a storage parameter that are not plain words',
      orders({
        indexes: [
          { name: 'ix_a', columns: [{ column: 'a', opclass: 'text_ops) WITH (x', collate: 'C" DESC' }], with: { 'fillfactor=1)': 70, deduplicate_items: "off'" } },
        ],
      }),
      [
        'tables.orders.indexes[0].columns[0].opclass: must be a name (letters, digits, _)',
        'tables.orders.indexes[0].columns[0].collate: must be a plain word (letters, digits, _ . + - @)',
        'tables.orders.indexes[0].with["fillfactor=1)"]: an option name must be a lower-case name (a-z, 0-9, _)',
        'tables.orders.indexes[0].with.deduplicate_items: must be a plain word (letters, digits, _ . + - @)',
      ],
    ],
    [
      'a UNIQUE constraint that is not unique, partial, or on an expression',
      orders({ indexes: [{ name: 'uq_a', columns: ['a', { expr: 'lower(b)' }], where: 'a > 0', constraint: true }] }),
      [
        'tables.orders.indexes[0].constraint: a UNIQUE constraint needs unique: true',
        'tables.orders.indexes[0].constraint: a UNIQUE constraint cannot be partial (drop where, or constraint)',
        "tables.orders.indexes[0].columns[1]: a UNIQUE constraint's keys are plain columns in default order (not expr); drop constraint for a unique index",
      ],
    ],
    [
      'NULLS NOT DISTINCT on an index that is not unique',
      orders({ indexes: [{ name: 'ix_a', columns: ['a'], nullsNotDistinct: true }] }),
      ['tables.orders.indexes[0].nullsNotDistinct: only a unique index can treat NULLs as equal (add unique: true)'],
    ],
    [
      'a deferred bare index, and an initially deferred UNIQUE constraint that is not deferrable',
      orders({
        indexes: [
          { name: 'ix_a', columns: ['a'], unique: true, deferrable: true },
          { name: 'uq_b', columns: ['b'], unique: true, constraint: true, deferrable: false, initiallyDeferred: true },
        ],
      }),
      [
        'tables.orders.indexes[0].deferrable: only a UNIQUE constraint can be deferred, not a bare index (add constraint: true)',
        'tables.orders.indexes[1].initiallyDeferred: an initially deferred constraint must be deferrable',
      ],
    ],
    [
      'ON DELETE SET NULL of a column outside the key, and an unknown MATCH',
      orders({ foreignKeys: [fk({ onDelete: { action: 'set null', columns: ['b'] }, match: 'partial' })] }),
      [
        'tables.orders.foreignKeys[0].match: must be one of: simple, full',
        'tables.orders.foreignKeys[0].onDelete.columns[0]: column "b" is not one of the foreign key\'s columns (buyer_id)',
      ],
    ],
  ];

  test.each(cases)('%s', (_name, manifest, expected) => {
    expect(problemsOf(manifest)).toEqual(expected);
  });

  test('at least 12 distinct bad manifests are covered', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });
});

describe('checkManifest reports everything at once', () => {
  test('structural and meaning problems together, one line each, in one error', () => {
    const manifest = {
      tables: {
        orders: {
          checks: [{ name: 'ck_a', expr: 'a > 0' }, { name: 'ck_a' }, { name: 'ck_b', expr: '' }],
          foreignKeys: [fk({ columns: ['a', 'b'], onDelete: 'nullify' })],
          indexes: [{ name: 'ix_a', columns: [] }],
        },
      },
    };
    let error: SchemaDiffError | undefined;
    try {
      checkManifest(manifest, 'manifest/shop.ts');
    } catch (e) {
      error = e as SchemaDiffError;
    }
    expect(error?.message).toBe('invalid manifest manifest/shop.ts: 6 problems (one per line below)');
    expect(error?.details).toEqual([
      'tables.orders.checks[1]: missing required property "expr"',
      'tables.orders.checks[2].expr: must be a non-empty string',
      'tables.orders.foreignKeys[0].onDelete: unknown action "nullify" (expected one of: no action, restrict, cascade, set null, set default)',
      'tables.orders.indexes[0].columns: must not be empty',
      'tables.orders.checks[1].name: duplicate constraint name "ck_a" in table orders (also tables.orders.checks[0].name)',
      'tables.orders.foreignKeys[0]: 2 column(s) (a, b) reference 1 column(s) of users (id)',
    ]);
  });

  test('a single problem is the message itself', () => {
    expect(() => checkManifest(orders({ checks: [{ name: 'ck_a', expr: ' ' }] }), 'm.ts')).toThrow(
      'invalid manifest m.ts: tables.orders.checks[0].expr: must be a non-empty string',
    );
  });
});

describe('message and code', () => {
  test('are accepted on checks, foreign keys and indexes', () => {
    const withText = { message: 'The order total must be greater than zero.', code: 'ORDER_TOTAL_NOT_POSITIVE' };
    expect(
      problemsOf(
        orders({
          checks: [{ name: 'ck_a', expr: 'a > 0', ...withText }],
          foreignKeys: [fk(withText)],
          indexes: [{ name: 'ix_a', columns: ['a'], unique: true, ...withText }],
        }),
      ),
    ).toEqual([]);
  });

  test('a code must be an API code; a message must say something', () => {
    expect(problemsOf(orders({ checks: [{ name: 'ck_a', expr: 'a > 0', code: 'order-total', message: '  ' }] }))).toEqual([
      'tables.orders.checks[0].message: must be a non-empty string',
      'tables.orders.checks[0].code: must be an API code (upper case letters, digits and _, starting with a letter)',
    ]);
  });
});

describe('checkManifest refuses strings UTF-8 cannot carry', () => {
  test('a lone surrogate in a description, an expression or a key is named by its path; a pair is fine', () => {
    expect(problemsOf(orders({ checks: [{ name: 'ck_a', expr: 'total > 0', description: 'bad \ud800 end' }] }))).toEqual([
      'tables.orders.checks[0].description: holds a lone UTF-16 surrogate, which no database can store',
    ]);
    expect(problemsOf(orders({ checks: [{ name: 'ck_a', expr: "note <> '\udc00'" }] }))).toEqual([
      'tables.orders.checks[0].expr: holds a lone UTF-16 surrogate, which no database can store',
    ]);
    expect(problemsOf(orders({ checks: [{ name: 'ck_a', expr: "note <> '😀'", description: 'smile 😀' }] }))).toEqual([]);
  });
});
