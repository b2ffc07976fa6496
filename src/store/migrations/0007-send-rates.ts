import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect';

/**
 * Teams' rate limits shared by every replica (issue 13 part 4). One row per limiter key (a Teams
 * conversation, or the app in a tenant): `sent` is the JSON array of the epoch milliseconds of the
 * sends granted within the longest window (oldest first), `held_until` the end of a hold a 429's
 * Retry-After put on the key. A send takes its slot by locking the row and appending to it in one
 * transaction, so replicas together never exceed what one would alone.
 */
export function sendRates(_dialect: Dialect): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.createTable('send_rates')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('sent', 'text', (c) => c.notNull())
        .addColumn('held_until', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropTable('send_rates').ifExists().execute();
    },
  };
}
