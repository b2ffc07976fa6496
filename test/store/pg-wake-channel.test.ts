import assert from 'node:assert/strict';
import { Client } from 'pg';
import { openStore } from '../../src/store/open-store';
import type { Store } from '../../src/store/store';
import { createTestDatabase, type TestDatabase } from '../support/store-factory';
import { waitFor } from '../support/bot-world';

describe('store wake-ups (PostgreSQL LISTEN/NOTIFY)', function () {
  this.timeout(30_000);
  let db: TestDatabase;
  let a: Store;
  let b: Store;
  before(async () => {
    db = await createTestDatabase('postgres');
    a = await openStore(db.url);
    b = await openStore(db.url);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await db?.dispose();
  });

  it('a notification from one store reaches the other, and again after its LISTEN connection was killed', async () => {
    const heard: string[] = [];
    const stop = await a.subscribe('irbot_test', (p) => heard.push(p));
    await b.notify('irbot_test', 'one');
    await waitFor('the first wake-up', async () => heard.includes('one'), 5_000);

    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    const killed = await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'teams-ir-bot:listen'");
    await admin.end();
    assert.equal(killed.rowCount, 1, 'the LISTEN connection was terminated');
    // Sent until heard: notifications between the loss and the new LISTEN are lost by design (the poll covers them).
    await waitFor('a wake-up after the reconnect', async () => {
      await b.notify('irbot_test', 'two');
      return heard.includes('two');
    }, 10_000, 200);
    await stop();
  });

  it('refuses a channel name that is not an identifier, and SQLite accepts subscriptions as a no-op', async () => {
    await assert.rejects(b.notify('x; drop table alerts', 'p'), /lower-case identifier/);
    await assert.rejects(a.subscribe('Bad-Channel', () => undefined), /lower-case identifier/);
    const sqlite = await openStore('sqlite::memory:');
    try {
      const stop = await sqlite.subscribe('irbot_test', () => assert.fail('SQLite has no notifications'));
      await sqlite.notify('irbot_test', 'p');
      await stop();
    } finally {
      await sqlite.close();
    }
  });
});
