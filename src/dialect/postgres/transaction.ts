import { sql, type Kysely } from 'kysely';

/**
 * BEGIN … COMMIT on the session connection, ROLLBACK on any failure: the one
 * transaction wrapper of apply's steps and of the journal (the session is a
 * single pinned connection, so plain statements suffice).
 */
export async function inTransaction<T>(db: Kysely<unknown>, body: () => Promise<T>): Promise<T> {
  await sql.raw('BEGIN').execute(db);
  try {
    const result = await body();
    await sql.raw('COMMIT').execute(db);
    return result;
  } catch (e) {
    await sql.raw('ROLLBACK').execute(db).catch(() => {});
    throw e;
  }
}
