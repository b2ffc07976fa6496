import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openStore } from '../src/store/open-store';
import type { Store } from '../src/store/store';
import { log } from '../src/log';
import { REPLICAS_KEY, ReplicaVersions } from '../src/replica-versions';
import { startProductionApp } from './support/production-app';
import { createTestDatabase, type TestDatabase } from './support/store-factory';

/**
 * Issue 13, bad input: "a replica started with a different procedure version or schema migration
 * than the others refuses to take work and says why". Replicas share one PostgreSQL database.
 */
describe('replicas on one PostgreSQL: a replica that runs other versions takes no work', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let stores: Store[] = [];
  before(async () => { db = await createTestDatabase('postgres'); });
  afterEach(async () => {
    for (const s of stores) await s.close();
    stores = [];
  });
  after(async () => { await db?.dispose(); });
  const store = async () => { const s = await openStore(db.url, { log }); stores.push(s); return s; };
  const runs = (procedures: string[], migrations = ['0001-initial', '0002-x']) => ({ procedures, migrations });

  it('joins when it runs what the live replicas run; a different procedure set or schema is refused, naming the difference', async () => {
    let now = new Date('2026-12-02T01:00:00Z');
    const clock = () => now;
    const a = new ReplicaVersions({ store: await store(), workerId: 'host-a:1', runs: runs(['acc@2', 'acc@3']), log, now: clock });
    const b = new ReplicaVersions({ store: await store(), workerId: 'host-b:2', runs: runs(['acc@3', 'acc@2']), log, now: clock });
    assert.equal(await a.join(), undefined);
    assert.equal(await b.join(), undefined, 'the same set in another order');

    const newer = new ReplicaVersions({ store: await store(), workerId: 'host-c:3', runs: runs(['acc@2', 'acc@3', 'acc@4']), log, now: clock });
    const refused = await newer.join();
    assert.equal(refused?.reason, 'it runs other procedure versions than a live replica: only here acc@4; only there none');
    assert.match(refused!.otherReplica, /^host-[ab]:/);

    const older = new ReplicaVersions({ store: await store(), workerId: 'host-d:4', runs: runs(['acc@2', 'acc@3'], ['0001-initial']), log, now: clock });
    assert.equal((await older.join())?.reason, "its schema migrations differ from a live replica's: only here none; only there 0002-x");

    const recorded = JSON.parse((await stores[0].getState(REPLICAS_KEY))!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(recorded).sort(), ['host-a:1', 'host-b:2'], 'a refused replica is not recorded');

    // The old replicas stop (or die: their entries age out); the newer one then joins.
    await a.leave();
    now = new Date(now.getTime() + 5 * 60_000);
    assert.equal(await newer.join(), undefined);
    await newer.leave();
    await b.leave();
  });

  it('two app instances on one database: the second, with a procedure of its own, says why on /readyz and takes no alerts or clicks', async () => {
    const first = await startProductionApp({ storeUrl: db.url });
    const other = readFileSync('src/procedures/account-compromise-containment.yaml', 'utf8').replace(/^name: .*$/m, 'name: Contoso containment');
    const second = await startProductionApp({ storeUrl: db.url, contoso: { procedure: 'contoso-procedure.yaml' }, files: { 'contoso-procedure.yaml': other } });
    try {
      const ready1 = await fetch(`${first.base}/readyz`);
      assert.equal(ready1.status, 200);
      const ready2 = await fetch(`${second.base}/readyz`);
      assert.equal(ready2.status, 503);
      const body = (await ready2.json()) as { status: string; error: string };
      assert.equal(body.status, 'not ready');
      assert.match(body.error, /^this replica takes no work: it runs other procedure versions than a live replica: only here Contoso containment@3; only there none$/);
      assert.doesNotMatch(body.error, /:\d+:/, 'no host name or pid on the unauthenticated probe');

      const alert = await fetch(`${second.base}/api/alerts`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${second.secrets.contosoToken}` }, body: '{}' });
      assert.equal(alert.status, 503);
      assert.equal(alert.headers.get('retry-after'), '5');
      assert.equal(((await alert.json()) as { error: { code: string } }).error.code, 'replica_refuses_work');
      const click = await fetch(`${second.base}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: JSON.stringify({ type: 'invoke' }) });
      assert.equal(click.status, 503);
    } finally {
      await second.dispose();
      await first.dispose();
    }
  });
});
