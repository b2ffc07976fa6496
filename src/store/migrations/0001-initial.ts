import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect';

/**
 * The first schema. The same DDL on both dialects except for auto-increment ids and the bytes type.
 * Uniqueness that the exactly-once guarantees rest on lives here, not only in code:
 *   - alerts.id (primary key): an alert is recorded once (per customer since 0002);
 *   - one open incident per customer + subject (partial unique index);
 *   - actions.idempotency_key; approval_votes (approval_id, approver_id);
 *   - timeline (incident_id, seq): two appenders can never write the same link of the chain;
 *   - one active feed entry per customer + ip (partial unique index; removed rows stay as history).
 */
export function initialSchema(dialect: Dialect): Migration {
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const autoId = (db: Kysely<any>, table: string) =>
    dialect === 'postgres'
      ? db.schema.createTable(table).addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
      : db.schema.createTable(table).addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());

  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('incidents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('customer_id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('subject_upn', 'text', (c) => c.notNull())
        .addColumn('subject_key', 'text', (c) => c.notNull())
        .addColumn('subject_object_id', 'text')
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('procedure', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('closed_at', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await sql`create unique index incidents_one_open_per_subject on incidents (customer_id, subject_key)
                where status not in ('closed', 'cancelled')`.execute(db);
      await db.schema.createIndex('incidents_by_created').on('incidents').columns(['created_at']).execute();
      await db.schema.createIndex('incidents_by_customer').on('incidents').columns(['customer_id', 'created_at']).execute();

      await db.schema
        .createTable('alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('customer_id', 'text', (c) => c.notNull())
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('alert', 'text', (c) => c.notNull())
        .addColumn('raw', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alerts_by_incident').on('alerts').columns(['incident_id', 'received_at']).execute();

      await db.schema
        .createTable('timeline_events')
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('source_time', 'text')
        .addColumn('actor', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('timeline_events_pk', ['incident_id', 'seq'])
        .execute();

      await db.schema
        .createTable('actions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
        .addColumn('step_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('input', 'text')
        .addColumn('preview', 'text')
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('not_before', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('actions_by_incident').on('actions').columns(['incident_id', 'created_at']).execute();
      // claimAction scans by status; the few runnable rows are then ordered by creation
      await db.schema.createIndex('actions_by_status').on('actions').columns(['status', 'created_at']).execute();

      await db.schema
        .createTable('approvals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
        .addColumn('action_id', 'text', (c) => c.notNull().references('actions.id'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('required_approvers', 'integer', (c) => c.notNull())
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('decided_at', 'text')
        .addColumn('decided_by', 'text')
        .addColumn('reason', 'text')
        .addColumn('card_activity_id', 'text')
        .execute();
      await db.schema.createIndex('approvals_by_incident').on('approvals').columns(['incident_id', 'requested_at']).execute();
      await db.schema.createIndex('approvals_by_status').on('approvals').columns(['status', 'expires_at']).execute();
      await db.schema.createIndex('approvals_by_action').on('approvals').columns(['action_id']).execute();

      await db.schema
        .createTable('approval_votes')
        .addColumn('approval_id', 'text', (c) => c.notNull().references('approvals.id'))
        .addColumn('approver_id', 'text', (c) => c.notNull())
        .addColumn('approver_name', 'text', (c) => c.notNull())
        .addColumn('vote', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('approval_votes_pk', ['approval_id', 'approver_id'])
        .execute();

      await autoId(db, 'evidence')
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
        .addColumn('action_id', 'text', (c) => c.references('actions.id'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('collected_at', 'text', (c) => c.notNull())
        .addColumn('range_from', 'text')
        .addColumn('range_to', 'text')
        .addColumn('record_count', 'bigint')
        .addColumn('note', 'text')
        .addColumn('sha256', 'text')
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('chunk_count', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('evidence_by_incident').on('evidence').columns(['incident_id', 'id']).execute();

      await db.schema
        .createTable('evidence_chunks')
        .addColumn('evidence_id', 'bigint', (c) => c.notNull().references('evidence.id').onDelete('cascade'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('bytes', bytes, (c) => c.notNull())
        .addPrimaryKeyConstraint('evidence_chunks_pk', ['evidence_id', 'seq'])
        .execute();

      await db.schema
        .createTable('refs')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('state')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await autoId(db, 'feed_entries')
        .addColumn('customer_id', 'text', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('removed_at', 'text')
        .execute();
      await sql`create unique index feed_entries_one_active on feed_entries (customer_id, ip)
                where removed_at is null`.execute(db);
      await db.schema.createIndex('feed_entries_by_expiry').on('feed_entries').columns(['expires_at']).execute();
    },

    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>): Promise<void> {
      for (const t of ['feed_entries', 'state', 'refs', 'evidence_chunks', 'evidence', 'approval_votes', 'approvals',
        'actions', 'timeline_events', 'alerts', 'incidents']) {
        await db.schema.dropTable(t).ifExists().execute();
      }
    },
  };
}
