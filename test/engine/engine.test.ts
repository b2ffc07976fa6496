import assert from 'node:assert/strict';
import { readFindings } from '../../src/domain/incident-findings';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine, type EngineDeps } from '../../src/engine/engine';
import { parseProcedure, ProcedureCatalog } from '../../src/engine/procedure';
import { verifyChain } from '../../src/domain/timeline-hash';
import type { Refusal } from '../../src/engine/results';
import { refusalText, timelineText } from '../../src/bot/refusal-text';
import { CONTOSO } from '../../src/sandbox/contoso';
import type { Store } from '../../src/store/store';
import { withTestStores } from '../support/store-factory';
import { ADELE, ALEX, APPROVERS, createAlertIncident, MEGAN, Recorder, RecordingNotifier, SkewClock, stopEnginesAndCancelLive, testActions, testCustomer, testEngine } from '../support/engine-fixtures';

const SCOPE = ['identity.resolve', 'entra.signIns', 'entra.directoryAudits', 'm365.auditSearch', 'radius.accounting', 'firewall.vpnSessions'];

withTestStores((dialect, make) => {
  let store: Store;
  let engines: Engine[] = [];
  let rec: Recorder;
  let clock: SkewClock;
  let notifier: RecordingNotifier;

  before(async () => {
    store = await make();
  });

  beforeEach(() => {
    rec = new Recorder();
    clock = new SkewClock();
    notifier = new RecordingNotifier();
  });

  afterEach(() => stopEnginesAndCancelLive(store, engines));

  function engine(over: Partial<EngineDeps> & { customer?: ReturnType<typeof testCustomer>; procedureText?: string } = {}): Engine {
    const { procedureText, ...rest } = over;
    const registry = over.registry ?? new ActionRegistry(testActions(rec));
    const e = testEngine(store, registry, {
      ...(procedureText ? { procedures: new ProcedureCatalog(parseProcedure(procedureText, 'test.yaml', registry)) } : {}),
      notifier, clock, workerId: `test-${dialect}-${engines.length}`,
      ...rest,
    });
    engines.push(e);
    return e;
  }

  async function statusOf(incidentId: string): Promise<Record<string, string>> {
    return Object.fromEntries((await store.listActions(incidentId)).map((a) => [a.stepId, a.status]));
  }
  async function pendingApproval(incidentId: string, stepId: string) {
    const a = (await store.listApprovals({ incidentId, status: 'pending' })).find((x) => x.actionId === `${incidentId}:${stepId}`);
    assert.ok(a, `a pending approval for ${stepId}`);
    return a;
  }
  async function timeline(incidentId: string) {
    const t = await store.listTimeline(incidentId);
    assert.equal(verifyChain(t).ok, true, 'the timeline hash chain verifies');
    return t;
  }

  it('runs the scope steps in parallel, then waits for approval before any destructive call', async () => {
    // Each scope call waits until all six have started: they overlap only if the engine runs them together.
    for (const name of SCOPE) rec.behaviour[name] = { barrier: SCOPE.length };
    const e = engine();
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    await e.settle();

    const scope = rec.calls.filter((c) => SCOPE.includes(c.name));
    assert.deepEqual(scope.map((c) => c.name).sort(), [...SCOPE].sort());
    // the lookup first (it finds the UPN an on-premises alert may not carry), then the other five
    // overlap: every one started before the first of them ended
    const lookup = scope.find((c) => c.name === 'identity.resolve')!;
    const rest = scope.filter((c) => c !== lookup);
    assert.ok(rest.every((c) => c.start >= lookup.end), 'the scope waits for the lookup');
    assert.ok(Math.max(...rest.map((c) => c.start)) <= Math.min(...rest.map((c) => c.end)), 'the five other scope calls overlapped');

    assert.deepEqual(await statusOf(id), {
      'entra-lookup': 'succeeded', 'entra-signins': 'succeeded', 'entra-audits': 'succeeded', 'm365-audit': 'succeeded',
      'radius-accounting': 'succeeded', 'firewall-vpn': 'succeeded', 'firewall-rule': 'succeeded',
      // after the sign-ins (their deviceDetail)
      'account-devices': 'succeeded',
      // this customer has no access switch in the customers file
      'switch-ports': 'skipped', 'switch-contain': 'skipped',
      'entra-contain': 'awaiting_approval', 'radius-disconnect': 'awaiting_approval', 'firewall-block': 'awaiting_approval',
      // the follow-through waits for containment to end
      'threat-feed': 'waiting', 'forensic-report': 'waiting', 'ir-ticket': 'waiting', 'notify-ciso': 'waiting',
    });
    assert.equal(rec.calls.filter((c) => ['identity.contain', 'radius.disconnect', 'firewall.block'].includes(c.name)).length, 0);

    const inc = (await store.getIncident(id))!;
    assert.equal(inc.procedure, 'Account compromise containment@3');
    assert.equal(inc.subjectObjectId, CONTOSO.adele.objectId, 'lookup filled the subject object id');
    assert.equal(inc.data.signIns24h, 14);
    const findings = readFindings(inc.data);
    assert.deepEqual(findings.unreadable, [], 'every recorded finding reads with its expected shape');
    assert.deepEqual(findings.impossibleTravel!.map((t) => `${t.from.city} (${t.from.country}) → ${t.to.city} (${t.to.country})`), ['Lisbon (PT) → Singapore (SG)']);
    assert.deepEqual(findings.countries, ['PT', 'SG']);
    assert.equal(inc.data.directoryAudits6h, 2);
    assert.equal(inc.data.sensitiveOperations6h, 3);
    assert.equal(inc.data.sessionsFound, 2);
    assert.equal(inc.data.vpnSessionsFound, 1);
    assert.equal((inc.data.steps as Record<string, { status: string }>)['entra-contain'].status, 'awaiting_approval');

    // the approval card's preview is stored with the step
    const contain = (await store.getAction(`${id}:entra-contain`))!;
    assert.equal((contain.preview as { title: string }).title, `Contain ${inc.subjectUpn} in Entra`);
    assert.equal(notifier.requested.filter((a) => a.incidentId === id).length, 3);

    // evidence: one raw payload per scope step that ran (the lookup, six scope steps, the devices; the skipped switch step has none), linked to its action
    const ev = await store.listEvidence(id);
    assert.equal(ev.length, 8);
    assert.ok(ev.every((x) => x.actionId?.startsWith(`${id}:`)));
    const t = await timeline(id);
    assert.ok(t.some((x) => x.kind === 'step.skipped' && x.summary === 'Switch port of each RADIUS session: skipped (Contoso has no access switch configured (customers file: switches))'),
      t.filter((x) => x.kind === 'step.skipped').map((x) => x.summary).join(' | '));
    const signins = t.find((x) => x.kind === 'step.succeeded' && x.summary.startsWith('Sign-ins'));
    assert.equal(signins?.source, 'entra');
    assert.equal(signins?.sourceTime, '2026-11-27T03:01:00Z');
    assert.ok(t.some((x) => x.kind === 'finding.ipSelection' && x.summary.includes('203.0.113.7') && x.summary.includes('inside Contoso egress 198.51.100.0/24')));
  });

  it('blocks only the attacker IP: egress and private addresses are left out, with the reason', async () => {
    const e = engine();
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    await e.settle();
    const block = (await store.getAction(`${id}:firewall-block`))!;
    assert.deepEqual((block.input as { ips: string[] }).ips, [CONTOSO.attackerIp]);
    const sel = (await store.getIncident(id))!.data.ipSelection as { notBlocked: Array<{ ip: string; reason: string }> };
    assert.deepEqual(sel.notBlocked.map((n) => n.ip).sort(), ['10.1.2.3', CONTOSO.lisbonIp].sort());
  });

  it('ten concurrent approvals run the destructive action exactly once; the incident becomes contained', async () => {
    const e = engine();
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    await e.settle();
    const ap = await pendingApproval(id, 'entra-contain');
    const results = await Promise.all(APPROVERS.map((clicker) => e.decide({ approvalId: ap.id, vote: 'approve', clicker })));
    const ok = results.filter((r) => r.ok);
    assert.equal(ok.length, 1, 'exactly one vote decides');
    for (const r of results.filter((x) => !x.ok)) assert.match((r as { reason: string }).reason, /^already approved by Approver \d+ at \d\d:\d\d UTC$/);
    assert.equal((await store.getIncident(id))!.status, 'containing');
    await e.settle();
    assert.equal(rec.callsOf('identity.contain', id).length, 1);
    assert.equal((await store.getAction(`${id}:entra-contain`))!.status, 'succeeded');

    for (const step of ['radius-disconnect', 'firewall-block']) {
      const r = await e.decide({ approvalId: (await pendingApproval(id, step)).id, vote: 'approve', clicker: ALEX });
      assert.equal(r.ok, true);
    }
    await e.settle();
    const inc = (await store.getIncident(id))!;
    assert.equal(inc.status, 'contained');
    assert.equal(inc.data.sessionsDisconnected, 2);
    assert.deepEqual(inc.data.ipsBlocked, [CONTOSO.attackerIp]);
    assert.equal(inc.data.vpnSessionsRevoked, 1);
    const t = await timeline(id);
    assert.equal(t.filter((x) => x.kind === 'approval.refused').length, 9, 'every refused click is on the timeline');
    assert.ok(t.some((x) => x.kind === 'incident.contained'));
  });

  it('refuses a non-approver and the subject, and says so on the timeline', async () => {
    const e = engine();
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    await e.settle();
    const ap = await pendingApproval(id, 'entra-contain');

    const megan = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: MEGAN });
    assert.deepEqual(megan, { ok: false, code: 'not-approver', reason: 'Megan Bowen is not an approver for Contoso', params: { incidentId: id, stepId: 'entra-contain' } });
    // Adele is in the approvers list, but she is the subject (object id from the lookup step)
    const adele = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: ADELE });
    assert.equal(adele.ok, false);
    assert.match((adele as { reason: string }).reason, /Adele Vance is the subject of .*own account/);
    // ... and by UPN when the object id differs (a second account of hers would not pass either)
    const inc = (await store.getIncident(id))!;
    const byUpn = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: { aadObjectId: APPROVERS[0].aadObjectId, name: 'Adele (other device)', upn: inc.subjectUpn.toUpperCase() } });
    assert.equal(byUpn.ok, false);
    const forged = await e.decide({ approvalId: 'not-a-real-approval', vote: 'approve', clicker: ALEX });
    assert.equal(forged.ok, false);
    assert.match((forged as { reason: string }).reason, /not known/);

    await e.settle();
    assert.equal(rec.callsOf('identity.contain', id).length, 0);
    assert.equal((await store.getAction(`${id}:entra-contain`))!.status, 'awaiting_approval');
    const refused = (await timeline(id)).filter((x) => x.kind === 'approval.refused');
    assert.equal(refused.length, 3);
    assert.match(refused[0].summary, /Megan Bowen tried to approve entra-contain: refused \(Megan Bowen is not an approver for Contoso\)/);
    assert.equal(refused[0].actor, MEGAN.aadObjectId);
  });

  it('an account the lookup found only in AD (no Entra user) can be approved; one placed elsewhere without an object id cannot', async () => {
    // identity.resolve as the real one answers for CONTOSO\\svc-backup (in AD only) and, for the
    // second incident, for an account it placed as synced but without an object id
    const resolveAs = (placement: string) => new ActionRegistry(testActions(rec).map((d) => (d.name !== 'identity.resolve' ? d : {
      ...d,
      async run(i: { subject: string }) {
        const output = { placement, upn: i.subject, sid: 'S-1-5-21-1-2-3-1190', domain: 'CONTOSO', objectId: null, userPrincipalName: null, displayName: 'Backup service', accountEnabled: true, directoryRoles: [], privilegedRoles: ['Backup Operators (AD)'] };
        return { output, summary: `CONTOSO\\svc-backup is ${placement}`, raw: [] };
      },
    })));
    const onPrem = engine({ registry: resolveAs('onPremises') });
    const id = await createAlertIncident(store);
    await onPrem.startIncident(id);
    await onPrem.settle();
    assert.equal(readFindings((await store.getIncident(id))!.data).subjectPlacement, 'onPremises');
    assert.equal((await store.getIncident(id))!.subjectObjectId, null);
    const r = await onPrem.decide({ approvalId: (await pendingApproval(id, 'entra-contain')).id, vote: 'approve', clicker: ALEX });
    assert.equal(r.ok, true, JSON.stringify(r));
    await onPrem.settle();
    assert.equal((await store.getAction(`${id}:entra-contain`))!.status, 'succeeded');
    await onPrem.stop();
    engines.splice(engines.indexOf(onPrem), 1);

    const synced = engine({ registry: resolveAs('synced') });
    const other = await createAlertIncident(store);
    await synced.startIncident(other);
    await synced.settle();
    const refused = await synced.decide({ approvalId: (await pendingApproval(other, 'entra-contain')).id, vote: 'approve', clicker: ALEX });
    assert.equal((refused as Refusal).code, 'subject-unknown');
    assert.equal((await store.getAction(`${other}:entra-contain`))!.status, 'awaiting_approval');
  });

  it('a rejection skips the dependents with the reason; independent branches continue', async () => {
    const text = `
name: Reject test
version: 1
steps:
  - { id: lookup, action: identity.resolve, with: { subject: { from: incident.subjectUpn } } }
  - { id: signins, action: entra.signIns, with: { upn: { from: incident.subjectUpn }, hours: 24 } }
  - id: contain
    action: identity.contain
    needs: [lookup, signins]
    with: { placement: cloud, upn: { from: incident.subjectUpn } }
  - { id: after-contain, action: m365.auditSearch, needs: [contain], with: { upn: { from: incident.subjectUpn }, hours: 6 } }
  - { id: audits, action: entra.directoryAudits, needs: [lookup], with: { upn: { from: incident.subjectUpn }, hours: 6 } }
`;
    const e = engine({ procedureText: text });
    // This procedure records no object id: the alert's (azureAdUserId) lets the vote be taken.
    const id = await createAlertIncident(store, { subjectObjectId: CONTOSO.adele.objectId });
    await e.startIncident(id);
    await e.settle();
    const r = await e.decide({ approvalId: (await pendingApproval(id, 'contain')).id, vote: 'reject', clicker: ALEX, reason: 'travelling, confirmed by phone' });
    assert.equal(r.ok, true);
    await e.settle();
    assert.deepEqual(await statusOf(id), { lookup: 'succeeded', signins: 'succeeded', contain: 'rejected', 'after-contain': 'skipped', audits: 'succeeded' });
    const skipped = (await store.getAction(`${id}:after-contain`))!;
    assert.equal(skipped.error, 'skipped: contain is rejected');
    assert.ok((await timeline(id)).some((x) => x.kind === 'step.skipped' && x.summary.includes('contain is rejected')));
    assert.equal(rec.callsOf('identity.contain', id).length, 0);
    assert.equal(rec.callsOf('m365.auditSearch', id).length, 0);
    const again = await e.decide({ approvalId: (await store.listApprovals({ incidentId: id }))[0].id, vote: 'approve', clicker: APPROVERS[1] });
    assert.match((again as { reason: string }).reason, /^already rejected by Alex Wilber at \d\d:\d\d UTC \(travelling, confirmed by phone\)$/);
  });

  it('an approval expires; the old card explains how to retry; retry asks again and the step runs', async () => {
    const e = engine({ approvalTtlMs: 60 * 60_000 });
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    await e.settle();
    const old = await pendingApproval(id, 'entra-contain');
    clock.advance(61 * 60_000);
    await e.tick();
    assert.equal((await store.getAction(`${id}:entra-contain`))!.status, 'expired');
    const late = await e.decide({ approvalId: old.id, vote: 'approve', clicker: ALEX });
    assert.equal(late.ok, false);
    // the engine says what happened; the bot adds the command with its configured name
    assert.equal((late as Refusal).code, 'expired');
    assert.match((late as Refusal).reason, /^this request expired at .*UTC$/);
    assert.match(refusalText(late as Refusal, 'ir'), new RegExp(`^this request expired at .*UTC; ask for a new one with @ir retry ${id} entra-contain$`));
    const expired = (await timeline(id)).find((x) => x.kind === 'step.expired');
    assert.ok(expired && !expired.summary.includes('@'), 'no chat syntax on the timeline');
    assert.match(timelineText(expired, id, 'soc'), new RegExp(`ask for a new approval with @soc retry ${id} entra-contain$`));

    const megan = await e.retry(id, 'entra-contain', MEGAN);
    assert.equal(megan.ok, false, 'only approvers may retry');
    const retried = await e.retry(id, 'entra-contain', ALEX);
    assert.equal(retried.ok, true);
    await e.settle();
    const fresh = await pendingApproval(id, 'entra-contain');
    assert.notEqual(fresh.id, old.id);
    assert.equal((await e.decide({ approvalId: fresh.id, vote: 'approve', clicker: ALEX })).ok, true);
    await e.settle();
    assert.equal(rec.callsOf('identity.contain', id).length, 1);
  });

  it('a failed step skips its dependents, independents continue, and retry resumes them', async () => {
    rec.behaviour['entra.signIns'] = { fail: 'Graph answered 403: AuditLog.Read.All is not granted to the app' };
    const e = engine();
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    await e.settle();
    const s = await statusOf(id);
    assert.equal(s['entra-signins'], 'failed');
    assert.equal(s['entra-contain'], 'skipped');
    assert.equal(s['account-devices'], 'skipped', 'the devices step needs the sign-ins');
    assert.equal(s['radius-disconnect'], 'awaiting_approval');
    assert.equal(s['firewall-block'], 'awaiting_approval');
    const failed = (await store.getAction(`${id}:entra-signins`))!;
    assert.match(failed.error!, /AuditLog.Read.All is not granted/);
    const failedEvent = (await timeline(id)).find((x) => x.kind === 'step.failed' && x.data.step === 'entra-signins');
    assert.ok(failedEvent && !failedEvent.summary.includes('@'), 'the timeline stores the failure without chat syntax');
    assert.ok(timelineText(failedEvent, id, 'ir').endsWith(`; @ir retry ${id} entra-signins to try again`), 'the bot shows how to retry');

    delete rec.behaviour['entra.signIns'];
    const r = await e.retry(id, 'entra-signins', ALEX);
    assert.deepEqual(r, { ok: true, message: 'entra-signins will be tried again; account-devices, entra-contain wait for it again' });
    await e.settle();
    const after = await statusOf(id);
    assert.equal(after['entra-signins'], 'succeeded');
    assert.equal(after['entra-contain'], 'awaiting_approval');
    assert.equal(after['account-devices'], 'succeeded');
  });

  it('the lookup\'s identifiers join a later alert naming the account as DOMAIN\\sam to the open incident (issue 11)', async () => {
    const e = engine();
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    await e.settle();
    const inc = (await store.getIncident(id))!;
    const sam = inc.subjectUpn.split('@')[0].slice(0, 20);
    assert.deepEqual(await store.listSubjectIdentifiers(id), [`sam:contoso\\${sam}`, `upn:${inc.subjectUpn}`]);
    assert.deepEqual(readFindings(inc.data).subjectIdentifiers, [`upn:${inc.subjectUpn}`, `sam:contoso\\${sam}`]);
    const alertId = `da-${sam}-2`;
    const r = await store.recordAlert({
      alert: { id: alertId, customerId: inc.customerId, receivedAt: new Date().toISOString(), source: 'webhook', alert: {}, raw: '{}' },
      newIncident: {
        ...inc, id: `${id}-2`, subjectUpn: `CONTOSO\\${sam.toUpperCase()}`, subjectObjectId: null, status: 'open',
        subjectIdentity: { upn: null, objectId: null, sid: null, samAccountName: sam.toUpperCase(), domain: 'CONTOSO', netbios: 'CONTOSO', dnsDomain: 'contoso.local', placed: true, placement: '' },
      },
      events: (joined, joinedBy) => [{ source: 'defender', kind: joined ? 'alert.joined' : 'alert.received', summary: `joined by ${joinedBy}` }],
    });
    assert.deepEqual(r, { incidentId: id, created: false, duplicate: false });
    assert.equal((await timeline(id)).at(-1)!.summary, `joined by sam:contoso\\${sam}`);
  });

  it('a retryable error backs off and then succeeds', async () => {
    rec.behaviour['entra.directoryAudits'] = { retryableFailures: 2 };
    const e = engine();
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    await e.settle();
    let a = (await store.getAction(`${id}:entra-audits`))!;
    assert.equal(a.status, 'ready');
    assert.ok(a.notBefore && new Date(a.notBefore) > clock.now(), 'not before a back-off delay');
    await e.settle(); // the back-off has not passed: nothing is claimed
    assert.equal(rec.callsOf('entra.directoryAudits', id).length, 1);
    clock.advance(1_500);
    await e.settle();
    clock.advance(3_000);
    await e.settle();
    a = (await store.getAction(`${id}:entra-audits`))!;
    assert.equal(a.status, 'succeeded');
    assert.equal(a.attempts, 3);
    const calls = rec.callsOf('entra.directoryAudits', id);
    assert.deepEqual(calls.map((c) => c.mayHaveRun), [false, true, true]);
    assert.equal((await timeline(id)).filter((x) => x.kind === 'step.retrying').length, 2);
  });

  it('a customer without RADIUS: the RADIUS steps are skipped with the reason, the rest runs', async () => {
    const customer = testCustomer({ radius: undefined });
    const e = engine({ customer });
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    await e.settle();
    const s = await statusOf(id);
    assert.equal(s['radius-accounting'], 'skipped');
    assert.equal(s['radius-disconnect'], 'skipped');
    assert.equal((await store.getAction(`${id}:radius-accounting`))!.error, 'skipped: Contoso has no RADIUS configured (customers file: radius)');
    assert.equal(rec.callsOf('radius.accounting').length, 0);
    for (const step of ['entra-contain', 'firewall-block']) {
      assert.equal((await e.decide({ approvalId: (await pendingApproval(id, step)).id, vote: 'approve', clicker: ALEX })).ok, true);
    }
    await e.settle();
    assert.equal((await store.getIncident(id))!.status, 'contained', 'skipped destructive steps count as ended');
  });

  it('a destructive step with nothing to do completes without asking', async () => {
    const e = engine();
    const id = await createAlertIncident(store);
    const inc = (await store.getIncident(id))!;
    rec.world.disabled.add(inc.subjectUpn);
    await e.startIncident(id);
    await e.settle();
    const a = (await store.getAction(`${id}:entra-contain`))!;
    assert.equal(a.status, 'succeeded');
    assert.match(String(a.result?.summary), /^nothing to do/);
    assert.equal((await store.listApprovals({ incidentId: id })).filter((x) => x.actionId === a.id).length, 0);
    assert.equal(rec.callsOf('identity.contain', id).length, 0);
  });

  it('two-person steps need two distinct approvers', async () => {
    const customer = testCustomer({ approvers: { objectIds: [ALEX.aadObjectId, APPROVERS[0].aadObjectId], groupIds: [], twoPersonSteps: ['entra-contain'] } });
    const e = engine({ customer });
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    await e.settle();
    const ap = await pendingApproval(id, 'entra-contain');
    assert.equal(ap.requiredApprovers, 2);
    const first = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: ALEX });
    assert.equal(first.ok && first.decided, false);
    const twice = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: ALEX });
    assert.match((twice as { reason: string }).reason, /already voted .* second, different approver/);
    await e.settle();
    assert.equal(rec.callsOf('identity.contain', id).length, 0);
    const second = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: APPROVERS[0] });
    assert.equal(second.ok && second.decided, true);
    await e.settle();
    assert.equal(rec.callsOf('identity.contain', id).length, 1);
  });

  describe('two-person approval of an edited proposal', () => {
    const text = `
name: Edit test
version: 1
steps:
  - id: notify
    action: mail.notifyCiso
    with: { subject: 'Original subject', body: 'Original body' }
`;
    const editableRegistry = () => new ActionRegistry(testActions(rec).map((d) => (d.name === 'mail.notifyCiso' ? { ...d, editable: ['subject', 'body'] } : d)));
    const twoPerson = () => testCustomer({ approvers: { objectIds: [ALEX.aadObjectId, APPROVERS[0].aadObjectId, APPROVERS[1].aadObjectId], groupIds: [], twoPersonSteps: ['notify'] } });

    it('an approval that changes the proposal voids the earlier votes: the edited version needs two approvals again', async () => {
      const e = engine({ customer: twoPerson(), registry: editableRegistry(), procedureText: text });
      const id = await createAlertIncident(store, { subjectObjectId: CONTOSO.adele.objectId });
      await e.startIncident(id);
      await e.settle();
      const ap = await pendingApproval(id, 'notify');
      assert.equal(ap.requiredApprovers, 2);
      const first = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: ALEX });
      assert.equal(first.ok && first.decided, false);

      const edited = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: APPROVERS[0], edits: { subject: 'Edited subject', body: 'Original body' } });
      assert.equal(edited.ok, true);
      assert.equal(edited.ok && edited.decided, false, 'Alex approved the old text, so the edited one is not yet approved');
      const now = (await store.getApproval(ap.id))!;
      assert.equal(now.status, 'pending');
      assert.deepEqual(now.votes.map((v) => v.approverName), [APPROVERS[0].name], 'only the editor\'s vote counts');
      assert.match(String(now.reason), /^Earlier approvals were reset: .* changed subject after Alex Wilber voted/);
      assert.equal((await store.getAction(`${id}:notify`))!.input?.subject, 'Edited subject');
      await e.settle();
      assert.equal(rec.callsOf('mail.notifyCiso', id).length, 0, 'nothing sent on one approval of the edited text');
      const t = await timeline(id);
      const reset = t.find((x) => x.kind === 'approval.reset');
      assert.ok(reset, 'the reset is on the timeline');
      assert.deepEqual(reset.data.voided, [ALEX.aadObjectId]);

      const again = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: ALEX });
      assert.equal(again.ok && again.decided, true, 'Alex may approve the edited version');
      await e.settle();
      const calls = rec.callsOf('mail.notifyCiso', id);
      assert.equal(calls.length, 1);
      assert.equal((calls[0].input as { subject: string }).subject, 'Edited subject', 'what runs is what both approved');
    });

    it('edits that change nothing keep the earlier votes, and the second approval decides', async () => {
      const e = engine({ customer: twoPerson(), registry: editableRegistry(), procedureText: text });
      const id = await createAlertIncident(store, { subjectObjectId: CONTOSO.adele.objectId });
      await e.startIncident(id);
      await e.settle();
      const ap = await pendingApproval(id, 'notify');
      await e.decide({ approvalId: ap.id, vote: 'approve', clicker: ALEX, edits: { subject: 'Alex subject' } });
      const second = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: APPROVERS[0], edits: { subject: 'Alex subject', body: 'Original body' } });
      assert.equal(second.ok && second.decided, true);
      assert.ok(!(await timeline(id)).some((x) => x.kind === 'approval.reset'));
      await e.settle();
      assert.equal((rec.callsOf('mail.notifyCiso', id)[0]?.input as { subject: string }).subject, 'Alex subject');
    });
  });

  it('approver groups are checked through the GroupMembership port', async () => {
    const group = '11111111-2222-4333-8444-555555555555';
    const customer = testCustomer({ approvers: { objectIds: [], groupIds: [group], twoPersonSteps: [] } });
    const asked: string[] = [];
    const e = engine({
      customer,
      groupMembership: { memberOfNow: async (oid, gids) => { for (const gid of gids) asked.push(`${oid}/${gid}`); return new Set(oid === MEGAN.aadObjectId ? gids : []); } },
    });
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    await e.settle();
    const ap = await pendingApproval(id, 'entra-contain');
    assert.equal((await e.decide({ approvalId: ap.id, vote: 'approve', clicker: ALEX })).ok, false);
    assert.equal((await e.decide({ approvalId: ap.id, vote: 'approve', clicker: MEGAN })).ok, true);
    assert.ok(asked.includes(`${MEGAN.aadObjectId}/${group}`));
  });

  it('@ir contain <upn>: an incident without an alert, same approvals; cancel stops it', async () => {
    const e = engine();
    const bad = await e.startForAccount({ customerId: 'contoso', upn: 'someone@fabrikam.com', requestedBy: ALEX });
    assert.deepEqual(bad, { ok: false, code: 'invalid-request', reason: "someone@fabrikam.com is not in Contoso's domains (contoso.com)" });
    const upn = `manual-${Date.now()}@contoso.com`;
    const r = await e.startForAccount({ customerId: 'contoso', upn, requestedBy: ALEX });
    assert.ok(r.ok && r.created);
    const id = (r as { incidentId: string }).incidentId;
    assert.match(id, /^IR-\d{8}-[0-9A-HJKMNP-TV-Z]{4}$/);
    const again = await e.startForAccount({ customerId: 'contoso', upn: upn.toUpperCase(), requestedBy: APPROVERS[1] });
    assert.deepEqual(again, { ok: true, incidentId: id, created: false });
    // the engine checks the requester too (the bot's roles are a cache): a non-approver starts nothing
    const stranger = await e.startForAccount({ customerId: 'contoso', upn: `other-${upn}`, requestedBy: MEGAN });
    assert.deepEqual(stranger, { ok: false, code: 'not-approver', reason: 'Megan Bowen is not an approver for Contoso' });
    assert.equal((await store.listIncidents({ open: true, limit: 1000 })).filter((i) => i.subjectUpn === `other-${upn}`).length, 0);
    await e.settle();
    const s = await statusOf(id);
    assert.equal(s['entra-contain'], 'awaiting_approval');
    assert.equal(s['firewall-block'], 'skipped', 'no alert, no IP to block');
    assert.equal((await store.getAction(`${id}:firewall-block`))!.error, 'skipped: nothing to act on: "ips" is empty');

    const ap = await pendingApproval(id, 'entra-contain');
    assert.equal((await e.cancel(id, MEGAN)).ok, false, 'only approvers cancel');
    const c = await e.cancel(id, ALEX);
    assert.ok(c.ok);
    assert.equal((await store.getIncident(id))!.status, 'cancelled');
    assert.equal((await statusOf(id))['entra-contain'], 'cancelled');
    const late = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: ALEX });
    assert.equal(late.ok, false);
    await e.settle();
    assert.equal(rec.callsOf('identity.contain', id).length, 0);
  });

  it('decideByStep approves the pending card of a step (text fallback)', async () => {
    const e = engine();
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    await e.settle();
    const r = await e.decideByStep({ incidentId: id, stepId: 'entra-contain', vote: 'approve', clicker: ALEX });
    assert.equal(r.ok, true);
    const again = await e.decideByStep({ incidentId: id, stepId: 'entra-contain', vote: 'approve', clicker: APPROVERS[2] });
    assert.match((again as { reason: string }).reason, /^already approved by Alex Wilber/);
    const none = await e.decideByStep({ incidentId: id, stepId: 'entra-lookup', vote: 'approve', clicker: ALEX });
    assert.equal((none as { reason: string }).reason, 'entra-lookup is not waiting for approval (it is succeeded)');
  });

  it('start() runs on its own: alert to first step without waiting for the interval', async () => {
    const e = engine({ tickIntervalMs: 60_000 });
    e.start();
    const id = await createAlertIncident(store);
    const t0 = Date.now();
    await e.startIncident(id);
    while (Date.now() - t0 < 5_000 && rec.callsOf('identity.resolve', id).length === 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(rec.callsOf('identity.resolve', id).length, 1);
    assert.ok(rec.callsOf('identity.resolve', id)[0].start - t0 < 2_000);
    await e.stop();
  });
});
