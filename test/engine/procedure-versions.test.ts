import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { DEFAULT_PROCEDURE_FILE, loadProcedure, ProcedureCatalog, ProcedureError } from '../../src/engine/procedure';
import type { Store } from '../../src/store/store';
import { withTestStores } from '../support/store-factory';
import { ALEX, createAlertIncident, Recorder, SkewClock, testActions, testCustomer, testSecrets } from '../support/engine-fixtures';

// the shipped default is version N (V1 here); the test releases N+1 (V2) beside it
const CURRENT = Number(/^version: (\d+)$/m.exec(readFileSync(DEFAULT_PROCEDURE_FILE, 'utf8'))![1]);
const V1 = `Account compromise containment@${CURRENT}`;
const V2 = `Account compromise containment@${CURRENT + 1}`;
const V1_LOOKUP = 'Look up the account in Entra and Active Directory';
const V2_LOOKUP = 'Look up the account and its manager in Entra and Active Directory';

/** The default procedure as version N+1 (the lookup retitled), with version N kept in versions/. */
function bumpedProcedures(dir: string, keepV1: boolean): string {
  const text = readFileSync(DEFAULT_PROCEDURE_FILE, 'utf8');
  const file = path.join(dir, 'account-compromise-containment.yaml');
  writeFileSync(file, text.replace(/^version: \d+$/m, `version: ${CURRENT + 1}`).replace(`title: ${V1_LOOKUP}`, `title: ${V2_LOOKUP}`));
  if (keepV1) {
    mkdirSync(path.join(dir, 'versions'));
    copyFileSync(DEFAULT_PROCEDURE_FILE, path.join(dir, 'versions', `account-compromise-containment@${CURRENT}.yaml`));
  }
  return file;
}

describe('procedure versions: the catalog', () => {
  const registry = new ActionRegistry(testActions(new Recorder()));
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'irbot-proc-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the earlier versions from versions/ by name@version; new incidents get the current file', () => {
    const cat = ProcedureCatalog.load({ registry, customers: [testCustomer()], defaultFile: bumpedProcedures(dir, true) });
    assert.equal(cat.forCustomer(testCustomer().id).ref, V2);
    assert.equal(cat.get(V1)?.steps[0].title, V1_LOOKUP);
    assert.equal(cat.get(V2)?.steps[0].title, V2_LOOKUP);
    assert.deepEqual(cat.refs().sort(), [V1, V2]);
  });

  it('without versions/ the old version is not loadable (its incidents would stop): only the current one is', () => {
    const cat = ProcedureCatalog.load({ registry, customers: [testCustomer()], defaultFile: bumpedProcedures(dir, false) });
    assert.equal(cat.get(V1), undefined);
    assert.deepEqual(cat.refs(), [V2]);
  });

  it('refuses an earlier version that redefines the current name@version differently', () => {
    const file = bumpedProcedures(dir, true);
    // someone changed the steps but left the version alone
    writeFileSync(path.join(dir, 'versions', 'stale.yaml'), readFileSync(file, 'utf8').replace(`title: ${V2_LOOKUP}`, 'title: Something else'));
    assert.throws(() => ProcedureCatalog.load({ registry, customers: [testCustomer()], defaultFile: file }),
      (e: Error) => e instanceof ProcedureError && e.message.includes(`${V2} is also defined differently`) && e.message.includes('stale.yaml'));
  });

  it('the shipped catalog keeps versions 1 (before the switch and firewall-rule steps) and 2 beside the current one', () => {
    // the fake registry has no storm actions: the storm procedure is validated in test/engine/storm-procedure.test.ts
    const cat = ProcedureCatalog.load({ registry, customers: [testCustomer()], stormFile: null });
    assert.equal(cat.forCustomer(testCustomer().id).ref, V1);
    const first = cat.get('Account compromise containment@1');
    assert.ok(first, `loaded: ${cat.refs().join(', ')}`);
    assert.equal(first.steps.some((s) => s.id === 'switch-ports' || s.id === 'firewall-rule'), false);
    assert.ok(cat.get('Account compromise containment@2'), `version 2 (before the identity, switch-containment and release changes) stays loadable: ${cat.refs().join(', ')}`);
    assert.deepEqual(cat.get(V1)?.steps.filter((s) => s.id === 'switch-ports' || s.id === 'firewall-rule').map((s) => s.id), ['switch-ports', 'firewall-rule']);
  });

  it('names the file when an earlier version does not validate', () => {
    const file = bumpedProcedures(dir, true);
    writeFileSync(path.join(dir, 'versions', 'broken.yaml'), 'name: x\nversion: 0\nsteps:\n  - { id: a, action: entra.nukeUser }\n');
    assert.throws(() => ProcedureCatalog.load({ registry, customers: [testCustomer()], defaultFile: file }),
      (e: Error) => e instanceof ProcedureError && e.message.includes('broken.yaml') && /unknown action "entra\.nukeUser"/.test(e.message));
  });
});

withTestStores((dialect, make) => {
  let store: Store;
  let dir: string;
  const engines: Engine[] = [];
  before(async () => { store = await make(); });
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'irbot-proc-')); });
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const customer = testCustomer();
  function engine(procedures: ProcedureCatalog, registry: ActionRegistry): Engine {
    const e = new Engine({
      store, registry, procedures, customers: (id) => (id === customer.id ? customer : undefined), secrets: testSecrets,
      clock: new SkewClock(), log: pino({ level: 'silent' }), workerId: `versions-${dialect}-${engines.length}`,
    });
    engines.push(e);
    return e;
  }
  /** Approves whatever waits for approval until the incident has nothing left to decide. */
  async function approveToTheEnd(e: Engine, incidentId: string): Promise<void> {
    for (let i = 0; i < 10; i++) {
      await e.settle();
      const pending = await store.listApprovals({ incidentId, status: 'pending' });
      if (!pending.length) return;
      for (const p of pending) assert.equal((await e.decide({ approvalId: p.id, vote: 'approve', clicker: ALEX })).ok, true);
    }
    assert.fail('the incident kept asking for approvals');
  }

  it('an incident started on version N completes on version N after the bump, while a new incident runs version N+1', async () => {
    const registry = new ActionRegistry(testActions(new Recorder()));
    const before = engine(new ProcedureCatalog(loadProcedure(DEFAULT_PROCEDURE_FILE, registry)), registry);
    const inFlight = await createAlertIncident(store);
    await before.startIncident(inFlight);
    await before.settle();
    assert.equal((await store.getIncident(inFlight))!.procedure, V1);
    assert.ok((await store.listApprovals({ incidentId: inFlight, status: 'pending' })).length > 0, 'v1 incident waits for approval across the bump');
    await before.stop();

    // The release of version N+1: a new process with the new file and version N kept in versions/.
    const after = engine(ProcedureCatalog.load({ registry, customers: [customer], defaultFile: bumpedProcedures(dir, true) }), registry);
    await approveToTheEnd(after, inFlight);
    const done = (await store.getIncident(inFlight))!;
    assert.equal(done.procedure, V1, 'the incident keeps the version it started on');
    assert.equal(done.status, 'contained');
    const steps = done.data.steps as Record<string, { title: string; status: string }>;
    assert.equal(steps['entra-lookup'].title, V1_LOOKUP);
    // every step ended: all succeeded but the switch ports and their containment, the ticket and the feed listing (this customer has no switch, no ServiceNow, no threat feed)
    assert.deepEqual(Object.entries(steps).filter(([, s]) => s.status !== 'succeeded').map(([id, s]) => `${id} ${s.status}`), ['switch-ports skipped', 'switch-contain skipped', 'threat-feed skipped', 'ir-ticket skipped']);
    assert.equal((await store.listTimeline(inFlight)).filter((t) => t.kind === 'step.failed').length, 0);

    const fresh = await createAlertIncident(store);
    await after.startIncident(fresh);
    await after.settle();
    const next = (await store.getIncident(fresh))!;
    assert.equal(next.procedure, V2);
    assert.equal((next.data.steps as Record<string, { title: string }>)['entra-lookup'].title, V2_LOOKUP);
    await store.updateIncident(fresh, { status: 'cancelled' });
  });
});
