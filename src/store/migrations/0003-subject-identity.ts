import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect';

/**
 * An incident's subject may be an on-premises account the alert names by SID and
 * DOMAIN\sAMAccountName with no UPN (Defender for Identity, issue 11). subject_upn keeps the label
 * people read (the UPN, else DOMAIN\sam, else the SID) and stays the correlation key's source;
 * subject_identity holds every identifier the alert gave and where the customers file placed it
 * (JSON text, null for incidents opened before this migration).
 */
export function subjectIdentity(_dialect: Dialect): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('incidents').addColumn('subject_identity', 'text').execute();
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('incidents').dropColumn('subject_identity').execute();
    },
  };
}
