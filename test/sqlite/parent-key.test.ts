import { openDialect } from '../../src/dialect/open.js';
import { defineManifest } from '../../src/manifest/define.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { applyOptions, fileDigest, run, schemaTexts, seededFile } from './helpers.js';

const manifest = (tables: Record<string, unknown>) => defineManifest({ version: 1, name: 't', tables } as never) as LoadedManifest;

const parentChild = `
  CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT NOT NULL);
  CREATE UNIQUE INDEX ux_p_code ON p (code);
  CREATE TABLE c (id INTEGER PRIMARY KEY, code TEXT REFERENCES p (code));
  INSERT INTO p VALUES (1, 'a'), (2, 'b');
  INSERT INTO c VALUES (1, 'a');`;

const partialParent = manifest({ p: { indexes: [{ name: 'ux_p_code', columns: ['code'], unique: true, where: "code <> ''" }] } });

async function withFile<T>(seed: string, body: (url: string, path: string) => Promise<T>): Promise<T> {
  const file = seededFile(seed);
  try {
    return await body(`sqlite:///${file.path}`, file.path);
  } finally {
    file.dispose();
  }
}

describe('SQLite: a parent key that a child foreign key relies on', () => {
  test('making the parent unique index partial is refused at plan; the file is untouched and the child still accepts writes', async () => {
    await withFile(parentChild, async (url, path) => {
      const digest = fileDigest(path);
      const dialect = await openDialect(url);
      try {
        await expect(preparePlan(dialect, partialParent, 'm')).rejects.toMatchObject({
          code: 'refused',
          message: expect.stringContaining('changing index ux_p_code on main.p would leave foreign key (code) → p(code) of main.c without a unique key'),
        });
        await expect(applyManifest(dialect, partialParent, applyOptions)).rejects.toMatchObject({ code: 'refused' });
      } finally {
        await dialect.close();
      }
      expect(fileDigest(path)).toBe(digest);
      expect(() => run(path, `INSERT INTO c VALUES (2, 'b')`)).not.toThrow();
    });
  });

  test('the same change is allowed when a UNIQUE constraint still covers the key', async () => {
    await withFile(parentChild.replace('code TEXT NOT NULL)', 'code TEXT NOT NULL UNIQUE)'), async (url, path) => {
      const dialect = await openDialect(url);
      try {
        await applyManifest(dialect, partialParent, applyOptions);
      } finally {
        await dialect.close();
      }
      expect(schemaTexts(path)['index ux_p_code']).toContain('WHERE');
      expect(() => run(path, `INSERT INTO c VALUES (2, 'b')`)).not.toThrow();
    });
  });

  test('the index step checks the children with foreign_key_check: a key lost after the plan stops it, nothing applied', async () => {
    await withFile(parentChild + 'CREATE UNIQUE INDEX ux_p_code_too ON p (code);', async (url, path) => {
      const dialect = await openDialect(url);
      try {
        // ux_p_code_too still covers the key, so the plan is allowed; then it is dropped by hand
        const { plan } = await preparePlan(dialect, partialParent, 'm');
        expect(plan.steps.map((s) => s.action)).toEqual(['replace_index']);
        run(path, 'DROP INDEX ux_p_code_too');
        const digest = fileDigest(path);
        const runId = await dialect.startRun('apply', 'm', plan.fingerprint);
        await expect(dialect.execute(plan.steps, { runId }, applyOptions)).rejects.toMatchObject({
          code: 'refused',
          message: expect.stringContaining('foreign key mismatch'),
        });
        expect(fileDigest(path)).toBe(digest);
      } finally {
        await dialect.close();
      }
      expect(() => run(path, `INSERT INTO c VALUES (2, 'b')`)).not.toThrow();
    });
  });

  test('an index name already used by another table\'s index is refused at plan', async () => {
    const seed = `CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT); CREATE UNIQUE INDEX ux_users_email ON users (email);
                  CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT);`;
    await withFile(seed, async (url, path) => {
      const dialect = await openDialect(url);
      try {
        const taken = manifest({ orders: { indexes: [{ name: 'UX_users_email', columns: ['email'] }] } });
        await expect(preparePlan(dialect, taken, 'm')).rejects.toMatchObject({
          code: 'catalog',
          message: expect.stringContaining('manifest tables.orders.indexes[0]: index name "UX_users_email" is already used by an index on main.users'),
        });
      } finally {
        await dialect.close();
      }
      expect(schemaTexts(path)['index ux_users_email']).toBeDefined();
    });
  });
});

