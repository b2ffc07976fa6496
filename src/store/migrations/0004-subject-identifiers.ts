import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect';
import { subjectIdentifiers } from '../../domain/subject-identity';

/**
 * One open incident per identity (issue 11 part 4): an account named by its SID in one alert, by
 * its UPN in another and by DOMAIN\sAMAccountName in a third is one subject. subject_identifiers
 * holds every identifier known for an incident's subject (`sid:…`, `upn:…`, `sam:dom\name`,
 * src/domain/subject-identity.ts subjectIdentifiers): the alert's at intake, the lookup's once it
 * has resolved the account in Entra and AD. An alert whose identifiers meet an open incident's
 * joins it. Rows stay after the incident closes (the history of what the account was called);
 * only open incidents are matched. Existing incidents get the identifiers their row already holds.
 */
export function subjectIdentifiersTable(_dialect: Dialect): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('subject_identifiers')
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
        .addColumn('customer_id', 'text', (c) => c.notNull())
        .addColumn('identifier', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('subject_identifiers_pk', ['incident_id', 'identifier'])
        .execute();
      await db.schema.createIndex('subject_identifiers_by_identifier').on('subject_identifiers').columns(['customer_id', 'identifier']).execute();

      const rows = await db.selectFrom('incidents').select(['id', 'customer_id', 'subject_upn', 'subject_object_id', 'subject_identity', 'created_at']).execute();
      for (const r of rows as Array<{ id: string; customer_id: string; subject_upn: string; subject_object_id: string | null; subject_identity: string | null; created_at: string }>) {
        let identity: Record<string, unknown> = {};
        try { identity = r.subject_identity ? JSON.parse(r.subject_identity) as Record<string, unknown> : {}; } catch { /* unreadable: the UPN and object id still count */ }
        const str = (v: unknown) => (typeof v === 'string' ? v : null);
        const keys = subjectIdentifiers({
          upn: str(identity.upn) ?? (r.subject_upn.includes('@') ? r.subject_upn : null),
          objectId: str(identity.objectId) ?? r.subject_object_id,
          sid: str(identity.sid), samAccountName: str(identity.samAccountName), netbios: str(identity.netbios),
        });
        if (keys.length === 0) continue;
        await db.insertInto('subject_identifiers')
          .values(keys.map((identifier) => ({ incident_id: r.id, customer_id: r.customer_id, identifier, added_at: r.created_at })))
          .execute();
      }
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropTable('subject_identifiers').execute();
    },
  };
}
