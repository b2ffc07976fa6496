import assert from 'node:assert/strict';
import { startGraphEmulator, type GraphEmulator } from '../../../src/sandbox/graph/emulator';
import { pollAlertsOnce, pollerKey } from '../../../src/intake/graph-poller';
import { openStore } from '../../../src/store/open-store';
import type { Store } from '../../../src/store/store';
import { CONTOSO } from '../../../src/sandbox/contoso';
import { graphSandboxCustomers } from '../../support/graph-sandbox';

describe('Graph alerts_v2 poller (intake/graph-poller)', () => {
  let emu: GraphEmulator;
  let store: Store;
  let env: ReturnType<typeof graphSandboxCustomers>;
  beforeEach(async () => {
    emu = await startGraphEmulator();
    env = graphSandboxCustomers(emu);
    store = await openStore('sqlite::memory:');
    await store.migrate();
  });
  afterEach(async () => { await store.close(); await emu.close(); });

  const alerts = () => emu.state.tenants.get(CONTOSO.tenantId)!.alerts;
  function addAlert(id: string, lastUpdate: string): void {
    alerts().set(id, { id, status: 'new', severity: 'medium', title: `alert ${id}`, lastUpdateDateTime: lastUpdate, createdDateTime: lastUpdate, evidence: [] });
  }

  it('hands every alert over once across restarts, including alerts updated at exactly the watermark time', async () => {
    const seen: string[] = [];
    const onAlert = async (raw: unknown, customerId: string) => { assert.equal(customerId, 'contoso'); seen.push(String((raw as { id: string }).id)); };
    const run = () => pollAlertsOnce({ customer: env.contoso, secrets: env.secrets, store, onAlert, pageSize: 1 });

    const first = await run();
    assert.equal(first.handed, 3, 'the three story alerts from the last 24 h');
    assert.ok(first.pages >= 3, 'paged with $top=1');
    assert.equal((await run()).handed, 0, 'nothing twice');

    // a new alert at exactly the watermark time, then a later one: a "restart" is just a new call
    const wm = JSON.parse((await store.getState(pollerKey('contoso')))!) as { at: string; ids: string[] };
    addAlert('same-instant', wm.at);
    addAlert('later', new Date(Date.parse(wm.at) + 5000).toISOString());
    const third = await run();
    assert.equal(third.handed, 2);
    assert.equal((await run()).handed, 0);
    assert.equal(new Set(seen).size, seen.length, 'no alert handed twice');
    assert.ok(seen.includes('same-instant') && seen.includes('later'));
  });

  it('a failing intake leaves the watermark where it was: the alert comes again', async () => {
    let fail = true;
    const seen: string[] = [];
    const onAlert = async (raw: unknown) => {
      const id = String((raw as { id: string }).id);
      if (fail && seen.length === 1) throw new Error('intake down');
      seen.push(id);
    };
    await assert.rejects(pollAlertsOnce({ customer: env.contoso, secrets: env.secrets, store, onAlert }), /intake down/);
    fail = false;
    const r = await pollAlertsOnce({ customer: env.contoso, secrets: env.secrets, store, onAlert });
    assert.equal(r.handed, 2);
    assert.equal(seen.length, 3);
    assert.equal(new Set(seen).size, 3);
  });

  it('refuses to move a watermark another poller moved (compare-and-set)', async () => {
    const onAlert = async () => { await store.setState(pollerKey('contoso'), JSON.stringify({ at: new Date().toISOString(), ids: [] })); };
    await assert.rejects(pollAlertsOnce({ customer: env.contoso, secrets: env.secrets, store, onAlert }), /changed by another poller/);
  });
});
