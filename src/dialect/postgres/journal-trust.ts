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
  const { rows: writers } = await sql<{ tbl: string; grantee: string; privilege: string }>`
    select c.relname as tbl, case when a.grantee = 0 then 'PUBLIC' else pg_get_userbyid(a.grantee) end as grantee, a.privilege_type as privilege
      from pg_class c, aclexplode(c.relacl) a
     where c.relnamespace = to_regnamespace('schema_diff') and c.relname in ('runs', 'steps')
       and a.privilege_type in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE') and a.grantee <> c.relowner
       and not coalesce((select rolsuper from pg_roles where oid = a.grantee), false)
     limit 1`.execute(db);
  if (writers[0]) {
    const w = writers[0];
    throw new SchemaDiffError(
      'refused',
      `role ${w.grantee} may ${w.privilege} the journal table schema_diff.${w.tbl}; rollback would run what it wrote there: ` +
        `REVOKE ${w.privilege} ON schema_diff.${w.tbl} FROM ${w.grantee} first (docs/rollback.md)`,
    );
  }
}
