import { sql, type Kysely } from 'kysely';
import { SchemaDiffError } from '../../errors.js';

/**
 * Rollback runs what the journal says (rendered again, but from the journal's
 * fields), with the privileges of whoever runs it. So the journal must be
 * in the hands of the current user or of a superuser: its schema and tables
 * owned by one of them, and no other role granted a right to write the tables.
 * Anything else is refused before the journal is read for an undo.
 */
export async function checkPostgresJournalTrust(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ object: string; owner: string; trusted: boolean }>`
    with me as (select oid, rolsuper from pg_roles where rolname = current_user)
    select 'schema schema_diff' as object, o.rolname as owner, (o.oid = me.oid or o.rolsuper) as trusted
      from pg_namespace n join pg_roles o on o.oid = n.nspowner, me
     where n.nspname = 'schema_diff'
    union all
    select 'table schema_diff.' || c.relname, o.rolname, (o.oid = me.oid or o.rolsuper)
      from pg_class c join pg_roles o on o.oid = c.relowner, me
     where c.relnamespace = to_regnamespace('schema_diff') and c.relname in ('runs', 'steps')`.execute(db);
  const untrusted = rows.find((r) => !r.trusted);
  if (untrusted) {
    throw new SchemaDiffError(
      'refused',
      `the journal's ${untrusted.object} is owned by role ${untrusted.owner}, not by the current user or a superuser; ` +
        'rollback would run what that role wrote there: run it as that role, or have it reassign the schema (docs/rollback.md)',
    );
  }
  const writer = await otherWriter(db);
  if (writer) {
    const on = writer.col ? `column ${writer.col} of the journal table schema_diff.${writer.tbl}` : `the journal table schema_diff.${writer.tbl}`;
    const what = writer.col ? `${writer.privilege} (${writer.col})` : writer.privilege;
    throw new SchemaDiffError(
      'refused',
      `role ${writer.grantee} may ${writer.privilege} ${on}; rollback would run what it wrote there: ` +
        `REVOKE ${what} ON schema_diff.${writer.tbl} FROM ${writer.grantee} first (docs/rollback.md)`,
    );
  }
  const member = await memberOfOwner(db);
  if (member) {
    throw new SchemaDiffError(
      'refused',
      `role ${member.member} is a member of role ${member.owner}, which owns the journal's ${member.object}, and so may write it as that role; ` +
        `rollback would run what it wrote there: REVOKE ${member.owner} FROM ${member.member} first (docs/rollback.md)`,
    );
  }
}

/**
 * A role other than the owner (or a superuser) granted a right to change the
 * journal tables, on a whole table (relacl) or on one of its columns (attacl:
 * `GRANT UPDATE (origin, inverse) ON schema_diff.steps` is enough to choose what
 * rollback runs). TRIGGER too: a trigger function runs as whoever writes the row.
 */
async function otherWriter(db: Kysely<unknown>) {
  const { rows } = await sql<{ tbl: string; col: string | null; grantee: string; privilege: string }>`
    with acl as (
      select c.relname as tbl, null::text as col, c.relowner as owner, a.grantee, a.privilege_type
        from pg_class c, aclexplode(c.relacl) a
       where c.relnamespace = to_regnamespace('schema_diff') and c.relname in ('runs', 'steps')
      union all
      select c.relname, att.attname::text, c.relowner, a.grantee, a.privilege_type
        from pg_class c join pg_attribute att on att.attrelid = c.oid, aclexplode(att.attacl) a
       where c.relnamespace = to_regnamespace('schema_diff') and c.relname in ('runs', 'steps')
         and att.attnum > 0 and not att.attisdropped
    )
    select tbl, col, case when grantee = 0 then 'PUBLIC' else pg_get_userbyid(grantee) end as grantee, privilege_type as privilege
      from acl
     where privilege_type in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER') and grantee <> owner
       and not coalesce((select rolsuper from pg_roles where oid = grantee), false)
     order by tbl, col nulls first
     limit 1`.execute(db);
  return rows[0];
}

/**
 * A role that is a member (directly or through other roles) of a role owning
 * the journal's schema or tables: it can SET ROLE to the owner, or inherits its
 * rights, and write the journal as the owner would. Superusers and the current
 * user are the trusted ones already.
 */
async function memberOfOwner(db: Kysely<unknown>) {
  const { rows } = await sql<{ member: string; owner: string; object: string }>`
    with recursive owners as (
      select nspowner as owner, 'schema schema_diff' as object from pg_namespace where nspname = 'schema_diff'
      union all
      select relowner, 'table schema_diff.' || relname from pg_class
       where relnamespace = to_regnamespace('schema_diff') and relname in ('runs', 'steps')
    ), members (member, owner, object) as (
      select m.member, o.owner, o.object from pg_auth_members m join owners o on m.roleid = o.owner
      union
      select m.member, mb.owner, mb.object from pg_auth_members m join members mb on m.roleid = mb.member
    )
    select pg_get_userbyid(mb.member) as member, pg_get_userbyid(mb.owner) as owner, mb.object
      from members mb join pg_roles r on r.oid = mb.member
     where not r.rolsuper and r.rolname <> current_user
     order by mb.object, 1
     limit 1`.execute(db);
  return rows[0];
}
