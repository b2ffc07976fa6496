import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { KyselyStore } from '../../src/store/kysely-store';
import { startProductionApp } from '../support/production-app';
import { createTestDatabase, type TestDatabase } from '../support/store-factory';
import { goodRequest, MALFORMED_KINDS, malformedRequest, send, type StormRequest } from '../support/malformed-alerts';

/**
 * Issue 13, bad input: "a storm of malformed alerts: every one gets its 400 and none slows the good
 * ones". 200 malformed requests of 21 kinds and 20 good alerts, interleaved and all in flight at
 * once, to the whole bot in production mode. (How long the good ones take amid the storm is
 * bench/malformed-storm.ts's to measure; a test never times.)
 */
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`a storm of malformed alerts among good ones (${dialect})`, function () {
    this.timeout(120_000);
    let db: TestDatabase;
    let app: Awaited<ReturnType<typeof startProductionApp>>;
    before(async () => {
      db = await createTestDatabase(dialect);
      app = await startProductionApp({ storeUrl: db.url });
    });
    after(async () => {
      await app?.dispose();
      await db?.dispose();
    });

    it('every malformed one gets its 400 (401, 403, 413, 415 where that is the answer) with a clear error and stores nothing; every good one 202, stored once', async () => {
      const run = Date.now().toString(36);
      const requests: StormRequest[] = [];
      const goodIds: string[] = [];
      for (let i = 0; i < 200; i++) {
        requests.push(malformedRequest(i, app.secrets));
        if (i % 10 === 9) {
          const id = `good-${run}-${goodIds.length}`;
          goodIds.push(id);
          requests.push(goodRequest(id, app.secrets));
        }
      }
      const answers = await Promise.all(requests.map((r) => send(app.base, r)));

      const kindsSeen = new Set<string>();
      const goodIncidents = new Set<string>();
      for (const [i, r] of requests.entries()) {
        const a = answers[i];
        if (!r.expect) {
          assert.equal(a.status, 202, `good alert: ${a.body}`);
          const body = JSON.parse(a.body) as { incidentId: string; created: boolean };
          assert.equal(body.created, true);
          goodIncidents.add(body.incidentId);
          continue;
        }
        kindsSeen.add(r.kind);
        assert.equal(a.status, r.expect.status, `${r.kind}: ${a.body.slice(0, 300)}`);
        const err = (JSON.parse(a.body) as { error: { code: string; message: string; field?: string } }).error;
        assert.equal(err.code, r.expect.code, r.kind);
        if (r.expect.field) assert.equal(err.field, r.expect.field, `${r.kind}: ${err.message}`);
        // clear: says what is wrong, in bounded length, and never echoes a credential
        assert.ok(err.message.length > 10 && err.message.length < 800, `${r.kind}: ${err.message.length} characters`);
        for (const secret of Object.values(app.secrets)) assert.ok(!a.body.includes(secret), `${r.kind} echoes a secret`);
      }
      assert.equal(kindsSeen.size, MALFORMED_KINDS, 'every kind was sent');
      assert.equal(goodIncidents.size, 20, 'one incident per good alert');

      // Stored: exactly the good alerts, each once; no alert of the storm, no spent signature.
      const incidents = await app.store.listIncidents({ limit: 500 });
      const stored = (await Promise.all(incidents.map((inc) => app.store.listAlerts(inc.id)))).flat().map((x) => x.id);
      assert.deepEqual([...stored].sort(), [...goodIds].sort());
      assert.deepEqual(new Set(incidents.map((x) => x.id)), goodIncidents);
      const { rows } = await sql<{ n: number | string }>`select count(*) as n from seen_once`.execute((app.store as KyselyStore).db);
      assert.equal(Number(rows[0].n), 0, 'a signed body that is no alert spends no signature');

      // and the bot still takes alerts afterwards
      const after = await send(app.base, goodRequest(`good-${run}-after`, app.secrets));
      assert.equal(after.status, 202);
    });
  });
}
