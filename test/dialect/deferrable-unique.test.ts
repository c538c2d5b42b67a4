import pg from 'pg';
import { checkManifest } from '../../src/manifest/check.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { apply as applyLibrary } from '../../src/run/library.js';
import { preparePlan } from '../../src/run/prepare.js';
import { describeEachDatabase } from '../helpers/each.js';
import { testApplyOptions } from '../helpers/options.js';
import type { TestTarget } from '../helpers/targets.js';

/**
 * DEFERRABLE UNIQUE constraints, where they meet what PostgreSQL will not do
 * (a foreign key to one) and what an online build cannot do (an index is
 * never deferred alone: the new one is checked row by row while it builds).
 * Found by a hostile review of the feature; each case was a reproduction.
 */
describeEachDatabase(['postgres'], 'DEFERRABLE UNIQUE constraints: foreign keys, failed swaps, session settings', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(`
      create table parent (id int primary key, a int, b int);
      create unique index p_a on parent (a);
      create table child (id int primary key, pa int references parent (a), pb int);
      create table slots (id int primary key, board int not null, pos int not null, note text,
                          constraint uq_pos unique (board, pos) deferrable);
      create table plain (id int primary key, board int not null, pos int not null, note text);
      create unique index uq_plain on plain (board, pos);
      insert into slots values (1, 1, 1), (2, 1, 2);
      insert into plain values (1, 1, 1), (2, 1, 2);
      create function no_alter() returns event_trigger language plpgsql as $$ begin raise exception 'no ALTER TABLE now'; end $$;`);
  });
  afterAll(async () => {
    await target?.sql('drop event trigger if exists no_alter').catch(() => {});
    await target?.dispose();
  });

  const plan = async (m: LoadedManifest) => (await preparePlan(target.dialect, m, 'timing')).plan;
  const apply = (m: LoadedManifest) => applyManifest(target.dialect, m, { ...testApplyOptions, manifestPath: 'timing' });
  const indexesOf = async (table: string) =>
    (await target.sql(`select indexrelid::regclass::text as ix from pg_index where indrelid = '${table}'::regclass order by 1`)).map((r) => String(r.ix));
  /** The swap's ALTER TABLE fails, as when its lock retries run out under load. */
  const withAlterFailing = async <T>(body: () => Promise<T>): Promise<T> => {
    await target.sql(`create event trigger no_alter on ddl_command_start when tag in ('ALTER TABLE') execute function no_alter()`);
    try {
      return await body();
    } finally {
      await target.sql('drop event trigger no_alter');
    }
  };

  test('a unique index a foreign key uses is not made a DEFERRABLE constraint: refused at plan, naming the key', async () => {
    const m = checkManifest({ tables: { parent: { indexes: [{ name: 'p_a', columns: ['a'], unique: true, constraint: true, deferrable: true }] } } });
    await expect(plan(m)).rejects.toThrow(
      /^manifest tables\.parent\.indexes\[0\]: UNIQUE constraint p_a on public\.parent cannot be DEFERRABLE: foreign key child_pa_fkey on public\.child uses its index/,
    );
  });

  test('a foreign key whose only unique key is a DEFERRABLE constraint: refused at plan, before anything is built', async () => {
    const m = checkManifest({
      tables: {
        parent: { indexes: [{ name: 'uq_b', columns: ['b'], unique: true, constraint: true, deferrable: true }] },
        child: { foreignKeys: [{ name: 'fk_pb', columns: ['pb'], references: { table: 'parent', columns: ['b'] } }] },
      },
    });
    await expect(plan(m)).rejects.toThrow(/^manifest tables\.child\.foreignKeys\[0\]: foreign key fk_pb references public\.parent \(b\), whose only unique key there is the DEFERRABLE constraint uq_b/);
    // with an immediate unique index on the same column the key has something to reference
    const both = checkManifest({
      tables: {
        parent: {
          indexes: [
            { name: 'uq_b', columns: ['b'], unique: true, constraint: true, deferrable: true },
            { name: 'ix_b_unique', columns: ['b'], unique: true },
          ],
        },
        child: { foreignKeys: [{ name: 'fk_pb', columns: ['pb'], references: { table: 'parent', columns: ['b'] } }] },
      },
    });
    expect((await plan(both)).steps.map((s) => s.action)).toContain('add_foreign_key');
  });

  test('a replace of a DEFERRABLE constraint says it suspends deferral, and a swap that fails leaves no row-by-row index behind', async () => {
    const m = checkManifest({ tables: { slots: { indexes: [{ name: 'uq_pos', columns: ['board', 'pos'], unique: true, constraint: true, initiallyDeferred: true }] } } });
    const [step] = (await plan(m)).steps;
    expect(step.action).toBe('replace_unique_constraint');
    expect(step.hazards).toContain('SUSPENDS_DEFERRAL');
    const before = await indexesOf('slots');
    await expect(withAlterFailing(() => apply(m))).rejects.toThrow(/no ALTER TABLE now/);
    expect(await indexesOf('slots')).toEqual(before);
    // the application's swap of two positions, which relies on deferral, still works
    await target.sql('update slots set pos = 3 - pos');
    await apply(m);
    expect((await plan(m)).steps).toEqual([]);
  });

  test('a plain index made a DEFERRABLE constraint, stopped after its old index went: the next apply clears the scratch index', async () => {
    const m = checkManifest({
      tables: { plain: { indexes: [{ name: 'uq_plain', columns: ['board', 'pos'], unique: true, include: ['note'], constraint: true, initiallyDeferred: true }] } },
    });
    expect((await plan(m)).steps.map((s) => s.action)).toEqual(['replace_unique_constraint']);
    await expect(withAlterFailing(() => apply(m))).rejects.toThrow(/no ALTER TABLE now/);
    // the old index was dropped before the ALTER failed: its new one, under the scratch name, is all that enforces uniqueness
    expect(await indexesOf('plain')).toEqual(['plain_pkey', 'uq_plain_sd_new']);
    const next = (await plan(m)).steps;
    expect(next.map((s) => s.action)).toEqual(['create_index']);
    expect(next[0].sql[0]).toMatch(/^DROP INDEX CONCURRENTLY IF EXISTS public\.uq_plain_sd_new$/);
    await apply(m);
    expect(await indexesOf('plain')).toEqual(['plain_pkey', 'uq_plain']);
    await target.sql('update plain set pos = 3 - pos');
    expect((await plan(m)).steps).toEqual([]);
  });

  test("a caller's pool keeps its session's lock_timeout and statement_timeout after apply builds an index", async () => {
    const pool = new pg.Pool({ connectionString: target.url, max: 1 });
    pool.on('connect', (c) => {
      void c.query(`SET lock_timeout = '5s'; SET statement_timeout = '7s'`);
    });
    try {
      const manifest = checkManifest({ tables: { plain: { indexes: [{ name: 'ix_plain_note', columns: ['note'] }] } } });
      await applyLibrary({ pool, manifest });
      expect((await pool.query('show lock_timeout')).rows[0].lock_timeout).toBe('5s');
      expect((await pool.query('show statement_timeout')).rows[0].statement_timeout).toBe('7s');
    } finally {
      await pool.end();
    }
  });
});
