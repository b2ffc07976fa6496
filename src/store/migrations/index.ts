import type { Migration, MigrationProvider } from 'kysely';
import type { Dialect } from '../dialect';
import { initialSchema } from './0001-initial';
import { alertIdentityPerCustomer } from './0002-alert-identity-per-customer';
import { subjectIdentity } from './0003-subject-identity';
import { subjectIdentifiersTable } from './0004-subject-identifiers';
import { release } from './0005-release';
import { inverseHolds } from './0006-inverse';
import { sendRates } from './0007-send-rates';
import { actionPriority } from './0008-action-priority';

/**
 * Migrations in code (no file-system scanning, so a bundled build carries them). Names sort in
 * order of application; add `NNNN-name` files and list them here; never edit an applied one.
 */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001-initial': initialSchema(dialect),
    '0002-alert-identity-per-customer': alertIdentityPerCustomer(dialect),
    '0003-subject-identity': subjectIdentity(dialect),
    '0004-subject-identifiers': subjectIdentifiersTable(dialect),
    '0005-release': release(dialect),
    '0006-inverse': inverseHolds(dialect),
    '0007-send-rates': sendRates(dialect),
    '0008-action-priority': actionPriority(dialect),
  };
  return { getMigrations: async () => migrations };
}
