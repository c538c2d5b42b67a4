import { rmSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { lockFile } from '../../src/dialect/sqlite/lock.js';
import { SchemaDiffError } from '../../src/errors.js';
import { seededFile } from './helpers.js';

/** The apply lock is keyed by the database's real path: another spelling of the same file meets the same lock. */
describe('SQLite apply lock', () => {
  let file: ReturnType<typeof seededFile>;
  beforeEach(() => {
    file = seededFile('CREATE TABLE t (id INTEGER PRIMARY KEY);');
  });
  afterEach(() => file.dispose());

  test.each([
    ['a symlink to the file', () => {
      const link = join(file.dir, 'link.db');
      symlinkSync(file.path, link);
      return link;
    }],
    ['a symlink to its directory', () => {
      const dirLink = `${file.dir}-link`;
      symlinkSync(file.dir, dirLink);
      return join(dirLink, 'test.db');
    }],
    ['a relative path', () => relative(process.cwd(), file.path)],
  ])('held through the file, refused through %s', async (_, spell) => {
    const other = spell();
    const release = await lockFile(file.path, 0);
    try {
      const error = await lockFile(other, 0).then(
        (r) => r().then(() => null),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SchemaDiffError);
      expect((error as SchemaDiffError).message).toMatch(/^another schema-diff apply or rollback is running on this database/);
    } finally {
      await release();
    }
    // released: the other path gets it now
    const again = await lockFile(other, 0);
    await again();
    rmSync(`${file.dir}-link`, { force: true });
  });
});
