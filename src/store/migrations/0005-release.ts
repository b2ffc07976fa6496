import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect';

/**
 * A released incident (issue 14: the containment undone as a false positive) has ended like a
 * closed one: its subject may get a new incident. The one-open-incident-per-subject index is
 * rebuilt to leave `released` rows out, as it leaves out closed and cancelled ones.
 */
export function release(_dialect: Dialect): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>): Promise<void> {
      await sql`drop index incidents_one_open_per_subject`.execute(db);
      await sql`create unique index incidents_one_open_per_subject on incidents (customer_id, subject_key)
                where status not in ('closed', 'cancelled', 'released')`.execute(db);
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>): Promise<void> {
      await sql`drop index incidents_one_open_per_subject`.execute(db);
      await sql`create unique index incidents_one_open_per_subject on incidents (customer_id, subject_key)
                where status not in ('closed', 'cancelled')`.execute(db);
    },
  };
}
