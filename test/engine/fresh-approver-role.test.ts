import assert from 'node:assert/strict';
import pino from 'pino';
import { ActionRegistry } from '../../src/engine/action-registry';
import { Engine } from '../../src/engine/engine';
import { AccessControl } from '../../src/operations/access-control';
import { createEvidenceOperations } from '../../src/operations/evidence-operations';
import { ROLE_UNCONFIRMED } from '../../src/bot/refusal-text';
import type { Store } from '../../src/store/store';
import { withTestStores } from '../support/store-factory';
import { ADELE, ALEX, APPROVERS, createAlertIncident, MEGAN, Recorder, stopEnginesAndCancelLive, testActions, testCustomer, testEngine, testSecrets } from '../support/engine-fixtures';

/**
 * An approver removed from the customer's approvers' group can no longer approve, at once: the
 * engine asks the directory at every vote and every command that changes something (through
 * AccessControl's port, as main.ts wires it), while what a person sees keeps using the 5-minute
 * cache. The directory is a lookup the test edits and that counts the questions it is asked.
 */
const GROUP = '11111111-2222-4333-8444-555555555555';
const silent = pino({ level: 'silent' });

withTestStores((dialect, make) => {
  let store: Store;
  let rec: Recorder;
  let engines: Engine[] = [];
  /** who is in the approvers' group now */
  let members: Set<string>;
  let graphDown: Error | undefined;
  let asked: string[];
  let access: AccessControl;
  const customer = testCustomer({ approvers: { objectIds: [ALEX.aadObjectId], groupIds: [GROUP], twoPersonSteps: [] } });

  before(async () => {
    store = await make();
  });

  beforeEach(() => {
    rec = new Recorder();
    members = new Set([MEGAN.aadObjectId, APPROVERS[0].aadObjectId]);
    graphDown = undefined;
    asked = [];
    access = new AccessControl({
      customers: [customer], log: silent,
      memberGroups: async (objectId, groupIds) => {
        asked.push(objectId);
        if (graphDown) throw graphDown;
        return members.has(objectId) ? [...groupIds] : [];
      },
    });
  });

  afterEach(() => stopEnginesAndCancelLive(store, engines));

  function engine(): Engine {
    const e = testEngine(store, new ActionRegistry(testActions(rec)), {
      customer, workerId: `fresh-${dialect}-${engines.length}`, groupMembership: access.groupMembership(),
    });
    engines.push(e);
    return e;
  }

  async function incidentAwaitingApproval(e: Engine) {
    const id = await createAlertIncident(store);
    await e.startIncident(id);
    await e.settle();
    const ap = (await store.listApprovals({ incidentId: id, status: 'pending' })).find((x) => x.actionId === `${id}:entra-contain`);
    assert.ok(ap, 'entra-contain waits for its approval');
    return { id, ap };
  }

  it('removed from the group within the TTL: the vote is refused, nothing runs; reads still hit the cache', async () => {
    const e = engine();
    const { id, ap } = await incidentAwaitingApproval(e);
    // Megan sees the card as an approver (the bot's read, cached)
    assert.equal((await access.roles(MEGAN.aadObjectId)).get(customer.id), 'approver');
    assert.equal(asked.length, 1);

    members.delete(MEGAN.aadObjectId);
    assert.equal((await access.roles(MEGAN.aadObjectId)).get(customer.id), 'approver', 'the cache still says approver');
    assert.equal(asked.length, 1, 'a read within the TTL asks nobody');

    const vote = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: MEGAN });
    assert.deepEqual(vote, { ok: false, code: 'not-approver', reason: 'Megan Bowen is not an approver for Contoso', params: { incidentId: id, stepId: 'entra-contain' } });
    assert.equal(asked.length, 2, 'the vote asked the directory although the cache was warm');
    const after = (await store.getApproval(ap.id))!;
    assert.equal(after.status, 'pending');
    assert.deepEqual(after.votes, [], 'no vote recorded');
    await e.settle();
    assert.equal((await store.getAction(`${id}:entra-contain`))!.status, 'awaiting_approval');
    assert.equal(rec.callsOf('identity.contain', id).length, 0, 'nothing ran');
    // the refused vote's fresh answer refreshed the cache: the reads see the removal too, without asking
    assert.equal((await access.roles(MEGAN.aadObjectId)).get(customer.id), undefined);
    assert.equal(asked.length, 2);

    // the text fallback (@ir approve) and a reject take the same road
    assert.equal((await e.decideByStep({ incidentId: id, stepId: 'entra-contain', vote: 'approve', clicker: MEGAN })).ok, false);
    assert.equal((await e.decide({ approvalId: ap.id, vote: 'reject', clicker: MEGAN, reason: 'false positive' })).ok, false);
    assert.equal(asked.length, 4);
    assert.equal((await store.getApproval(ap.id))!.status, 'pending');

    // a member still in the group approves; the step runs once
    const ok = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: APPROVERS[0] });
    assert.equal(ok.ok && ok.decided, true);
    await e.settle();
    assert.equal(rec.callsOf('identity.contain', id).length, 1);
  });

  it('Graph not answering at the vote: refused (role-unconfirmed), no vote recorded; the same click passes once Graph answers', async () => {
    const e = engine();
    const { id, ap } = await incidentAwaitingApproval(e);
    await access.roles(MEGAN.aadObjectId);
    graphDown = new Error('graph.checkMemberGroups: HTTP 429 Too Many Requests (Retry-After 30)');
    const vote = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: MEGAN });
    assert.equal(vote.ok, false);
    assert.equal((vote as { code: string }).code, 'role-unconfirmed');
    assert.equal((vote as { reason: string }).reason, "could not confirm Megan Bowen's approver role for Contoso with Microsoft Graph just now; nothing was done, try again");
    const after = (await store.getApproval(ap.id))!;
    assert.equal(after.status, 'pending');
    assert.deepEqual(after.votes, []);
    const refused = (await store.listTimeline(id)).filter((t) => t.kind === 'approval.refused');
    assert.equal(refused.length, 1, 'the attempt is on the timeline, as every refused click');
    assert.match(refused[0].summary, /could not confirm Megan Bowen's approver role/);
    await e.settle();
    assert.equal(rec.callsOf('identity.contain', id).length, 0);
    // the warm cache is left as it was: reads go on
    assert.equal((await access.roles(MEGAN.aadObjectId)).get(customer.id), 'approver');

    graphDown = undefined;
    const again = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: MEGAN });
    assert.equal(again.ok && again.decided, true);
    await e.settle();
    assert.equal(rec.callsOf('identity.contain', id).length, 1);
  });

  it('the subject rules stand without Graph; a non-member is "not an approver" only when Graph answered', async () => {
    const e = engine();
    const { ap } = await incidentAwaitingApproval(e);
    members.delete(MEGAN.aadObjectId);
    graphDown = new Error('graph down');
    const down = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: MEGAN });
    assert.equal((down as { code: string }).code, 'role-unconfirmed', 'not "not an approver": Graph did not say so');
    // the subject (object id from the lookup step) is refused as the subject, and nobody is asked about her
    const before = asked.length;
    const subject = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: ADELE });
    assert.equal((subject as { code: string }).code, 'subject');
    assert.equal(asked.length, before);
    graphDown = undefined;
    const answered = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: MEGAN });
    assert.equal((answered as { code: string }).code, 'not-approver');
    assert.deepEqual((await store.getApproval(ap.id))!.votes, []);
  });

  it('an approver by object id needs no Graph call, even with Graph down', async () => {
    const e = engine();
    const { id, ap } = await incidentAwaitingApproval(e);
    graphDown = new Error('graph down');
    const ok = await e.decide({ approvalId: ap.id, vote: 'approve', clicker: ALEX });
    assert.equal(ok.ok && ok.decided, true);
    assert.deepEqual(asked, []);
    await e.settle();
    assert.equal(rec.callsOf('identity.contain', id).length, 1);
  });

  it('cancel, retry, release, close and @ir contain ask the directory now too', async () => {
    const e = engine();
    const { id, ap } = await incidentAwaitingApproval(e);
    await access.roles(MEGAN.aadObjectId);
    members.delete(MEGAN.aadObjectId);

    assert.equal((await e.cancel(id, MEGAN)).ok, false);
    assert.equal((await store.getIncident(id))!.status, 'open', 'not cancelled');
    await e.decide({ approvalId: ap.id, vote: 'reject', clicker: ALEX, reason: 'not now' });
    await e.settle();
    const retry = await e.retry(id, 'entra-contain', MEGAN);
    assert.equal(retry.ok ? 'ok' : retry.code, 'not-approver');
    assert.equal((await store.getAction(`${id}:entra-contain`))!.status, 'rejected', 'not asked again');
    const release = await e.requestRelease({ incidentId: id, reason: 'x', by: MEGAN });
    assert.equal(release.ok ? 'ok' : release.code, 'not-approver');
    // @ir close, through the evidence operations as the bot calls them
    const evidence = createEvidenceOperations({
      store, engine: e, customers: () => customer, secrets: testSecrets, reportUrl: (x) => `https://bot.example/r/${x}`, log: silent,
      poster: () => { throw new Error('a refused close posts nothing'); },
    });
    assert.deepEqual(await evidence.close(id, 'benign', MEGAN), { ok: false, reason: 'Megan Bowen is not an approver for Contoso' });
    assert.equal((await store.getIncident(id))!.status, 'open', 'not closed');
    const upn = `manual-${Date.now()}@contoso.com`;
    const contain = await e.startForAccount({ customerId: customer.id, upn, requestedBy: MEGAN });
    assert.deepEqual(contain, { ok: false, code: 'not-approver', reason: 'Megan Bowen is not an approver for Contoso' });
    assert.equal((await store.listIncidents({ open: true, limit: 1000 })).filter((i) => i.subjectUpn === upn).length, 0, 'no incident started');
    assert.equal(asked.length, 6, 'one lookup per request, none from the cache');

    graphDown = new Error('graph down');
    assert.deepEqual(await evidence.close(id, 'benign', APPROVERS[0]), { ok: false, reason: ROLE_UNCONFIRMED });
    assert.equal((await store.getIncident(id))!.status, 'open');
    const unconfirmed = await e.startForAccount({ customerId: customer.id, upn, requestedBy: APPROVERS[0] });
    assert.equal(unconfirmed.ok ? 'ok' : unconfirmed.code, 'role-unconfirmed');
    graphDown = undefined;
    const started = await e.startForAccount({ customerId: customer.id, upn, requestedBy: APPROVERS[0] });
    assert.ok(started.ok && started.created);
  });
});
