import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineSchema, demoRows } from '../../manifest/baseline/index.js';
import { mestore } from '../../manifest/mestore.js';
import { defineManifest } from '../../src/manifest/define.js';
import { planHazards } from '../../src/plan/types.js';
import { preparePlan } from '../../src/run/prepare.js';
import { runCli } from '../cli/run-cli.js';
import { describeEachDatabase } from '../helpers/each.js';
import type { TestTarget } from '../helpers/targets.js';

const SEED = `
CREATE TABLE parents (id INTEGER PRIMARY KEY, code VARCHAR(10) NOT NULL UNIQUE);
CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER, other_id INTEGER, parent_code VARCHAR(10), note VARCHAR(10));
CREATE INDEX ix_children_other_note ON children (other_id, note);
CREATE INDEX ix_children_code_partial ON children (parent_code) WHERE parent_code IS NOT NULL;
`;

const fk = (name: string, column: string, ref = 'id') => ({ name, columns: [column], references: { table: 'parents', columns: [ref] } });

const manifest = defineManifest({
  tables: {
    parents: {},
    children: {
      foreignKeys: [
        fk('fk_children_parent', 'parent_id'), // no index at all
        fk('fk_children_other', 'other_id'), // leads ix_children_other_note in the database
        fk('fk_children_code', 'parent_code', 'code'), // only a partial index: it does not count
      ],
    },
  },
});

describeEachDatabase(['pglite', 'sqlite'], 'FK_WITHOUT_INDEX', (make) => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await make(SEED);
  });
  afterAll(async () => target?.dispose());

  test('a managed foreign key no full index leads is a plan warning naming the index to add', async () => {
    const { plan } = await preparePlan(target.dialect, manifest, 'm.ts');
    expect(plan.warnings?.map((w) => [w.object, w.suggestion?.index])).toEqual([
      ['fk_children_parent', { name: 'ix_children_parent_id', columns: ['parent_id'] }],
      ['fk_children_code', { name: 'ix_children_parent_code', columns: ['parent_code'] }],
    ]);
    expect(plan.warnings?.[0].message).toContain("add { name: 'ix_children_parent_id', columns: ['parent_id'] } to the manifest's indexes of children");
    expect(planHazards(plan)).toContain('FK_WITHOUT_INDEX');
    // not a step: the plan's steps are the same with or without the warning
    expect(plan.steps.every((s) => !s.hazards.includes('FK_WITHOUT_INDEX'))).toBe(true);
  });

  test("an index in the manifest serves, whatever the order of the key's columns within its lead", async () => {
    const indexed = defineManifest({
      tables: {
        children: {
          foreignKeys: [fk('fk_children_parent', 'parent_id')],
          indexes: [{ name: 'ix_children_note_parent', columns: ['parent_id', 'note'] }],
        },
      },
    });
    const { plan } = await preparePlan(target.dialect, indexed, 'm.ts');
    expect(plan.warnings).toEqual([]);
  });
});

describeEachDatabase(['sqlite'], 'FK_WITHOUT_INDEX in the CLI', (make) => {
  let target: TestTarget;
  let dir: string;
  beforeAll(async () => {
    target = await make(SEED);
    dir = mkdtempSync(join(tmpdir(), 'sd-fkix-'));
    writeFileSync(join(dir, 'm.json'), JSON.stringify(manifest));
  });
  afterAll(async () => {
    await target?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('listed in JSON, in text, and on stderr beside the SQL script', async () => {
    const json = await runCli(['plan', '-m', join(dir, 'm.json'), '-d', target.url, '--format', 'json']);
    expect(json.code).toBe(0);
    const plan = JSON.parse(json.stdout) as { warnings: { hazard: string; object: string }[] };
    expect(plan.warnings.map((w) => `${w.hazard} ${w.object}`)).toEqual(['FK_WITHOUT_INDEX fk_children_parent', 'FK_WITHOUT_INDEX fk_children_code']);
    const text = await runCli(['plan', '-m', join(dir, 'm.json'), '-d', target.url, '--format', 'text']);
    expect(text.stdout).toContain('warnings: 2');
    expect(text.stdout).toContain('FK_WITHOUT_INDEX fk_children_parent: foreign key fk_children_parent on main.children (parent_id) has no index');
    const script = await runCli(['plan', '-m', join(dir, 'm.json'), '-d', target.url]);
    expect(script.stdout).not.toContain('FK_WITHOUT_INDEX');
    expect(script.stderr).toContain('warning: FK_WITHOUT_INDEX foreign key fk_children_parent');
    expect(script.code).toBe(0);
  });

  test('--fail-on FK_WITHOUT_INDEX exits 2 and names the foreign keys', async () => {
    const failing = await runCli(['plan', '-m', join(dir, 'm.json'), '-d', target.url, '--fail-on', 'FK_WITHOUT_INDEX']);
    expect(failing.code).toBe(2);
    expect(failing.stderr).toContain('--fail-on: 2 plan warning(s) carry a listed hazard: fk_children_parent (FK_WITHOUT_INDEX); fk_children_code (FK_WITHOUT_INDEX)');
    const other = await runCli(['plan', '-m', join(dir, 'm.json'), '-d', target.url, '--fail-on', 'INDEX_DROPPED']);
    expect(other.code).toBe(0);
  });

  test('verify on SQLite notes that the application must turn on PRAGMA foreign_keys', async () => {
    const verify = await runCli(['verify', '-m', join(dir, 'm.json'), '-d', target.url]);
    expect(verify.code).toBe(2); // the foreign keys are not applied
    expect(verify.stderr).toContain('"PRAGMA foreign_keys = ON"');
    expect(verify.stdout).not.toContain('PRAGMA');
  });
});

describeEachDatabase(['sqlite'], "MeStore's manifest", (make) => {
  test('has an index for every foreign key it manages ("Indexes added for FK columns")', async () => {
    const target = await make(baselineSchema('sqlite') + demoRows());
    try {
      const { plan } = await preparePlan(target.dialect, mestore, 'manifest/mestore.ts');
      expect(plan.warnings).toEqual([]);
    } finally {
      await target.dispose();
    }
  });
});
