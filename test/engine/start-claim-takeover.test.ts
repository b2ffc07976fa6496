import assert from 'node:assert/strict';
import pino from 'pino';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { DEFAULT_PROCEDURE_FILE, loadProcedure, ProcedureCatalog } from '../../src/engine/procedure';
import type { Store } from '../../src/store/store';
import { withTestStores } from '../support/store-factory';
import { createAlertIncident, Recorder, SkewClock, testActions, testCustomer, testSecrets } from '../support/engine-fixtures';

/**
 * A worker that claimed an incident's start and died before recording it (the storm test's SIGKILL
 * between the two) must not leave the incident unstarted for good: a stale claim is taken over;
 * a fresh one, or one of the older form without a time, is not.
 */
withTestStores((dialect, make) => {
  let store: Store;
  const engines: Engine[] = [];
  const clock = new SkewClock();
  before(async () => { store = await make(); });
  afterEach(async () => { for (const e of engines.splice(0)) await e.stop(); });

  function engine(): Engine {
    const rec = new Recorder();
    const registry = new ActionRegistry(testActions(rec));
    const customer = testCustomer();
    const e = new Engine({
      store, registry, procedures: new ProcedureCatalog(loadProcedure(DEFAULT_PROCEDURE_FILE, registry)),
      customers: (id) => (id === customer.id ? customer : undefined), secrets: testSecrets, clock,
      log: pino({ level: 'silent' }), workerId: `takeover-${dialect}-${engines.length}`, leaseMs: 5_000, autoStart: false,
    });
    engines.push(e);
    return e;
  }
  const started = async (id: string) => (await store.listTimeline(id)).filter((t) => t.kind === 'procedure.started').length;
  const close = async (id: string) => store.updateIncident(id, { status: 'cancelled' });

  it('takes over a start claimed more than a minute ago by a worker that never recorded it, once', async () => {
    const id = await createAlertIncident(store, { upn: `stale.${dialect}.${Date.now()}@contoso.com` });
    await store.casState(`engine:start:${id}`, undefined, `dead-worker ${new Date(clock.now().getTime() - 61_000).toISOString()}`);
    const e = engine();
    await e.startIncident(id);
    await e.startIncident(id);
    assert.ok((await store.getIncident(id))!.procedure, 'the procedure is recorded');
    assert.equal(await started(id), 1, 'started once');
    assert.match((await store.getState(`engine:start:${id}`))!, /^takeover-.* \d{4}-\d\d-\d\dT/);
    await close(id);
  });

  it('leaves a fresh claim, and an old-form claim without a time, to its holder', async () => {
    for (const claim of [`live-worker ${new Date(clock.now().getTime() - 5_000).toISOString()}`, 'old-form-worker']) {
      const id = await createAlertIncident(store, { upn: `fresh.${dialect}.${Date.now()}@contoso.com` });
      await store.casState(`engine:start:${id}`, undefined, claim);
      await engine().startIncident(id);
      assert.equal((await store.getIncident(id))!.procedure, null, `not started under the claim "${claim}"`);
      assert.equal(await started(id), 0);
      assert.equal(await store.getState(`engine:start:${id}`), claim, 'the claim is unchanged');
      await close(id);
    }
  });
});
