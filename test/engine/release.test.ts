import assert from 'node:assert/strict';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { DEFAULT_PROCEDURE_FILE, loadProcedure } from '../../src/engine/procedure';
import { buildReleasePlan } from '../../src/engine/release-plan';
import { verifyChain } from '../../src/domain/timeline-hash';
import { CONTOSO } from '../../src/sandbox/contoso';
import type { Store } from '../../src/store/store';
import { withTestStores } from '../support/store-factory';
import { ADELE, ALEX, APPROVERS, createAlertIncident, MEGAN, Recorder, stopEnginesAndCancelLive, testActions, testEngine } from '../support/engine-fixtures';
import { MAIL_NONE, PASSWORD_NOTE, RADIUS_NONE, releaseActions, withInverses } from '../support/release-fakes';

/** The release procedure (issue 14) on the engine, with test inverses, on SQLite and PostgreSQL. */
withTestStores((dialect, make) => {
  let store: Store;
  let engines: Engine[] = [];
  let rec: Recorder;
  let classified: Array<Record<string, unknown>>;
  let registry: ActionRegistry;

  before(async () => { store = await make(); });
  beforeEach(() => {
    rec = new Recorder();
    classified = [];
    registry = new ActionRegistry(withInverses(testActions(rec)), releaseActions(rec, classified));
  });
  afterEach(() => stopEnginesAndCancelLive(store, engines));

  function engine(): Engine {
    const e = testEngine(store, registry, { workerId: `release-${dialect}-${engines.length}`, retry: { maxAttempts: 1 } });
    engines.push(e);
    return e;
  }

  /** Runs the default procedure to the end, approving every card (the CISO email too). */
  async function contained(e: Engine, opts: { rejectMail?: boolean } = {}): Promise<string> {
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    for (let i = 0; i < 10; i++) {
      await e.settle();
      const pending = await store.listApprovals({ incidentId: id, status: 'pending' });
      if (!pending.length) break;
      for (const p of pending) {
        const mail = p.actionId.endsWith(':notify-ciso');
        const r = await e.decide({ approvalId: p.id, vote: mail && opts.rejectMail ? 'reject' : 'approve', clicker: ALEX, ...(mail && opts.rejectMail ? { reason: 'not now' } : {}) });
        assert.equal(r.ok, true, JSON.stringify(r));
      }
    }
    assert.equal((await store.getIncident(id))!.status, 'contained');
    return id;
  }

  async function approveRelease(e: Engine, id: string, edits?: Record<string, unknown>) {
    const ap = (await store.listApprovals({ incidentId: id, status: 'pending' })).find((a) => a.actionId === `${id}:release`);
    assert.ok(ap, 'the release approval is pending');
    const r = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: APPROVERS[0], ...(edits ? { edits } : {}) });
    assert.equal(r.ok, true, JSON.stringify(r));
    await e.settle();
    return ap;
  }

  it('the plan: succeeded steps only, in reverse dependency order, with each inverse\'s input and what cannot be undone', async () => {
    const e = engine();
    const id = await contained(e);
    const inc = (await store.getIncident(id))!;
    const plan = buildReleasePlan(loadProcedure(DEFAULT_PROCEDURE_FILE, registry), await store.listActions(inc.id), registry);
    assert.deepEqual(plan.items.map((i) => [i.stepId, i.kind]), [
      ['notify-ciso', 'kept'], ['firewall-block', 'inverse'], ['radius-disconnect', 'kept'], ['entra-contain', 'inverse'],
    ]);
    const block = plan.items.find((i) => i.stepId === 'firewall-block');
    assert.ok(block?.kind === 'inverse');
    assert.equal(block.inverseAction, 'firewall.unblock');
    assert.deepEqual(block.inverseInput, { ips: [CONTOSO.attackerIp] }, 'built from the forward output: the IPs the block actually added');
    const kept = plan.items.filter((i) => i.kind === 'kept').map((i) => (i as { reason: string }).reason);
    assert.deepEqual(kept, [MAIL_NONE, RADIUS_NONE]);
  });

  it('one approval undoes every step once, classifies the alerts, ends released; replays and a second request change nothing', async () => {
    const e = engine();
    const id = await contained(e);
    assert.deepEqual([...rec.world.disabled].length, 1);
    const r = await e.requestRelease({ incidentId: id, reason: 'travelling with a new phone', by: ALEX });
    assert.ok(r.ok, JSON.stringify(r));
    const gate = (await store.getAction(`${id}:release`))!;
    assert.equal(gate.status, 'awaiting_approval');
    const preview = gate.preview as { changes: string[]; warnings: string[]; notChanged: Array<{ item: string; reason: string }> };
    assert.deepEqual(preview.changes, [
      `Block the attacker's IPs and cut the user's VPN sessions: Remove ${CONTOSO.attackerIp} from the block group`,
      `Contain the account where it lives: Enable ${[...rec.world.disabled][0]} (disabled now)`,
      "Classify the incident's Defender alerts as falsePositive, with a comment",
    ]);
    assert.deepEqual(preview.warnings, [PASSWORD_NOTE]);
    assert.ok(preview.notChanged.some((n) => n.reason === RADIUS_NONE));
    assert.equal(rec.callsOf('identity.release').length, 0, 'nothing runs before the approval');

    const ap = await approveRelease(e, id);
    const inc = (await store.getIncident(id))!;
    assert.equal(inc.status, 'released');
    assert.ok(inc.closedAt, 'a released incident has ended');
    assert.equal((inc.data.release as { reason: string }).reason, 'travelling with a new phone');
    assert.equal(rec.world.disabled.size, 0);
    assert.equal(rec.world.blocked.size, 0);
    // reverse dependency order: the block is undone before the account
    assert.deepEqual(rec.calls.filter((c) => ['identity.release', 'firewall.unblock', 'alerts.classify'].includes(c.name)).map((c) => c.name), ['firewall.unblock', 'identity.release', 'alerts.classify']);
    assert.equal(classified.length, 1);
    assert.equal(classified[0].classification, 'falsePositive');
    assert.match(String(classified[0].comment), /travelling with a new phone/);
    const statuses = Object.fromEntries((await store.listActions(id)).filter((a) => a.stepId.startsWith('release')).map((a) => [a.stepId, a.status]));
    assert.deepEqual(statuses, { release: 'succeeded', 'release-firewall-block': 'succeeded', 'release-entra-contain': 'succeeded', 'release-classify': 'succeeded' });
    const evidence = await store.listEvidence(id);
    assert.ok(evidence.some((ev) => ev.source === 'engine.releasePlan'), 'the approved plan is kept as evidence');
    assert.ok(evidence.some((ev) => ev.source === 'test.firewall.unblock'));

    // the same click again, and a new request: refused, nothing runs again
    const again = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: APPROVERS[1] });
    assert.equal(again.ok, false);
    const twice = await e.requestRelease({ incidentId: id, reason: 'again', by: ALEX });
    assert.deepEqual(twice.ok ? 'ok' : twice.code, 'already-released');
    await e.settle();
    assert.equal(rec.callsOf('identity.release').length, 1);
    assert.equal(rec.callsOf('firewall.unblock').length, 1);
    const t = await store.listTimeline(id);
    assert.deepEqual(verifyChain(t), { ok: true });
    assert.ok(t.some((ev) => ev.kind === 'incident.released' && ev.summary === 'Released: travelling with a new phone'));
  });

  it('a partial release (only the firewall) with the other classification leaves the account disabled', async () => {
    const e = engine();
    const id = await contained(e);
    const r = await e.requestRelease({ incidentId: id, reason: 'a cloud proxy', by: ALEX });
    assert.ok(r.ok);
    await approveRelease(e, id, { selected: 'firewall-block', classification: 'informationalExpectedActivity' });
    assert.equal((await store.getIncident(id))!.status, 'released');
    assert.equal(rec.callsOf('identity.release').length, 0);
    assert.equal(rec.world.disabled.size, 1, 'the account stays disabled');
    assert.equal(rec.world.blocked.size, 0);
    assert.equal(classified[0].classification, 'informationalExpectedActivity');
  });

  it('an account already enabled by hand is reported as such, not changed', async () => {
    const e = engine();
    const id = await contained(e);
    rec.world.disabled.clear();
    const r = await e.requestRelease({ incidentId: id, reason: 'roaming', by: ALEX });
    assert.ok(r.ok);
    const preview = (await store.getAction(`${id}:release`))!.preview as { changes: string[] };
    assert.ok(preview.changes.some((c) => /nothing to undo now \(.*already enabled\)/.test(c)), preview.changes.join(' | '));
    await approveRelease(e, id);
    const row = (await store.getAction(`${id}:release-entra-contain`))!;
    assert.match(String(row.result?.summary), /already enabled: not changed/);
  });

  it('an edit naming a step the release cannot undo is refused and changes nothing', async () => {
    const e = engine();
    const id = await contained(e);
    assert.ok((await e.requestRelease({ incidentId: id, reason: 'vpn', by: ALEX })).ok);
    const ap = (await store.listApprovals({ incidentId: id, status: 'pending' })).find((a) => a.actionId === `${id}:release`)!;
    const r = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: APPROVERS[0], edits: { selected: 'radius-disconnect' } });
    assert.equal(r.ok, false);
    assert.equal((await store.getAction(`${id}:release`))!.status, 'awaiting_approval');
    assert.equal((await store.getIncident(id))!.status, 'contained');
  });

  it('refusals: not contained, containment still running, a non-approver, the subject, twice in a row; each changes nothing', async () => {
    const e = engine();
    const open = await createAlertIncident(store);
    await e.startIncident(open);
    await e.settle();
    const notContained = await e.requestRelease({ incidentId: open, reason: 'x', by: ALEX });
    assert.deepEqual(notContained.ok ? 'ok' : [notContained.code, notContained.reason], ['not-contained', `${open} is open, not contained: only a contained incident can be released`]);

    // contained, but the CISO email still waits for its approval
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    for (let i = 0; i < 5; i++) {
      await e.settle();
      for (const p of await store.listApprovals({ incidentId: id, status: 'pending' })) if (!p.actionId.endsWith(':notify-ciso')) await e.decide({ approvalId: p.id, vote: 'approve', clicker: ALEX });
    }
    assert.equal((await store.getIncident(id))!.status, 'contained');
    const running = await e.requestRelease({ incidentId: id, reason: 'x', by: ALEX });
    assert.deepEqual(running.ok ? 'ok' : running.code, 'still-running');
    assert.match(running.ok ? '' : running.reason, /notify-ciso awaiting_approval/);
    const mail = (await store.listApprovals({ incidentId: id, status: 'pending' }))[0];
    await e.decide({ approvalId: mail.id, vote: 'reject', clicker: ALEX, reason: 'no' });
    await e.settle();

    const stranger = await e.requestRelease({ incidentId: id, reason: 'x', by: MEGAN });
    assert.deepEqual(stranger.ok ? 'ok' : stranger.code, 'not-approver');
    const subject = await e.requestRelease({ incidentId: id, reason: 'x', by: ADELE });
    assert.deepEqual(subject.ok ? 'ok' : subject.code, 'subject');
    const empty = await e.requestRelease({ incidentId: id, reason: '  ', by: ALEX });
    assert.deepEqual(empty.ok ? 'ok' : empty.code, 'invalid-request');
    assert.equal(await store.getAction(`${id}:release`), undefined, 'no refused request left a row');

    assert.ok((await e.requestRelease({ incidentId: id, reason: 'new phone', by: ALEX })).ok);
    const second = await e.requestRelease({ incidentId: id, reason: 'new phone', by: ALEX });
    assert.deepEqual(second.ok ? 'ok' : [second.code, second.reason], ['already-released', `a release of ${id} is already waiting for approval`]);
    assert.equal((await store.listApprovals({ incidentId: id })).filter((a) => a.actionId === `${id}:release`).length, 1);
    // the subject cannot approve it either
    const ap = (await store.listApprovals({ incidentId: id, status: 'pending' })).find((a) => a.actionId === `${id}:release`)!;
    const bySubject = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: ADELE });
    assert.deepEqual(bySubject.ok ? 'ok' : bySubject.code, 'subject');
    assert.equal(rec.callsOf('identity.release').length, 0);
  });

  it('a rejected release leaves the incident contained and can be asked again', async () => {
    const e = engine();
    const id = await contained(e);
    assert.ok((await e.requestRelease({ incidentId: id, reason: 'maybe', by: ALEX })).ok);
    const ap = (await store.listApprovals({ incidentId: id, status: 'pending' })).find((a) => a.actionId === `${id}:release`)!;
    assert.equal((await e.decide({ approvalId: ap.id, vote: 'reject', clicker: APPROVERS[0], reason: 'it was real' })).ok, true);
    await e.settle();
    assert.equal((await store.getIncident(id))!.status, 'contained');
    assert.equal(rec.callsOf('firewall.unblock').length, 0);
    assert.ok((await e.requestRelease({ incidentId: id, reason: 'now sure', by: ALEX })).ok);
    await approveRelease(e, id);
    assert.equal((await store.getIncident(id))!.status, 'released');
  });

  it('a failing inverse does not stop the others; the release stays releasing and says so', async () => {
    const e = engine();
    const id = await contained(e);
    rec.behaviour['firewall.unblock'] = { fail: 'device refused' };
    assert.ok((await e.requestRelease({ incidentId: id, reason: 'proxy', by: ALEX })).ok);
    await approveRelease(e, id);
    const inc = (await store.getIncident(id))!;
    assert.equal(inc.status, 'releasing');
    assert.equal(rec.callsOf('identity.release').length, 1, 'the account was still enabled');
    assert.ok((await store.listTimeline(id)).some((ev) => ev.kind === 'release.incomplete' && /release-firewall-block/.test(ev.summary)));
    // retried once the device answers again: the release goes on and ends
    delete rec.behaviour['firewall.unblock'];
    const retried = await e.retry(id, 'release-firewall-block', ALEX);
    assert.equal(retried.ok, true, JSON.stringify(retried));
    await e.settle();
    assert.equal((await store.getIncident(id))!.status, 'released');
    assert.equal(rec.world.blocked.size, 0);
    assert.equal(rec.callsOf('identity.release').length, 1, 'what had succeeded is not run again');
  });
});
