import { randomBytes } from 'node:crypto';
import { checkManifest } from '../../src/manifest/check.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import type { Plan } from '../../src/plan/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { describeEachDatabase } from '../helpers/each.js';
import { testApplyOptions } from '../helpers/options.js';
import type { TestTarget } from '../helpers/targets.js';
import { targetsFor } from '../rollback/helpers.js';

/**
 * Journals written before steps recorded their effects: what an add_check,
 * add_foreign_key or create_index step created is schema-diff's, dropped when
 * the manifest no longer lists it, if the object is provably as that step
 * left it (its recorded change, or the definition text it left); never on the
 * word of a journal others may write.
 */
const SEED = `
  CREATE TABLE users (id integer PRIMARY KEY);
  CREATE TABLE orders (id integer PRIMARY KEY, user_id integer, total integer);
  INSERT INTO users VALUES (1);
  INSERT INTO orders VALUES (1, 1, 5);`;

const M1 = checkManifest({
  tables: {
    orders: {
      checks: [{ name: 'ck_orders_total', expr: 'total >= 0' }],
      foreignKeys: [{ name: 'fk_orders_user', columns: ['user_id'], references: { table: 'users', columns: ['id'] } }],
      indexes: [{ name: 'ix_orders_total', columns: ['total'] }],
    },
  },
});
const M0 = checkManifest({ tables: { orders: {} } });

const apply = (t: TestTarget, m: LoadedManifest) => applyManifest(t.dialect, m, { ...testApplyOptions, manifestPath: 'm', backup: false });
const plan = async (t: TestTarget, m: LoadedManifest) => (await preparePlan(t.dialect, m, 'm')).plan;
const dropped = (p: Plan) => p.steps.flatMap((s) => (s.effects ?? []).filter((e) => e.effect === 'dropped').map((e) => e.name)).sort();
const notes = (p: Plan) => Object.fromEntries(p.unmanaged.map((u) => [u.name, u.note ?? '']));

describeEachDatabase(['postgres', 'pglite', 'sqlite'], 'ownership from journal rows older than Step.effects', (make, kind) => {
  const targets = targetsFor(make, kind);
  afterAll(() => targets.disposeAll());
  const steps = kind === 'sqlite' ? 'schema_diff_steps' : 'schema_diff.steps';
  /** The journal as an older schema-diff left it: no effects; `bare`, no recorded change either. */
  const makeOld = (t: TestTarget, bare: boolean) => t.sql(`UPDATE ${steps} SET effects = NULL${bare ? ', origin = NULL' : ''}`);

  test.each([
    ['with the recorded change', false],
    ['with only the definition text the step left', true],
  ])('%s: what the old steps created is dropped when removed', async (_what, bare) => {
    const t = await targets.fresh(SEED);
    await apply(t, M1);
    await makeOld(t, bare);
    const p = await plan(t, M0);
    if (kind === 'sqlite') {
      // SQLite adds CHECKs and foreign keys in a step of the whole table: which object it created is not said, so not owned
      expect(dropped(p)).toEqual(['ix_orders_total']);
      expect(p.unmanaged.map((u) => u.kind).sort()).toEqual(['check', 'foreign_key']);
    } else {
      expect(dropped(p)).toEqual(['ck_orders_total', 'fk_orders_user', 'ix_orders_total']);
    }
    expect(p.steps.every((s) => s.reason.includes('was in the manifest, removed'))).toBe(true);
    await apply(t, M0);
    expect((await plan(t, M0)).steps).toEqual([]);
    expect(dropped(await plan(t, M0))).toEqual([]);
  });

  test('an old-owned index changed by hand since is left alone, and says why', async () => {
    const t = await targets.fresh(SEED);
    await apply(t, M1);
    await makeOld(t, true);
    await t.sql('DROP INDEX ix_orders_total');
    await t.sql('CREATE INDEX ix_orders_total ON orders (total, id)');
    const p = await plan(t, M0);
    expect(dropped(p)).not.toContain('ix_orders_total');
    expect(notes(p).ix_orders_total).toContain('did not record its definition');
  });
});

describeEachDatabase(['postgres'], 'old journal rows own nothing on an untrusted journal', (make) => {
  const other = `sd_other_${randomBytes(4).toString('hex')}`;
  let t: TestTarget;
  beforeAll(async () => {
    t = await make(SEED);
  });
  afterAll(async () => {
    await t?.sql(`DROP OWNED BY ${other}; DROP ROLE IF EXISTS ${other}`).catch(() => {});
    await t?.dispose();
  });

  test('apply refuses a removal when another role may write the journal, and drops nothing', async () => {
    await apply(t, M1);
    await t.sql(`UPDATE schema_diff.steps SET effects = NULL; CREATE ROLE ${other}; GRANT UPDATE ON schema_diff.steps TO ${other}`);
    expect(dropped(await plan(t, M0))).toHaveLength(3);
    await expect(apply(t, M0)).rejects.toThrow(new RegExp(`^role ${other} may UPDATE the journal table schema_diff.steps`));
    expect(dropped(await plan(t, M0))).toHaveLength(3);
  });
});
