import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import { ImmediateSqliteDialect } from '../../src/store/dialect';
import { migrationProvider } from '../../src/store/migrations';
import { openStore } from '../../src/store/open-store';
import type { Database } from '../../src/store/schema';
import { createTestDatabase, type TestDatabase } from '../support/store-factory';

/** A store created before 0002 keeps its alerts, and then keys them by (customer, alert id). */
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`migration 0002 (alert identity per customer) on existing data: ${dialect}`, function () {
    this.timeout(30_000);
    let database: TestDatabase;
    before(async () => { database = await createTestDatabase(dialect); });
    after(async () => { await database?.dispose(); });

    it('keeps the alerts recorded under 0001 and then accepts the same id for another customer', async () => {
      const db = dialect === 'sqlite'
        ? new Kysely<Database>({ dialect: new ImmediateSqliteDialect(new BetterSqlite3(database.url.slice('sqlite:'.length))) })
        : new Kysely<Database>({ dialect: new PostgresDialect({ pool: new Pool({ connectionString: database.url }) }) });
      try {
        const r = await new Migrator({ db, provider: migrationProvider(dialect) }).migrateTo('0001-initial');
        assert.equal(r.error, undefined);
        const now = new Date().toISOString();
        await db.insertInto('incidents').values({
          id: 'IR-20261127-AAAA', customer_id: 'contoso', tenant_id: 't', subject_upn: 'adele@contoso.com', subject_key: 'adele@contoso.com',
          subject_object_id: null, severity: 'high', title: 'x', status: 'open', procedure: null, created_at: now, updated_at: now, closed_at: null, data: '{}',
        }).execute();
        await db.insertInto('alerts').values({ id: 'da-1', customer_id: 'contoso', incident_id: 'IR-20261127-AAAA', received_at: now, source: 'webhook', alert: '{}', raw: '{}' }).execute();
      } finally {
        await db.destroy();
      }

      const store = await openStore(database.url);
      try {
        assert.deepEqual((await store.listAlerts('IR-20261127-AAAA')).map((a) => [a.customerId, a.id]), [['contoso', 'da-1']]);
        const incident = (customerId: string, id: string) => ({
          id, customerId, tenantId: 't', subjectUpn: 'adele@contoso.com', subjectObjectId: null, severity: 'high' as const,
          title: 'x', status: 'open' as const, procedure: null, createdAt: new Date().toISOString(), data: {},
        });
        const alert = (customerId: string) => ({ id: 'da-1', customerId, receivedAt: new Date().toISOString(), source: 'webhook' as const, alert: {}, raw: '{}' });
        const dup = await store.recordAlert({ alert: alert('contoso'), newIncident: incident('contoso', 'IR-20261127-BBBB'), events: () => [] });
        assert.deepEqual(dup, { incidentId: 'IR-20261127-AAAA', created: false, duplicate: true });
        const other = await store.recordAlert({ alert: alert('fabrikam'), newIncident: incident('fabrikam', 'IR-20261127-CCCC'), events: () => [] });
        assert.deepEqual(other, { incidentId: 'IR-20261127-CCCC', created: true, duplicate: false });
      } finally {
        await store.close();
      }
    });
  });
}
