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
import { createIdentityActions, type IdentityContainOutput } from '../../src/connectors/identity/actions';
import type { ContainManyOutput } from '../../src/connectors/storm/identity-many';
import { createEvidenceActions } from '../../src/evidence/actions';
import { actionPorts } from '../../src/operations/action-ports';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { ProcedureCatalog } from '../../src/engine/procedure';
import { IntakeService } from '../../src/intake/intake-service';
import { isStormSubject } from '../../src/intake/storm';
import { readFindings } from '../../src/domain/incident-findings';
import { loadSnapshot } from '../../src/bot/incident-snapshot';
import { renderApprovalCard, renderTimelineCard } from '../../src/bot/render-cards';
import type { CustomerConfig } from '../../src/config/customers';
import type { ActionDef } from '../../src/connectors/types';
import type { Store } from '../../src/store/store';
import { cardText } from '../support/adaptive-card-check';
import { graphActionContext, graphSandboxCustomers } from '../support/graph-sandbox';
import { uniqueId, withTestStores } from '../support/store-factory';

/**
 * The storm procedure (issue 13 part 4) through the engine, with the real identity connectors
 * against the Graph emulator: a password spray of 30 accounts is one incident with ONE approval
 * card for their containment (with the count), one click contains them all (each disabled once,
 * revoked once), a failing account is named and does not stop the others, accounts that join after
 * the card get one further approval, and a storm account cannot approve.
 */
const quiet = pino({ level: 'silent' });
const fixture = () => JSON.parse(readFileSync('test/fixtures/graph/alert-impossible-travel.json', 'utf8')) as Record<string, unknown> & { evidence: Array<Record<string, unknown>> };
const ALL = { kind: 'all' } as never;
/** an approver of Contoso whose own account is one of the storm's (user7) */
const STORM_MEMBER = { aadObjectId: '00000000-0000-4000-8000-0000000000a7', name: 'User Seven' };
const APPROVER = { aadObjectId: '00000000-0000-4000-8000-000000000020', name: 'Alex Approver' };

function upnOf(run: string, n: number): string {
  return `user${n}.${run}@contoso.com`;
}

function alertFor(run: string, n: number): Record<string, unknown> {
  const a = fixture();
  a.id = `${run}-u${n}`;
  a.detectorId = `PasswordSpray-${run}`;
  const ev = a.evidence[0] as { userAccount: Record<string, unknown> };
  ev.userAccount = { ...ev.userAccount, accountName: `user${n}`, userPrincipalName: upnOf(run, n), azureAdUserId: null, userSid: null };
  return a;
}

function emulatorUser(run: string, n: number): EmulatorUser {
  const id = n === 7 ? STORM_MEMBER.aadObjectId : `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`;
  return {
    id, userPrincipalName: upnOf(run, n), displayName: `User ${n}`, mail: upnOf(run, n), accountEnabled: true,
    signInSessionsValidFromDateTime: '2025-01-01T00:00:00Z', lastPasswordChangeDateTime: '2025-01-01T00:00:00Z',
    passwordProfile: null, roles: n === 3 ? ['Global Administrator'] : [], groups: [],
  };
}

withTestStores((dialect, make) => {
  describe(`storm procedure through the engine (${dialect})`, function () {
    this.timeout(120_000);
    let emu: GraphEmulator;
    let store: Store;
    let engine: Engine;
    let intake: IntakeService;
    let customer: CustomerConfig;
    let registry: ActionRegistry;
    let secrets: ReturnType<typeof graphSandboxCustomers>['secrets'];
    const run = uniqueId('spray').replace(/-/g, '').slice(0, 20);

    before(async () => {
      emu = await startGraphEmulator();
      const env = graphSandboxCustomers(emu);
      secrets = env.secrets;
      customer = { ...env.contoso, storm: { enabled: true, minUsers: 2, windowMinutes: 10 }, approvers: { ...env.contoso.approvers, objectIds: [APPROVER.aadObjectId, STORM_MEMBER.aadObjectId] } };
      const tenant = emu.state.tenants.get(CONTOSO.tenantId.toLowerCase())!;
      for (let n = 0; n < 34; n++) { const u = emulatorUser(run, n); tenant.users.set(u.id, u); }
      store = await make();
      registry = new ActionRegistry(
        graphActions, radiusActions, createFirewallActions(), switchActions, threatFeedActions, alertSourceActions, serviceNowActions, activeDirectoryActions,
        createIdentityActions({ adActions: activeDirectoryActions, graph: graphActions }),
        createEvidenceActions({ store, customers: (id) => (id === customer.id ? customer : undefined) }),
      );
      const procedures = ProcedureCatalog.load({ registry, customers: [customer] });
      engine = new Engine({ store, registry, procedures, secrets, log: quiet, customers: (id) => (id === customer.id ? customer : undefined), ports: actionPorts(store), retry: { maxAttempts: 1 }, workerId: `storm-${dialect}` });
      intake = new IntakeService({ store, customerByTenant: (t) => (t.toLowerCase() === customer.tenantId.toLowerCase() ? customer : undefined), onIncidentCreated: (id) => { void engine.startIncident(id); }, log: quiet });
    });
    const def0 = () => registry.get('identity.containMany')!;
    after(async () => {
      await engine?.stop();
      await emu?.close();
    });

    it('30 accounts: one incident, one approval with the count, a storm account refused, one click contains all but the failing one, later accounts get one further approval', async () => {
      // user0 opens a single incident (below the threshold of 2); users 1..30 are the storm
      const [single] = await intake.receive(alertFor(run, 0), 'webhook', ALL);
      await store.updateIncident(single.incidentId, { status: 'cancelled' });
      // user13's disable is refused by Graph: that account fails, the others go on
      emu.injectFault(`PATCH /users/${upnOf(run, 13)}`, { status: 403 });
      const results = [];
      for (let n = 1; n <= 30; n++) results.push(...(await intake.receive(alertFor(run, n), 'webhook', ALL)));
      const stormIds = new Set(results.map((r) => r.incidentId));
      assert.equal(stormIds.size, 1, 'one storm incident for the 30 accounts');
      const stormId = [...stormIds][0];
      const incident = (await store.getIncident(stormId))!;
      assert.ok(isStormSubject(incident.subjectUpn));
      await engine.startIncident(stormId);
      await engine.settle();

      assert.equal((await store.getIncident(stormId))!.procedure, 'Storm containment@2');
      const resolved = (await store.getAction(`${stormId}:storm-accounts`))!;
      assert.equal(resolved.status, 'succeeded', String(resolved.error));
      assert.match(String(resolved.result?.summary), /^Resolved 30 of 30 accounts \(30 cloud\); privileged: user3\./);
      // no RADIUS and no firewall at this customer: those steps are skipped with the reason, not failed
      assert.equal((await store.getAction(`${stormId}:storm-disconnect`))!.status, 'skipped');
      assert.equal((await store.getAction(`${stormId}:firewall-block`))!.status, 'skipped');

      const pending = await store.listApprovals({ incidentId: stormId, status: 'pending' });
      assert.equal(pending.length, 1, 'one approval for the containment of every account');
      const action = (await store.getAction(`${stormId}:storm-contain`))!;
      assert.equal(action.status, 'awaiting_approval');
      const preview = action.preview as { title: string; changes: string[]; warnings: string[] };
      assert.equal(preview.title, 'Contain 30 accounts at Contoso');
      assert.equal(preview.changes.length, 30);
      assert.ok(preview.warnings.some((w) => w.startsWith('1 privileged account: user3.') && w.includes('Global Administrator')), preview.warnings.join('\n'));
      const card = cardText(renderApprovalCard({ approval: pending[0], incident: (await store.getIncident(stormId))!, customerName: 'Contoso', action }));
      assert.ok(card.includes('Contain 30 accounts at Contoso'), card);
      assert.ok(card.includes('What will change (30)'), card);
      for (const n of [1, 2, 3]) assert.ok(card.includes(upnOf(run, n)), `the card lists ${upnOf(run, n)}`);

      // a storm account may not approve the storm's containment, even as a listed approver
      const refused = await engine.decide({ approvalId: pending[0].id, vote: 'approve', clicker: STORM_MEMBER });
      assert.equal(refused.ok, false);
      assert.equal((refused as { code: string }).code, 'subject');
      assert.match((refused as { reason: string }).reason, new RegExp(`one of the accounts of the storm .*user7\\.${run}`));

      // another customer's approver (not listed for Contoso) is refused as for any incident
      const stranger = await engine.decide({ approvalId: pending[0].id, vote: 'approve', clicker: { aadObjectId: '00000000-0000-4000-8000-0000000000ff', name: 'Fabrikam Approver' } });
      assert.equal((stranger as { code?: string }).code, 'not-approver');
      assert.equal((await store.getApproval(pending[0].id))!.status, 'pending', 'the refusals changed nothing');

      // three more accounts join while the card is out: looked up at once, not covered by it
      for (let n = 31; n <= 33; n++) await intake.receive(alertFor(run, n), 'webhook', ALL);
      await engine.settle();
      assert.equal((await store.getAction(`${stormId}:storm-accounts-2`))!.status, 'succeeded');
      assert.equal(await store.getAction(`${stormId}:storm-contain-2`), undefined, 'no second card while the first is undecided');
      let text = cardText(renderTimelineCard((await loadSnapshot(store, stormId, () => 'Contoso'))!));
      assert.ok(text.includes('3 accounts joined after the approval: not covered'), text);

      const ok = await engine.decide({ approvalId: pending[0].id, vote: 'approve', clicker: APPROVER });
      assert.equal(ok.ok, true, JSON.stringify(ok));
      await engine.settle();
      const contained = (await store.getAction(`${stormId}:storm-contain`))!;
      assert.equal(contained.status, 'succeeded', String(contained.error));
      const out = contained.result!.output as ContainManyOutput;
      assert.equal(out.contained, 29);
      assert.equal(out.failed, 1);
      assert.equal(out.accounts.find((a) => a.status === 'failed')!.label, upnOf(run, 13));
      assert.match(String(contained.result!.summary), new RegExp(`^contained 29 of 30 .*; 1 not: user13\\.${run}@contoso\\.com \\(`));

      // the further round: ONE approval for exactly the three late accounts
      const round2 = (await store.getAction(`${stormId}:storm-contain-2`))!;
      assert.equal(round2.status, 'awaiting_approval');
      assert.deepEqual((round2.input!.accounts as Array<{ label: string }>).map((a) => a.label), [31, 32, 33].map((n) => upnOf(run, n)));
      assert.equal((round2.preview as { title: string }).title, 'Contain the 3 accounts that joined the storm after the last approval');
      const p2 = (await store.listApprovals({ incidentId: stormId, status: 'pending' })).filter((p) => p.actionId === round2.id);
      assert.equal(p2.length, 1);
      assert.equal((await engine.decide({ approvalId: p2[0].id, vote: 'approve', clicker: APPROVER })).ok, true);
      await engine.settle();
      assert.equal((await store.getAction(round2.id))!.status, 'succeeded');

      // at the emulator: every account but user13 disabled exactly once and revoked exactly once
      const tenant = emu.state.tenants.get(CONTOSO.tenantId.toLowerCase())!;
      for (let n = 1; n <= 33; n++) {
        const u = [...tenant.users.values()].find((x) => x.userPrincipalName === upnOf(run, n))!;
        const disables = emu.state.requests.filter((r) => r.method === 'PATCH' && r.path === `/users/${upnOf(run, n)}` && r.status < 300 && (r.body as { accountEnabled?: boolean })?.accountEnabled === false).length;
        const revokes = emu.state.revocations.filter((r) => r.userId === u.id).length;
        if (n === 13) {
          assert.equal(u.accountEnabled, true);
          assert.equal(disables, 0);
        } else {
          assert.equal(u.accountEnabled, false, `user${n} disabled`);
          assert.equal(disables, 1, `user${n} disabled once`);
          assert.equal(revokes, 1, `user${n} revoked once`);
        }
      }

      // the card: the count, the failing account and the command that finishes it
      const f = readFindings((await store.getIncident(stormId))!.data);
      assert.equal(f.stormContained?.length, 33);
      assert.equal(f.stormResolved?.length, 33);
      text = cardText(renderTimelineCard((await loadSnapshot(store, stormId, () => 'Contoso'))!));
      assert.ok(text.includes('Contained 32 of 33 accounts; 1 not'), text);
      assert.ok(text.includes(`@ir contain ${upnOf(run, 13)} contoso — not contained`), text);
      assert.ok(!text.includes('joined after the approval'), 'every account is covered now');

      // the follow-through (Storm containment@2): no ServiceNow here, so the ticket is skipped with the
      // reason; the storm's CISO email waits on its draft card (test/engine/storm-ticket-email.test.ts
      // sends one); discarded here, as a release waits for every step to end
      assert.match(String((await store.getAction(`${stormId}:ir-ticket`))!.error), /has no ServiceNow instance configured/);
      const draft = (await store.listApprovals({ incidentId: stormId, status: 'pending' })).filter((p) => p.actionId === `${stormId}:notify-ciso`);
      assert.equal(draft.length, 1, 'one CISO email draft for the storm');
      assert.equal((await engine.decide({ approvalId: draft[0].id, vote: 'reject', clicker: APPROVER, reason: 'told them by phone' })).ok, true);
      await engine.settle();

      // a release undoes both rounds, each its own undo; user13 (never contained) is named as nothing to undo
      const rel = await engine.requestRelease({ incidentId: stormId, reason: 'false positive', by: APPROVER });
      assert.ok(rel.ok, JSON.stringify(rel));
      const items = rel.plan.items.filter((i) => i.kind === 'inverse') as Array<{ stepId: string; accounts?: number; notChanged: Array<{ item: string; reason: string }> }>;
      assert.deepEqual(items.map((i) => [i.stepId, i.accounts]), [['storm-contain-2', 3], ['storm-contain', 29]]);
      assert.ok(items[1].notChanged.some((n) => n.item === upnOf(run, 13) && /^its containment failed, nothing to undo \(/.test(n.reason)));
      const relAp = (await store.listApprovals({ incidentId: stormId, status: 'pending' })).find((p) => p.actionId === `${stormId}:release`)!;
      assert.equal((await engine.decide({ approvalId: relAp.id, vote: 'reject', clicker: APPROVER, reason: 'not yet' })).ok, true);

      // its release's undo takes every contained account (issue 14: the inverse input parses with identity.releaseMany's schema)
      const decl = registry.get('identity.containMany')!.inverse as { action: string; input(i: unknown, o: unknown): Record<string, unknown> };
      const releaseIn = registry.get(decl.action)!.input.parse(decl.input(def0().input.parse(contained.input), out)) as { accounts: Array<{ label: string; enable: boolean; dismissRisk: boolean }> };
      assert.equal(releaseIn.accounts.length, 29);
      assert.ok(releaseIn.accounts.every((a) => a.enable && a.dismissRisk));

      // a crash after the containment ran, before it was recorded: the re-run (mayHaveRun) re-reads
      // each account and changes none of them again
      const def = registry.get('identity.containMany') as ActionDef<unknown, ContainManyOutput>;
      const approvedAt = (await store.listApprovals({ incidentId: stormId, status: 'approved' })).find((p) => p.actionId === contained.id)!.decidedAt!;
      const writes = () => emu.state.requests.filter((r) => r.method !== 'GET' && r.status < 300).length;
      const before = { writes: writes(), revocations: emu.state.revocations.length };
      const again = await def.run(def.input.parse(contained.input), graphActionContext(customer, secrets, { idempotencyKey: contained.idempotencyKey, mayHaveRun: true, intentAt: new Date(approvedAt) }));
      assert.equal(emu.state.revocations.length, before.revocations, 'no account revoked twice');
      assert.equal(writes(), before.writes, 'no account disabled, reset or confirmed twice');
      assert.equal(again.output.contained, 29);
      for (const a of again.output.accounts.filter((x) => x.status === 'contained')) assert.deepEqual(a.changed, [], `${a.label} changed again`);
      const steps = (again.output.accounts[0].steps ?? []) as IdentityContainOutput['steps'];
      assert.ok(steps.some((s) => s.step === 'disable' && !s.changed && s.skippedBecause === 'the account is already disabled'));
    });
  });
});
