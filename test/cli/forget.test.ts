import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededFile } from '../sqlite/helpers.js';
import { expectOneLineError, runCli } from './run-cli.js';

const SEED = 'CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, m INTEGER); CREATE INDEX ix_t_m_hand ON t (m);';

describe('removal, --prune and forget from the command line (SQLite)', () => {
  test('plan says why a drop is there; forget ends ownership and history shows it', async () => {
    const file = seededFile(SEED);
    try {
      const url = `sqlite:///${file.path}`;
      const write = (name: string, tables: unknown) => {
        const path = join(file.dir, name);
        writeFileSync(path, JSON.stringify({ version: 1, tables }));
        return path;
      };
      const withIndex = write('with.json', { t: { indexes: [{ name: 'ix_t_n', columns: ['n'] }] } });
      const without = write('without.json', { t: {} });
      expect((await runCli(['apply', '-m', withIndex, '-d', url, '--yes', '--no-backup', '-q'])).code).toBe(0);
      const text = await runCli(['plan', '-m', without, '-d', url, '--format', 'text']);
      expect(text.stdout).toMatch(/drop_index +ix_t_n/);
      expect(text.stdout).toContain('why: was in the manifest, removed');
      expect(text.stdout).toContain('ix_t_m_hand');
      const pruned = await runCli(['plan', '-m', without, '-d', url, '--format', 'json', '--prune']);
      expect(JSON.parse(pruned.stdout).steps.map((s: { name: string }) => s.name).sort()).toEqual(['ix_t_m_hand', 'ix_t_n']);
      expect((await runCli(['verify', '-m', without, '-d', url])).stdout).toContain('extra         ix_t_n on main.t');
      const forgot = await runCli(['forget', 'ix_t_n', '-d', url]);
      expect(forgot.stdout).toContain('forgot index ix_t_n on main.t');
      expect((await runCli(['history', '-d', url])).stdout).toMatch(/#2 +forget +done/);
      expect(JSON.parse((await runCli(['plan', '-m', without, '-d', url, '--format', 'json'])).stdout).steps).toEqual([]);
      expectOneLineError(await runCli(['forget', 'ix_t_n', '-d', url]), /ix_t_n: schema-diff does not own an object of that name/);
    } finally {
      file.dispose();
    }
  });
});
