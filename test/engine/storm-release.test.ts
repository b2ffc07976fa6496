import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { startGraphEmulator, type GraphEmulator } from '../../src/sandbox/graph/emulator';
import type { EmulatorUser } from '../../src/sandbox/graph/state';
import { CONTOSO } from '../../src/sandbox/contoso';
import { graphActions } from '../../src/connectors/graph/actions';
import { radiusActions } from '../../src/connectors/radius/actions';
import { createFirewallActions } from '../../src/connectors/firewall/actions';
import { switchActions } from '../../src/connectors/switch';
import { threatFeedActions } from '../../src/connectors/threat-feed';
import { alertSourceActions } from '../../src/connectors/alert-source/actions';
import { serviceNowActions } from '../../src/connectors/servicenow/actions';
import { activeDirectoryActions } from '../../src/connectors/active-directory/actions';
import { createIdentityActions } from '../../src/connectors/identity/actions';
import type { ReleaseManyOutput } from '../../src/connectors/storm/identity-many';
import { createEvidenceActions } from '../../src/evidence/actions';
import { actionPorts } from '../../src/operations/action-ports';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { ProcedureCatalog } from '../../src/engine/procedure';
import type { PlanItem } from '../../src/engine/release-plan';
import { IntakeService } from '../../src/intake/intake-service';
import { renderReleaseCard } from '../../src/bot/render-release-card';
import { generateReport } from '../../src/evidence/report';
import { verifyChain } from '../../src/domain/timeline-hash';
import type { CustomerConfig } from '../../src/config/customers';
import type { ActionDef } from '../../src/connectors/types';
import type { Store } from '../../src/store/store';
import { adaptiveCardProblems, cardText } from '../support/adaptive-card-check';
import { graphActionContext, graphSandboxCustomers } from '../support/graph-sandbox';
import { uniqueId, withTestStores } from '../support/store-factory';

/**
 * Releasing a storm whose further containment rounds ran (issue 14 with issue 13 part 4): ONE
 * release card lists every round's accounts, one click releases them all (identity.releaseMany per
 * round, each its own row and idempotency key), with the real identity connectors against the
 * Graph emulator: every account enabled once, a re-run changes nothing. A round still waiting for
 * its approval refuses the release; a round that contained nothing, and an account whose
 * containment failed, are named on the card as nothing to undo; an account the release cannot
 * enable does not stop the others and is what the release says is left.
 */
const quiet = pino({ level: 'silent' });
const fixture = () => JSON.parse(readFileSync('test/fixtures/graph/alert-impossible-travel.json', 'utf8')) as Record<string, unknown> & { evidence: Array<Record<string, unknown>> };
const ALL = { kind: 'all' } as never;
const APPROVER = { aadObjectId: '00000000-0000-4000-8000-000000000020', name: 'Alex Approver' };

const upnOf = (run: string, n: number) => `user${n}.${run}@contoso.com`;

/** The storm's alert for user n, raised in the emulator's Defender too (the release classifies it there). */
function alertFor(run: string, n: number): Record<string, unknown> {
  const a = fixture();
  a.id = `${run}-u${n}`;
  a.detectorId = `PasswordSpray-${run}`;
  const ev = a.evidence[0] as { userAccount: Record<string, unknown> };
  ev.userAccount = { ...ev.userAccount, accountName: `user${n}`, userPrincipalName: upnOf(run, n), azureAdUserId: null, userSid: null };
  raised.get(CONTOSO.tenantId.toLowerCase())?.alerts.set(String(a.id), { ...a, comments: [] });
  return a;
}
let raised: Map<string, { alerts: Map<string, Record<string, unknown>> }> = new Map();

function emulatorUser(run: string, n: number, k: number): EmulatorUser {
  return {
    id: `00000000-0000-4000-9${String(k).padStart(3, '0')}-${String(n).padStart(12, '0')}`, userPrincipalName: upnOf(run, n), displayName: `User ${n}`, mail: upnOf(run, n), accountEnabled: true,
    signInSessionsValidFromDateTime: '2025-01-01T00:00:00Z', lastPasswordChangeDateTime: '2025-01-01T00:00:00Z', passwordProfile: null, roles: [], groups: [],
  };
}

withTestStores((dialect, make) => {
  describe(`storm release across containment rounds (${dialect})`, function () {
    this.timeout(180_000);
    let emu: GraphEmulator;
    let store: Store;
    let engine: Engine;
    let intake: IntakeService;
    let customer: CustomerConfig;
    let registry: ActionRegistry;
    let secrets: ReturnType<typeof graphSandboxCustomers>['secrets'];
    let runs = 0;

    before(async () => {
      emu = await startGraphEmulator();
      raised = emu.state.tenants;
      const env = graphSandboxCustomers(emu);
      secrets = env.secrets;
      customer = { ...env.contoso, storm: { enabled: true, minUsers: 2, windowMinutes: 10 }, approvers: { ...env.contoso.approvers, objectIds: [APPROVER.aadObjectId] } };
      store = await make();
      registry = new ActionRegistry(
        graphActions, radiusActions, createFirewallActions(), switchActions, threatFeedActions, alertSourceActions, serviceNowActions, activeDirectoryActions,
        createIdentityActions({ adActions: activeDirectoryActions, graph: graphActions }),
        createEvidenceActions({ store, customers: (id) => (id === customer.id ? customer : undefined) }),
      );
      const procedures = ProcedureCatalog.load({ registry, customers: [customer] });
      engine = new Engine({ store, registry, procedures, secrets, log: quiet, customers: (id) => (id === customer.id ? customer : undefined), ports: actionPorts(store), retry: { maxAttempts: 1 }, workerId: `storm-release-${dialect}` });
      intake = new IntakeService({ store, customerByTenant: (t) => (t.toLowerCase() === customer.tenantId.toLowerCase() ? customer : undefined), onIncidentCreated: (id) => { void engine.startIncident(id); }, log: quiet });
    });
    after(async () => {
      await engine?.stop();
      await emu?.close();
    });
    afterEach(() => emu.clearFaults());

    const tenant = () => emu.state.tenants.get(CONTOSO.tenantId.toLowerCase())!;
    const user = (run: string, n: number) => [...tenant().users.values()].find((x) => x.userPrincipalName === upnOf(run, n))!;
    const patches = (run: string, n: number, enabled: boolean) => emu.state.requests.filter((r) => r.method === 'PATCH' && r.path === `/users/${upnOf(run, n)}` && r.status < 300 && (r.body as { accountEnabled?: boolean })?.accountEnabled === enabled).length;
    const writes = () => emu.state.requests.filter((r) => r.method !== 'GET' && r.status < 300).length;
    const pendingFor = async (id: string, actionId: string) => (await store.listApprovals({ incidentId: id, status: 'pending' })).filter((p) => p.actionId === actionId);
    const approve = async (id: string, actionId: string) => {
      const [p] = await pendingFor(id, actionId);
      assert.ok(p, `${actionId} has a pending approval`);
      const r = await engine.decide({ approvalId: p.id, vote: 'approve', clicker: APPROVER });
      assert.equal(r.ok, true, JSON.stringify(r));
      await engine.settle();
      return p;
    };

    /** A storm of users 1..first, then `late` more joining while its first card is out; both rounds' cards are left to the test. */
    async function storm(first: number, late: number, opts: { failContain?: number } = {}): Promise<{ run: string; id: string }> {
      const run = `${uniqueId('rel').replace(/-/g, '').slice(0, 16)}${runs++}`;
      for (let n = 0; n <= first + late + 2; n++) { const u = emulatorUser(run, n, runs); tenant().users.set(u.id, u); }
      // user0 opens a single incident (below the threshold of 2); the others are the storm
      const [single] = await intake.receive(alertFor(run, 0), 'webhook', ALL);
      await store.updateIncident(single.incidentId, { status: 'cancelled' });
      if (opts.failContain) emu.injectFault(`PATCH /users/${upnOf(run, opts.failContain)}`, { status: 403 });
      const ids = new Set<string>();
      for (let n = 1; n <= first; n++) for (const r of await intake.receive(alertFor(run, n), 'webhook', ALL)) ids.add(r.incidentId);
      assert.equal(ids.size, 1, 'one storm incident');
      const id = [...ids][0];
      await engine.startIncident(id);
      await engine.settle();
      assert.equal((await store.getAction(`${id}:storm-contain`))!.status, 'awaiting_approval');
      for (let n = first + 1; n <= first + late; n++) await intake.receive(alertFor(run, n), 'webhook', ALL);
      await engine.settle();
      assert.equal((await store.getAction(`${id}:storm-accounts-2`))!.status, 'succeeded');
      await approve(id, `${id}:storm-contain`);
      emu.clearFaults();
      assert.equal((await store.getAction(`${id}:storm-contain-2`))!.status, 'awaiting_approval');
      return { run, id };
    }

    /** Storm containment@2 ends with the CISO email's draft card; a release waits for every step to end, so it is discarded first. */
    async function discardCisoDraft(id: string) {
      for (const p of (await store.listApprovals({ incidentId: id, status: 'pending' })).filter((a) => a.actionId === `${id}:notify-ciso`)) {
        assert.equal((await engine.decide({ approvalId: p.id, vote: 'reject', clicker: APPROVER, reason: 'told them by phone' })).ok, true);
      }
      await engine.settle();
    }

    it('12 + 3 late accounts, both rounds contained: ONE card lists both rounds, one click enables all 15 once each, a re-run writes nothing', async () => {
      const { run, id } = await storm(12, 3);
      await approve(id, `${id}:storm-contain-2`);
      assert.equal((await store.getAction(`${id}:storm-contain-2`))!.status, 'succeeded');
      assert.equal((await store.getIncident(id))!.status, 'contained');
      for (let n = 1; n <= 15; n++) assert.equal(user(run, n).accountEnabled, false, `user${n} contained`);

      await discardCisoDraft(id);
      const r = await engine.requestRelease({ incidentId: id, reason: 'a misfiring detector', by: APPROVER });
      assert.ok(r.ok, JSON.stringify(r));
      const gate = (await store.getAction(`${id}:release`))!;
      const plan = (gate.input as { plan: PlanItem[] }).plan;
      // the later round first (the reverse of the order they ran in), each its own undo
      assert.deepEqual(plan.filter((i) => i.kind === 'inverse').map((i) => [i.stepId, (i as { accounts?: number }).accounts]), [['storm-contain-2', 3], ['storm-contain', 12]]);
      const [ap] = await pendingFor(id, gate.id);
      assert.equal((await store.listApprovals({ incidentId: id, status: 'pending' })).length, 1, 'one approval for the whole release');
      const card = renderReleaseCard({ approval: ap, incident: (await store.getIncident(id))!, action: gate, customerName: 'Contoso' });
      assert.deepEqual(adaptiveCardProblems(card), []);
      const text = cardText(card);
      assert.ok(text.includes("Contain the storm's accounts where they live — 12 accounts to release"), text);
      assert.ok(text.includes('Contain the 3 accounts that joined the storm (round 2) — 3 accounts to release'), text);
      for (const n of [1, 2, 13, 15]) assert.ok(text.includes(`${upnOf(run, n)}: Enable ${upnOf(run, n)} in Entra`), `the card names user${n}`);
      const choice = (card.body as Array<{ id?: string; choices?: Array<{ value: string }>; value?: string }>).find((b) => b.id === 'selected')!;
      assert.equal(choice.value, 'storm-contain-2,storm-contain', 'every round ticked');

      // an account joining while the release waits is looked up, and no further containment card is asked
      await intake.receive(alertFor(run, 16), 'webhook', ALL);
      await engine.settle();
      assert.equal((await store.getAction(`${id}:storm-accounts-3`))!.status, 'succeeded');
      assert.equal(await store.getAction(`${id}:storm-contain-3`), undefined, 'no containment round while a release is asked');
      // a round's card asked at the same moment as the release (a replica that read the store just
      // before the release row was written): withdrawn on the next pass, never run
      const late = ((await store.getAction(`${id}:storm-accounts-3`))!.result!.output as { accounts: unknown[] }).accounts;
      await store.ensureActions([{ id: `${id}:storm-contain-3`, incidentId: id, stepId: 'storm-contain-3', name: 'identity.containMany', status: 'waiting', idempotencyKey: `${id}:storm-contain-3`, input: { accounts: late } as Record<string, unknown> }]);
      await engine.settle();
      const raced = (await store.getAction(`${id}:storm-contain-3`))!;
      assert.equal(raced.status, 'cancelled');
      assert.match(String(raced.error), /a release of the storm was asked/);

      const before = writes();
      await approve(id, gate.id);
      const inc = (await store.getIncident(id))!;
      assert.equal(inc.status, 'released', JSON.stringify(await store.listTimeline(id)).slice(-800));
      for (const step of ['release-storm-contain', 'release-storm-contain-2']) {
        const row = (await store.getAction(`${id}:${step}`))!;
        assert.equal(row.status, 'succeeded', String(row.error));
        assert.equal(row.idempotencyKey, `${id}:${step}`, 'each round its own key');
      }
      assert.match(String((await store.getAction(`${id}:release-storm-contain`))!.result?.summary), /^released 12 of 12/);
      assert.match(String((await store.getAction(`${id}:release-storm-contain-2`))!.result?.summary), /^released 3 of 3/);
      for (let n = 1; n <= 15; n++) {
        assert.equal(user(run, n).accountEnabled, true, `user${n} enabled`);
        assert.equal(patches(run, n, true), 1, `user${n} enabled exactly once`);
        assert.equal(tenant().riskyUsers.get(user(run, n).id)?.riskState, 'dismissed', `user${n}'s confirmed risk dismissed`);
      }
      assert.equal(patches(run, 16, false), 0, 'the account that joined during the release was never contained');
      // every storm alert classified a false positive in Defender, once
      const classified = (await store.listAlerts(id)).map((a) => tenant().alerts.get(a.id));
      assert.equal(classified.length, 16, 'every alert of the storm when the release was approved, user16\'s too');
      assert.ok(classified.every((a) => a?.classification === 'falsePositive'), 'classified');
      // 15 enables, 15 risk dismissals, and per alert one classification and one comment
      assert.equal(writes() - before, 30 + 2 * 16);

      // the same click again, and a re-run of each round's undo after a crash (mayHaveRun): nothing written
      const again = await engine.decide({ approvalId: ap.id, vote: 'approve', clicker: APPROVER });
      assert.equal(again.ok, false);
      await engine.settle();
      const after = writes();
      const def = registry.get('identity.releaseMany') as ActionDef<unknown, ReleaseManyOutput>;
      for (const step of ['release-storm-contain', 'release-storm-contain-2']) {
        const row = (await store.getAction(`${id}:${step}`))!;
        const rerun = await def.run(def.input.parse(row.input), graphActionContext(customer, secrets, { idempotencyKey: row.idempotencyKey, mayHaveRun: true }));
        assert.ok(rerun.output.accounts.every((a) => a.status === 'released' && (a.steps ?? []).every((s) => !s.changed)), `${step}: nothing changed again`);
      }
      assert.equal(writes(), after, 'a re-run writes nothing');
      assert.deepEqual(verifyChain(await store.listTimeline(id)), { ok: true });
      let md = '';
      for await (const piece of generateReport(store, id, { customers: () => customer, now: new Date() })) md += piece;
      const section = md.slice(md.indexOf('## Release'));
      for (const step of ['release-storm-contain', 'release-storm-contain-2']) {
        const line = section.split('\n').find((l) => l.startsWith(`| \`${step}\` |`));
        assert.ok(line && line.includes('succeeded') && /released \d+ of \d+/.test(line), `the report's release section lists ${step}: ${section.slice(0, 1500)}`);
      }
    });

    it('a round still awaiting its approval refuses the release; once rejected, the card names it and a failed account as nothing to undo; an account the release cannot enable is what is left, and a retry finishes it', async () => {
      const { run, id } = await storm(12, 3, { failContain: 5 });
      const contained = (await store.getAction(`${id}:storm-contain`))!;
      assert.match(String(contained.result?.summary), /^contained 11 of 12/);

      // refused with the reason while storm-contain-2 waits for its approval; nothing changed
      await discardCisoDraft(id);
      const refused = await engine.requestRelease({ incidentId: id, reason: 'false positive', by: APPROVER });
      assert.equal(refused.ok, false);
      assert.equal((refused as { code: string }).code, 'still-running');
      assert.match((refused as { reason: string }).reason, /further containment round that has not ended \(storm-contain-2 awaiting_approval\): approve or reject it first/);
      assert.equal(await store.getAction(`${id}:release`), undefined);
      assert.equal((await store.getAction(`${id}:storm-contain-2`))!.status, 'awaiting_approval', 'the round\'s card is still out');

      const [p2] = await pendingFor(id, `${id}:storm-contain-2`);
      assert.equal((await engine.decide({ approvalId: p2.id, vote: 'reject', clicker: APPROVER, reason: 'false positive' })).ok, true);
      await engine.settle();
      const r = await engine.requestRelease({ incidentId: id, reason: 'false positive', by: APPROVER });
      assert.ok(r.ok, JSON.stringify(r));
      const gate = (await store.getAction(`${id}:release`))!;
      const [ap] = await pendingFor(id, gate.id);
      const text = cardText(renderReleaseCard({ approval: ap, incident: (await store.getIncident(id))!, action: gate, customerName: 'Contoso' }));
      assert.ok(text.includes("Contain the storm's accounts where they live — 11 accounts to release"), text);
      assert.match(text, new RegExp(`${upnOf(run, 5).replace(/\./g, '\\.')}: its containment failed, nothing to undo \\(`));
      assert.ok(text.includes('Contain the 3 accounts that joined the storm (round 2): rejected'), text);
      assert.ok(text.includes('its 3 accounts were not contained, nothing to undo'), text);

      // user7 cannot be enabled: the others are, and the release says what is left
      emu.injectFault(`PATCH /users/${upnOf(run, 7)}`, { status: 403 });
      await approve(id, gate.id);
      let inc = (await store.getIncident(id))!;
      assert.equal(inc.status, 'releasing', 'not complete while an account is left');
      const row = (await store.getAction(`${id}:release-storm-contain`))!;
      assert.equal(row.status, 'succeeded');
      assert.match(String(row.result?.summary), new RegExp(`^released 10 of 11; 1 not: user7\\.${run}`));
      const incomplete = (await store.listTimeline(id)).filter((e) => e.kind === 'release.incomplete').at(-1)!;
      assert.match(incomplete.summary, new RegExp(`release-storm-contain left 1 account not released: user7\\.${run}@contoso\\.com \\(`));
      for (let n = 1; n <= 12; n++) {
        if (n === 5 || n === 7) continue;
        assert.equal(user(run, n).accountEnabled, true, `user${n} enabled`);
      }
      assert.equal(user(run, 5).accountEnabled, true, 'user5 was never disabled');
      assert.equal(patches(run, 5, true), 0, 'nothing to undo for user5');
      assert.equal(user(run, 7).accountEnabled, false);
      for (const n of [13, 14, 15]) assert.equal(patches(run, n, true) + patches(run, n, false), 0, `user${n} (rejected round) untouched`);

      // the device answers again: a retry of that undo enables user7 and re-writes nobody else
      emu.clearFaults();
      const retried = await engine.retry(id, 'release-storm-contain', APPROVER);
      assert.equal(retried.ok, true, JSON.stringify(retried));
      await engine.settle();
      inc = (await store.getIncident(id))!;
      assert.equal(inc.status, 'released');
      assert.equal(user(run, 7).accountEnabled, true);
      for (let n = 1; n <= 12; n++) if (n !== 5) assert.equal(patches(run, n, true), 1, `user${n} enabled exactly once`);
    });
  });
});
