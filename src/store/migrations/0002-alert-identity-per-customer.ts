import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect';

/**
 * Alert identity is (customer, alert id): two customers' Defender tenants can carry the same alert
 * id, and one customer must never make another's alert a duplicate (issue 9, item 7). The alerts
 * table's primary key becomes (customer_id, id).
 *
 * Also `seen_once`: single-use values with an expiry (HMAC signatures of alert webhooks), kept in
 * the store so every replica refuses a replay that another replica accepted.
 */
export function alertIdentityPerCustomer(dialect: Dialect): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>): Promise<void> {
      if (dialect === 'postgres') {
        await sql`alter table alerts drop constraint alerts_pkey`.execute(db);
        await sql`alter table alerts add constraint alerts_pkey primary key (customer_id, id)`.execute(db);
      } else {
        // SQLite cannot change a primary key in place: copy into a new table and swap.
        await db.schema
          .createTable('alerts_new')
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('customer_id', 'text', (c) => c.notNull())
          .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
          .addColumn('received_at', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('alert', 'text', (c) => c.notNull())
          .addColumn('raw', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('alerts_pk', ['customer_id', 'id'])
          .execute();
        await sql`insert into alerts_new (id, customer_id, incident_id, received_at, source, alert, raw)
                  select id, customer_id, incident_id, received_at, source, alert, raw from alerts`.execute(db);
        await db.schema.dropTable('alerts').execute();
        await sql`alter table alerts_new rename to alerts`.execute(db);
        await db.schema.createIndex('alerts_by_incident').on('alerts').columns(['incident_id', 'received_at']).execute();
      }

      await db.schema
        .createTable('seen_once')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('seen_once_by_expiry').on('seen_once').columns(['expires_at']).execute();
    },

    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropTable('seen_once').ifExists().execute();
      // Going back to a key on the alert id alone fails if two customers share an alert id: on purpose.
      if (dialect === 'postgres') {
        await sql`alter table alerts drop constraint alerts_pkey`.execute(db);
        await sql`alter table alerts add constraint alerts_pkey primary key (id)`.execute(db);
      }
    },
  };
}
