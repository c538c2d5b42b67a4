import { baselineSchema } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { openDialect } from '../../src/dialect/open.js';
import type { Dialect } from '../../src/dialect/dialect.js';
import { SchemaDiffError } from '../../src/errors.js';
import { applyManifest, type ApplyOptions, type ApplyResult } from '../../src/run/apply.js';
import { verifyManifest } from '../../src/run/verify.js';
import { createTestDatabase, describeServer, runSql } from '../helpers/postgres.js';
import { fillMeStore } from '../helpers/writers.js';
import { testApplyOptions } from '../helpers/options.js';

/** Two people (or two CI jobs) run apply on the same database at the same time. */
const base: ApplyOptions = { ...testApplyOptions, lockWaitMs: 60_000 };

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;

async function mestoreDatabase(): Promise<TestDb> {
  const db = await createTestDatabase('sd_concurrent');
  await runSql(db.url, baselineSchema('postgres'));
  await fillMeStore(db.url, 20_000);
  return db;
}

/** Every object the journal says was applied, one entry per time it was applied. */
async function appliedObjects(dialect: Dialect): Promise<string[]> {
  const runs = await dialect.history();
  return runs.flatMap((r) => r.steps.flatMap((s) => (s.action === 'validate_constraint' ? [] : s.objects.map((o) => `${r.kind}:${o}`))));
}

function expectEachOnce(objects: readonly string[]): void {
  const twice = objects.filter((o, i) => objects.indexOf(o) !== i);
  expect(twice).toEqual([]);
  expect(objects.length).toBeGreaterThanOrEqual(48 + 7); // 12 indexes, 29 CHECKs, 7 FKs (each with the name it replaced)
}

describeServer('two applies at the same time on one database', () => {
  const dbs: TestDb[] = [];
  const dialects: Dialect[] = [];
  afterAll(async () => {
    await Promise.allSettled(dialects.map((d) => d.close()));
    for (const db of dbs) await db.drop();
  });

  async function open(db: TestDb): Promise<Dialect> {
    const d = await openDialect(db.url);
    dialects.push(d);
    return d;
  }

  test('started together: one applies, the other waits for it and then finds nothing to do', async () => {
    const db = await mestoreDatabase();
    dbs.push(db);
    const [a, b] = [await open(db), await open(db)];
    const results: ApplyResult[] = await Promise.all([applyManifest(a, mestore, base), applyManifest(b, mestore, base)]);

    const ran = results.filter((r) => r.runId !== null);
    const idle = results.filter((r) => r.runId === null);
    expect(ran).toHaveLength(1);
    expect(ran[0].plan.steps.length).toBeGreaterThan(40);
    expect(idle).toHaveLength(1);
    expect(idle[0].plan.steps).toEqual([]);
    const runs = await a.history();
    expect(runs.map((r) => r.status)).toEqual(['done']);
    expectEachOnce(await appliedObjects(a));
    expect(await verifyManifest(a, mestore, 'manifest/mestore.ts')).toEqual([]);
  }, 90_000);

  test('one that cannot wait long enough is refused with a clear message and changes nothing', async () => {
    const db = await mestoreDatabase();
    dbs.push(db);
    const [first, second] = [await open(db), await open(db)];
    let letFirstGo!: () => void;
    const firstMayGo = new Promise<void>((r) => (letFirstGo = r));
    let firstHasLock!: () => void;
    const firstLocked = new Promise<void>((r) => (firstHasLock = r));
    // The first apply holds the lock, planned and waiting for its confirmation, while the second starts.
    const running = applyManifest(first, mestore, {
      ...base,
      confirm: async () => {
        firstHasLock();
        await firstMayGo;
        return true;
      },
    });
    await firstLocked;
    const started = Date.now();
    const refused = await applyManifest(second, mestore, { ...base, lockWaitMs: 500 }).then(
      () => null,
      (e: unknown) => e,
    );
    const waited = Date.now() - started;
    letFirstGo();
    const result = await running;

    expect(refused).toBeInstanceOf(SchemaDiffError);
    expect((refused as SchemaDiffError).code).toBe('refused');
    expect((refused as SchemaDiffError).message).toMatch(
      /^another schema-diff apply or rollback is running on this database \(pid \d+, connected since [\d:]+\); nothing was changed$/,
    );
    expect(waited).toBeGreaterThanOrEqual(500);
    expect(result.runId).not.toBeNull();
    const runs = await second.history();
    expect(runs.map((r) => [r.kind, r.status])).toEqual([['apply', 'done']]);
    expectEachOnce(await appliedObjects(second));
  }, 90_000);
});
