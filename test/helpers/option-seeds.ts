import { checkManifest } from '../../src/manifest/check.js';

/**
 * Indexes and constraints written by hand, in the spellings people use (and
 * other tools emit), with a manifest describing each: shared by the
 * zero-false-diffs test (the first plan is already empty) and pull's (the
 * pulled manifest plans nothing either).
 */
export const POSTGRES_OPTIONS_SEED = `
  create table accounts (
    id int primary key, email text UNIQUE, a int, b int, name text, code varchar(20), parent_id int, parent_alt int,
    unique (a, b),
    constraint ck_a check (a > 0) no inherit
  );
  create table parents (id int primary key, alt int, unique (id, alt));
  alter table accounts add constraint fk_parent foreign key (parent_id, parent_alt) references parents (id, alt) match full on delete set null (parent_alt);
  CREATE INDEX ix_desc ON accounts (a DESC NULLS LAST, b);
  CREATE INDEX ix_nulls ON accounts (b NULLS FIRST);
  CREATE UNIQUE INDEX ix_include ON accounts (a) INCLUDE (b, name);
  CREATE UNIQUE INDEX ix_nnd ON accounts (name) NULLS NOT DISTINCT;
  CREATE INDEX ix_collate ON accounts (name COLLATE "C");
  CREATE INDEX ix_pattern ON accounts USING btree (name text_pattern_ops, code varchar_pattern_ops);
  CREATE INDEX ix_fill ON accounts (b) WITH (fillfactor = 70);
  CREATE INDEX ix_expr ON accounts (lower(name) COLLATE "C" DESC);`;

export const postgresOptionsManifest = checkManifest({
  tables: {
    accounts: {
      checks: [{ name: 'ck_a', expr: 'a > 0', noInherit: true }],
      foreignKeys: [
        {
          name: 'fk_parent',
          columns: ['parent_id', 'parent_alt'],
          references: { table: 'parents', columns: ['id', 'alt'] },
          match: 'full',
          onDelete: { action: 'set null', columns: ['parent_alt'] },
        },
      ],
      indexes: [
        { name: 'accounts_email_key', columns: ['email'], unique: true },
        { name: 'accounts_a_b_key', columns: ['a', 'b'], unique: true, constraint: true },
        { name: 'ix_desc', columns: [{ column: 'a', desc: true, nulls: 'last' }, 'b'] },
        { name: 'ix_nulls', columns: [{ column: 'b', nulls: 'first' }] },
        { name: 'ix_include', columns: ['a'], unique: true, include: ['b', 'name'] },
        { name: 'ix_nnd', columns: ['name'], unique: true, nullsNotDistinct: true },
        { name: 'ix_collate', columns: [{ column: 'name', collate: 'C' }] },
        { name: 'ix_pattern', columns: [{ column: 'name', opclass: 'text_pattern_ops' }, { column: 'code', opclass: 'varchar_pattern_ops' }] },
        { name: 'ix_fill', columns: ['b'], with: { fillfactor: 70 } },
        { name: 'ix_expr', columns: [{ expr: 'lower(name)', collate: 'C', desc: true }] },
      ],
    },
  },
});

export const SQLITE_OPTIONS_SEED = `
  CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT UNIQUE, a INT, b INT, name TEXT, UNIQUE (a, b));
  CREATE INDEX ix_desc ON accounts (a DESC, b ASC);
  CREATE INDEX ix_nocase ON accounts (name COLLATE NOCASE);
  create index ix_lower on accounts (lower(name) collate rtrim desc);`;

export const sqliteOptionsManifest = checkManifest({
  tables: {
    accounts: {
      indexes: [
        // satisfied by the autoindexes of `email TEXT UNIQUE` and `UNIQUE (a, b)`
        { name: 'uq_email', columns: ['email'], unique: true },
        { name: 'sqlite_autoindex_accounts_2', columns: ['a', 'b'], unique: true },
        { name: 'ix_desc', columns: [{ column: 'a', desc: true }, 'b'] },
        { name: 'ix_nocase', columns: [{ column: 'name', collate: 'nocase' }] },
        { name: 'ix_lower', columns: [{ expr: 'LOWER(name)', collate: 'RTRIM', desc: true }] },
      ],
    },
  },
});
