import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixSqlTemplates } from '../../src/cli/fix-sql.js';
import { formatReportText } from '../../src/cli/commands/validate.js';
import { printable } from '../../src/schema/printable.js';
import type { LoadedManifest } from '../../src/manifest/types.js';
import { validateManifest } from '../../src/run/validate.js';
import { describeEachDatabase } from '../helpers/each.js';
import type { TestTarget } from '../helpers/targets.js';

/**
 * Row values are data, not text a report may copy as it is: a key holding a
 * newline once turned the "every line is a comment" fix-sql file into a live
 * DROP TABLE, and an ANSI escape repainted the reader's terminal.
 */
const HOSTILE_KEYS = [
  'evil\nDROP TABLE victim; --',
  'cr\rDROP TABLE victim; --',
  'sep\u2028DROP TABLE victim; --',
  'ansi\u001b[2J\u001b[31mred',
  'tab\there\u0085nel',
  'star */ DROP TABLE victim; /*',
];

const seed = `
  CREATE TABLE victim (id integer PRIMARY KEY);
  INSERT INTO victim VALUES (1);
  CREATE TABLE accounts (code text PRIMARY KEY, balance integer NOT NULL);
  ${HOSTILE_KEYS.map((k) => `INSERT INTO accounts VALUES ('${k.replace(/'/g, "''")}', -1);`).join('\n')}
  INSERT INTO accounts VALUES ('fine', 5);
`;

const manifest: LoadedManifest = {
  version: 1,
  tables: { accounts: { checks: [{ name: 'ck_balance_non_negative', expr: 'balance >= 0' }] } },
};

test('printable escapes every control, separator and bidi character, and leaves the rest', () => {
  expect(printable('a\nb\rc\td\u0000e\u001bf\u007fg\u009bh\u2028i\u2029j\u202ek\u2066l')).toBe(
    'a\\nb\\rc\\td\\x00e\\x1bf\\x7fg\\x9bh\\u2028i\\u2029j\\u202ek\\u2066l',
  );
  expect(printable("plain 'text' é ✓ -- /* */")).toBe("plain 'text' é ✓ -- /* */");
});

describeEachDatabase(['postgres', 'pglite', 'sqlite'], 'validate reports copy no live control characters from rows', (make, kind) => {
  let target: TestTarget;
  const scratch = mkdtempSync(join(tmpdir(), 'sd-report-values-'));
  beforeAll(async () => {
    target = await make(seed);
  });
  afterAll(async () => {
    await target?.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('--fix-sql: every line is a comment, and running the file drops nothing', async () => {
    const validation = await validateManifest(target.dialect, manifest, { samples: 10, jobs: 1 });
    expect(validation.report.constraints[0].violations).toBe(HOSTILE_KEYS.length);
    const script = fixSqlTemplates(validation);
    const lines = script.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^(--.*)?$/);
    expect(script).not.toMatch(/[\r\u001b\u0085\u2028\u2029]/);
    expect(script).toContain('evil\\nDROP TABLE victim; --');

    // Run the file as the database's own shell would.
    const file = join(scratch, `fix-${kind}.sql`);
    writeFileSync(file, script);
    if (kind === 'postgres') execFileSync('psql', ['-v', 'ON_ERROR_STOP=1', '-q', '-d', target.url, '-f', file]);
    else if (kind === 'sqlite') {
      const db = new Database(target.url.replace('sqlite:///', ''));
      try {
        db.exec(script);
      } finally {
        db.close();
      }
    } else await target.sql(`${script}\nSELECT 1`);
    expect(await target.sql('SELECT count(*) AS n FROM victim')).toEqual([{ n: expect.anything() }]);
    expect(Number((await target.sql('SELECT count(*) AS n FROM victim'))[0].n)).toBe(1);
  });

  test('the text report: one line per constraint, whatever the sample keys hold', async () => {
    const validation = await validateManifest(target.dialect, manifest, { samples: 10, jobs: 1 });
    const text = formatReportText(validation);
    // header, rule, one constraint, blank, three summary lines
    expect(text).toHaveLength(7);
    expect(text[2]).toMatch(/^ck_balance_non_negative\s+\S+accounts\s+check\s+critical\s+6\s+/);
    expect(text.join('\n')).not.toMatch(/[\r\u001b\u0085\u2028\u2029]/);
  });
});
