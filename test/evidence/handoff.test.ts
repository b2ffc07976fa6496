import assert from 'node:assert/strict';
import { parseShifts } from '../../src/config/shifts';
import { customerSchema } from '../../src/config/customers';
import { EnvFileSecretStore } from '../../src/config/secrets';
import { closeIncident, RESOLVE_ALERTS_STEP } from '../../src/evidence/close-incident';
import { alertSourceActions } from '../../src/connectors/alert-source/actions';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { parseProcedure, ProcedureCatalog } from '../../src/engine/procedure';
import type { CustomerConfig } from '../../src/config/customers';
import type { SecretStore } from '../../src/config/secrets';
import pino from 'pino';
import { HANDOFF_STATE_KEY, HandoffScheduler, buildHandoff, type HandoffData } from '../../src/evidence/handoff';
import { renderHandoffCard } from '../../src/bot/render-evidence-cards';
import { CONTOSO } from '../../src/sandbox/contoso';
import { startGraphEmulator, type GraphEmulator } from '../../src/sandbox/graph/emulator';
import type { Store } from '../../src/store/store';
import { graphSandboxCustomers } from '../support/graph-sandbox';
import { uniqueId } from '../support/store-factory';
import { withEvidenceStores } from './helpers';
import { HOSTILE, seedIncident } from './seed-incident';

const alex = { name: 'Alex Wilber', aadObjectId: '00000000-0000-4000-8000-000000000020', upn: 'alexw@msp.example' };
const megan = { name: 'Megan Bowen', aadObjectId: '00000000-0000-4000-8000-000000000021', upn: 'meganb@msp.example' };
const lee = { name: 'Lee Gu', aadObjectId: '00000000-0000-4000-8000-000000000022', upn: 'leeg@msp.example' };
const config = parseShifts({
  timeZone: 'Europe/Lisbon',
  shifts: [{ name: 'early', start: '07:00', analyst: alex }, { name: 'late', start: '15:00', analyst: megan }, { name: 'night', start: '23:00', analyst: lee }],
});

describe('evidence: shift handoff and closing', function () {
  this.timeout(60_000);
  let emu: GraphEmulator;
  before(async () => { emu = await startGraphEmulator({ port: 0 }); });
  after(async () => { await emu?.close(); });

  withEvidenceStores((db) => {
    let store: Store;
    beforeEach(async () => {
      store = await db().make();
      // every test starts from "no handoff posted yet" on this shared database
      const last = await store.getState(HANDOFF_STATE_KEY);
      if (last !== undefined) await store.setState(HANDOFF_STATE_KEY, '');
    });

    function scheduler(posted: HandoffData[], s: Store = store, delayMs = 0) {
      return new HandoffScheduler({
        store: s, config,
        post: async (h) => { if (delayMs) await new Promise((r) => setTimeout(r, delayMs)); posted.push(h); },
        links: { publicBaseUrl: 'https://ir.msp.example', thread: (id) => `https://teams.microsoft.com/l/message/19:x@thread.skype/${id}` },
      });
    }

    it('posts one handoff per shift change, on time, with the incoming analyst to mention', async () => {
      const seeded = await seedIncident(store);
      const posted: HandoffData[] = [];
      const s = scheduler(posted);
      await s.runOnce(new Date('2026-11-27T14:59:00Z')); // the early shift (first run of this database)
      posted.length = 0;
      for (const t of ['2026-11-27T15:00:10Z', '2026-11-27T15:01:00Z', '2026-11-27T16:00:00Z', '2026-11-27T22:59:59Z']) await s.runOnce(new Date(t));
      assert.equal(posted.length, 1);
      const h = posted[0];
      assert.equal(h.shiftKey, '2026-11-27T15:00@Europe/Lisbon');
      assert.equal(h.late, null);
      assert.deepEqual(h.mention, { name: megan.name, aadObjectId: megan.aadObjectId, upn: megan.upn });
      assert.deepEqual(h.outgoing, { name: alex.name, aadObjectId: alex.aadObjectId });
      const inc = h.incidents.find((i) => i.id === seeded.incidentId)!;
      assert.equal(inc.status, 'contained');
      assert.ok(inc.left.includes('No ServiceNow ticket yet'));
      assert.equal(inc.links.thread, `https://teams.microsoft.com/l/message/19:x@thread.skype/${seeded.incidentId}`);
      await s.runOnce(new Date('2026-11-27T23:00:30Z'));
      assert.equal(posted.length, 2);
      assert.equal(posted[1].mention.aadObjectId, lee.aadObjectId);
    });

    it('after a missed change it posts once, late, saying so; several missed changes give one handoff for the current shift', async () => {
      const posted: HandoffData[] = [];
      await store.setState(HANDOFF_STATE_KEY, '2026-11-27T07:00@Europe/Lisbon');
      const s = scheduler(posted);
      await s.runOnce(new Date('2026-11-27T18:00:00Z'));
      await s.runOnce(new Date('2026-11-27T18:01:00Z'));
      assert.equal(posted.length, 1);
      assert.equal(posted[0].shiftKey, '2026-11-27T15:00@Europe/Lisbon');
      assert.equal(posted[0].late?.minutes, 180);
      assert.equal(posted[0].late?.notice, 'Posted 3 h late: the bot was down at 15:00 (Europe/Lisbon).');

      // Down from the early shift of the 28th until the morning of the 29th: 3 changes missed.
      await store.setState(HANDOFF_STATE_KEY, '2026-11-28T07:00@Europe/Lisbon');
      await s.runOnce(new Date('2026-11-29T09:30:00Z'));
      assert.equal(posted.length, 2);
      assert.equal(posted[1].shiftKey, '2026-11-29T07:00@Europe/Lisbon');
      assert.match(posted[1].late!.notice, /^Posted 2 h 30 min late: the bot was down at 07:00 \(Europe\/Lisbon\); 2 earlier shift change\(s\) were missed too/);
    });

    it('two schedulers on two store connections racing the same change post exactly one handoff', async () => {
      const postedA: HandoffData[] = [];
      const postedB: HandoffData[] = [];
      const other = await db().make();
      await store.setState(HANDOFF_STATE_KEY, '2026-11-27T07:00@Europe/Lisbon');
      const a = scheduler(postedA, store, 20);
      const b = scheduler(postedB, other, 20);
      const at = new Date('2026-11-27T15:00:05Z');
      const results = await Promise.all([a.runOnce(at), b.runOnce(at), a.runOnce(at), b.runOnce(at)]);
      assert.equal(postedA.length + postedB.length, 1, JSON.stringify(results));
      assert.equal(results.filter((r) => r.posted).length, 1);
      assert.equal(await other.getState(HANDOFF_STATE_KEY), '2026-11-27T15:00@Europe/Lisbon');
    });

    it('the handoff card escapes incident text and carries the mention data', async () => {
      await seedIncident(store);
      const h = await buildHandoff(store, new Date('2026-11-27T15:00:00Z'), { key: 'k', name: 'late', startsAt: new Date('2026-11-27T15:00:00Z'), localStart: '15:00', localDate: '2026-11-27', timeZone: 'Europe/Lisbon', analyst: megan }, {});
      const card = renderHandoffCard(h);
      const json = JSON.stringify(card);
      assert.equal(card.type, 'AdaptiveCard');
      assert.ok(!json.includes('[click me](javascript'), 'the markdown link is escaped');
      assert.ok(json.includes('\\\\[click me\\\\]'), 'shown with escaped brackets');
      assert.ok(!json.includes('<script>'), 'no raw angle brackets');
      assert.ok(json.includes('<at>Megan Bowen</at>'), 'the mention text the bot pairs with an entity');
      assert.ok(HOSTILE.title.length > 0);
      assert.ok(JSON.stringify(card).length < 80_000);
    });

    it('closing: marks closed with the reason on the timeline, resolves the Defender alert, and returns the summary', async () => {
      const tenant = emu.state.tenants.get(CONTOSO.tenantId.toLowerCase())!;
      const alertId = uniqueId('da');
      tenant.alerts.set(alertId, { ...[...tenant.alerts.values()][0], id: alertId, status: 'inProgress' });
      const seeded = await seedIncident(store, { alertId });
      const g = graphSandboxCustomers(emu);
      const contoso = customerSchema.parse(g.contoso);
      const secrets = new EnvFileSecretStore({ CONTOSO_GRAPH_SECRET: CONTOSO.graphClientSecret, GRAPH_SANDBOX_CA: emu.caPem });
      const engine = closingEngine(store, contoso, secrets);
      const runAdHoc = engine.runAdHoc.bind(engine);
      const r = await closeIncident(store, seeded.incidentId, 'Customer confirmed: attacker locked out, password reset', alex, { customers: () => contoso, runAdHoc });
      assert.equal(r.alreadyClosed, false);
      assert.deepEqual(r.alertsResolved, [alertId]);
      assert.equal(tenant.alerts.get(alertId)!.status, 'resolved');
      const inc = (await store.getIncident(seeded.incidentId))!;
      assert.equal(inc.status, 'closed');
      const tl = await store.listTimeline(seeded.incidentId);
      const closedEv = tl.find((e) => e.kind === 'incident.closed')!;
      assert.equal(closedEv.actor, alex.aadObjectId);
      assert.match(closedEv.summary, /Closed by Alex Wilber: Customer confirmed/);
      // the resolution is an action the engine ran: its row, its evidence, its timeline line
      const action = (await store.getAction(`${seeded.incidentId}:${RESOLVE_ALERTS_STEP}`))!;
      assert.equal(action.name, 'alerts.resolve');
      assert.equal(action.status, 'succeeded');
      assert.ok((await store.listEvidence(seeded.incidentId)).some((e) => e.actionId === action.id && e.source === 'graph.alertUpdate'));
      assert.ok(tl.some((e) => e.kind === 'step.succeeded' && e.summary === `Resolve the alerts on close: 1 alert(s) set to resolved: ${alertId}`));
      assert.match(r.summary, new RegExp(`^${seeded.incidentId} closed by Alex Wilber: Customer confirmed`));
      assert.match(r.summary, /Defender: 1 alert\(s\) set to resolved\./);
      assert.match(r.summary, new RegExp(`chain head ${tl.at(-1)!.hash}`));
      const again = await closeIncident(store, seeded.incidentId, 'again', alex, { customers: () => contoso, runAdHoc });
      assert.equal(again.alreadyClosed, true);
    });
  });
});

/** The engine `@ir close` asks to resolve the alerts (as main.ts wires it), with only that action. */
function closingEngine(store: Store, customer: CustomerConfig, secrets: SecretStore): Engine {
  const registry = new ActionRegistry(alertSourceActions);
  const procedures = new ProcedureCatalog(parseProcedure('name: Close test\nversion: 1\nsteps:\n  - { id: resolve, action: alerts.resolve, with: { alertIds: [x] } }\n', 'test.yaml', registry));
  return new Engine({ store, registry, procedures, secrets, customers: (id) => (id === customer.id ? customer : undefined), log: pino({ level: 'silent' }) });
}
