import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Dialect } from '../../src/dialect/dialect.js';
import { openDialect } from '../../src/dialect/open.js';
import type { Step } from '../../src/plan/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { preparePlan } from '../../src/run/prepare.js';
import { verifyManifest } from '../../src/run/verify.js';
import { applyOptions, manifestOf, query, schemaTexts, seededFile, tableChecksums } from './helpers.js';

const noBackup = { ...applyOptions, backup: false } as typeof applyOptions;

/** Every kind of change on SQLite, written the way people write SQLite schemas by hand. */
const SEED = `
  CREATE TABLE Users (Id INTEGER PRIMARY KEY, Email TEXT NOT NULL, "Display Name" TEXT, status TEXT);
  CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    author_id INTEGER REFERENCES Users,                -- parent columns omitted: the parent's primary key
    editor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    score REAL CONSTRAINT ck_score CHECK (score>=0),   -- named, column level
    title TEXT CHECK (length(title) > 0)               -- unnamed: never touched
  );
  CREATE INDEX ix_posts_score ON posts (score);
  CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT);
  CREATE INDEX ix_tags_name ON tags (name);
  CREATE UNIQUE INDEX old_name ON Users (lower(Email));
  CREATE INDEX ix_users_status ON Users (status) WHERE status IS NOT NULL;
  INSERT INTO Users VALUES (1, 'a@x.co', 'Ann', 'A'), (2, 'b@x.co', NULL, NULL);
  INSERT INTO posts VALUES (1, 1, 2, 1.5, 'hello'), (2, 2, NULL, 0, 'world');`;

const MANIFEST = manifestOf({
  Users: {
    checks: [{ name: 'ck_users_display_name', expr: 'trim("display name") <> \'\'' }],
    indexes: [
      // same definition under another name: SQLite has no RENAME INDEX, so drop and create
      { name: 'ux_users_email_lower', columns: [{ expr: 'LOWER( email )' }], unique: true },
      // another predicate: replaced
      { name: 'ix_users_status', columns: ['status'], where: "status IN ('A', 'B')" },
    ],
  },
  posts: {
    checks: [
      // written differently from the live text, same meaning: no change
      { name: 'ck_score', expr: '(SCORE >= 0)' },
      { name: 'ck_posts_title_short', expr: 'length(title) <= 200' },
    ],
    foreignKeys: [
      // same shape and actions as the unnamed inline one: it is only named (a rebuild on SQLite)
      { name: 'fk_posts_author', columns: ['author_id'], references: { table: 'Users', columns: ['Id'] } },
      // another action: replaced
      { name: 'fk_posts_editor', columns: ['editor_id'], references: { table: 'Users', columns: ['Id'] }, onDelete: 'cascade' },
    ],
    indexes: [{ name: 'ix_posts_score', columns: ['score'] }],
  },
  // no CHECK or FK change: its indexes are created and dropped directly, no rebuild
  tags: {
    indexes: [
      { name: 'ux_tags_name', columns: ['name'], unique: true, where: 'name IS NOT NULL' },
      { name: 'ix_tags_name', columns: [{ expr: 'lower(name)' }] },
    ],
  },
});

/** The steps each path plans: a rebuild folds a table's index changes in; an in-place edit leaves them as their own steps. */
const PATHS = [
  {
    path: 'edit',
    options: '',
    steps: ['rename_index ux_users_email_lower', 'replace_index ix_users_status', 'create_index ux_tags_name', 'replace_index ix_tags_name', 'edit_table Users', 'edit_table posts'],
    users: ['ck_users_display_name'],
  },
  {
    path: 'rebuild',
    options: '?defensive=on',
    steps: ['create_index ux_tags_name', 'replace_index ix_tags_name', 'rebuild_table Users', 'rebuild_table posts'],
    users: ['ck_users_display_name', 'ux_users_email_lower', 'ix_users_status', 'old_name'],
  },
] as const;

describe.each(PATHS)('every kind of change, then no false diff ($path)', ({ options, steps: expected, users }) => {
  const file = seededFile(SEED);
  let dialect: Dialect;
  let before: Record<string, string>;
  let steps: readonly Step[];

  beforeAll(async () => {
    before = schemaTexts(file.path);
    dialect = await openDialect(`sqlite:///${file.path}${options}`);
  });
  afterAll(async () => {
    await dialect?.close();
    file.dispose();
  });

  test('the diff: what is equal is left alone, the rest is named, replaced or added', async () => {
    const { diff, plan } = await preparePlan(dialect, MANIFEST, 'm');
    const kinds = diff.changes.map((c) => `${c.kind} ${'desired' in c ? c.desired.name : 'current' in c ? c.current.name : c.name}${'current' in c ? ` (was ${c.current.name})` : ''}`).sort();
    expect(kinds).toEqual([
      'add_check ck_posts_title_short',
      'add_check ck_users_display_name',
      'create_index ux_tags_name',
      'rename_foreign_key fk_posts_author (was FOREIGN KEY (author_id) REFERENCES Users (Id))',
      'rename_index ux_users_email_lower (was old_name)',
      'replace_foreign_key fk_posts_editor (was FOREIGN KEY (editor_id) REFERENCES Users (Id))',
      'replace_index ix_tags_name (was ix_tags_name)',
      'replace_index ix_users_status (was ix_users_status)',
    ]);
    expect(plan.steps.map((s) => `${s.action} ${s.name}`)).toEqual(expected);
    const tags = plan.steps.find((s) => s.action === 'replace_index' && s.name === 'ix_tags_name');
    expect(tags?.sql).toEqual(['DROP INDEX IF EXISTS main.ix_tags_name', 'CREATE INDEX ix_tags_name ON tags (LOWER(name))']);
    expect(tags?.inverse).toEqual(['DROP INDEX IF EXISTS main.ix_tags_name', 'CREATE INDEX ix_tags_name ON tags (name)']);
    expect(plan.steps.find((s) => s.name === 'Users')?.objects).toEqual(users);
    expect(plan.unmanaged.map((u) => `${u.kind} ${u.name}`)).toEqual(['check CHECK (LENGTH(title) > 0)']);
    steps = plan.steps;
  });

  test('apply, verify, plan again: zero steps', async () => {
    const rows = tableChecksums(file.path);
    await applyManifest(dialect, MANIFEST, noBackup);
    expect(await verifyManifest(dialect, MANIFEST, 'm')).toEqual([]);
    expect((await preparePlan(dialect, MANIFEST, 'm')).plan.steps).toEqual([]);
    expect(tableChecksums(file.path)).toEqual(rows);
    expect(query(file.path, `SELECT "from", on_delete FROM pragma_foreign_key_list('posts') ORDER BY "from"`)).toEqual([
      { from: 'author_id', on_delete: 'NO ACTION' },
      { from: 'editor_id', on_delete: 'CASCADE' },
    ]);
    const posts = schemaTexts(file.path)['table posts'];
    expect(posts).toContain('title TEXT CHECK (length(title) > 0),               -- unnamed: never touched\n    CONSTRAINT ck_posts_title_short');
    expect(posts).toContain('score REAL CONSTRAINT ck_score CHECK (score>=0),   -- named, column level');
    expect(posts).toContain('author_id INTEGER,                -- parent columns omitted');
    expect(posts).toMatch(/CONSTRAINT fk_posts_author FOREIGN KEY \(author_id\) REFERENCES Users \(Id\),\n\s+CONSTRAINT fk_posts_editor/);
  });

  test('the inverses, run in reverse order, give back exactly the old schema', async () => {
    const undo: Step[] = [...steps].reverse().map((s, i) => ({ ...s, id: i + 1, sql: s.inverse, inverse: s.sql }));
    const runId = await dialect.startRun('rollback', 'm', 'x');
    await dialect.execute(undo, { runId }, noBackup);
    await dialect.finishRun(runId, 'done');
    expect(schemaTexts(file.path)).toEqual(before);
  });
});

describe('WAL mode', () => {
  test('a reader keeps its snapshot and keeps reading while the rebuild commits', async () => {
    const file = seededFile(`PRAGMA journal_mode = WAL; ${SEED}`);
    const reader = new Database(file.path, { readonly: true });
    const dialect = await openDialect(`sqlite:///${file.path}`);
    try {
      reader.exec('BEGIN');
      const text = reader.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'posts'`);
      const seen = { rows: reader.prepare('SELECT count(*) AS n FROM posts').get(), text: text.get() };
      await applyManifest(dialect, MANIFEST, noBackup);
      expect({ rows: reader.prepare('SELECT count(*) AS n FROM posts').get(), text: text.get() }).toEqual(seen);
      reader.exec('COMMIT');
      expect(text.get()).not.toEqual(seen.text);
      expect(query(file.path, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
      expect(await verifyManifest(dialect, MANIFEST, 'm')).toEqual([]);
    } finally {
      reader.close();
      await dialect.close();
      file.dispose();
    }
  });
});

describe('opening and reading', () => {
  test('a file that does not exist is an error, and is not created', async () => {
    const file = seededFile('');
    const missing = `${file.dir}/missing.db`;
    await expect(openDialect(`sqlite:///${missing}`)).rejects.toThrow(/SQLite database .*missing\.db does not exist/);
    expect(existsSync(missing)).toBe(false);
    file.dispose();
  });

  test('a manifest expression SQLite cannot parse is reported with its manifest path', async () => {
    const file = seededFile(SEED);
    const dialect = await openDialect(`sqlite:///${file.path}`);
    try {
      const bad = manifestOf({ posts: { checks: [{ name: 'ck_bad', expr: 'scroe >= 0' }], indexes: [{ name: 'ix_bad', columns: ['score'], where: 'score >>> 1' }] } });
      await expect(preparePlan(dialect, bad, 'm')).rejects.toThrow(/2 expressions do not parse: tables\.posts\.checks\[0\]\.expr: no such column: scroe/);
    } finally {
      await dialect.close();
      file.dispose();
    }
  });
});
