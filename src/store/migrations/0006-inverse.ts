import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect';

/**
 * Release of a containment (issue 14). A customer's block group and threat feed are shared by its
 * incidents, so each incident that blocks an IP holds it (block_holds, one active row per customer +
 * ip + incident; released rows stay as history); a release takes an IP off only when no other open
 * incident holds it. feed_entries.unblock_claim says who is taking an entry off the devices (the
 * expiry job or a release): set by one conditional update, so the two never both unblock.
 */
export function inverseHolds(dialect: Dialect): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>): Promise<void> {
      const table = dialect === 'postgres'
        ? db.schema.createTable('block_holds').addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
        : db.schema.createTable('block_holds').addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
      await table
        .addColumn('customer_id', 'text', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
        .addColumn('held_at', 'text', (c) => c.notNull())
        .addColumn('released_at', 'text')
        .execute();
      await sql`create unique index block_holds_one_active on block_holds (customer_id, ip, incident_id)
                where released_at is null`.execute(db);
      await db.schema.alterTable('feed_entries').addColumn('unblock_claim', 'text').execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('feed_entries').dropColumn('unblock_claim').execute();
      await db.schema.dropTable('block_holds').ifExists().execute();
    },
  };
}
