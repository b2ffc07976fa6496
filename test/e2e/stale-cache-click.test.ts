import assert from 'node:assert/strict';
import { CONTOSO, PLAYGROUND_USERS } from '../../src/sandbox/contoso';
import { verifyChain } from '../../src/domain/timeline-hash';
import type { ApprovalRecord, Store } from '../../src/store/store';
import type { RunningPeers } from '../../scripts/peers';
import type { BotChild } from '../support/bot-child';
import { startReplicaCluster, type ReplicaCluster } from '../support/replica-cluster';
import { cardText, startRecordedConnector, type RecordedConnector } from '../support/bot-connector-recorder';
import { adaptiveCardText, cardActionInvoke, postActivity, type InvokeReply, type TeamsUser } from '../support/bot-invoke';
import { graphCounts, sampleAlert, waitFor } from '../support/bot-world';

/**
 * Issue 13, bad input: "a click that arrives on a replica whose cache is stale: the store decides,
 * never the cache". Two bot replicas as separate processes (each with its own in-process state:
 * the notifier's in-flight renders, the role cache, the procedures and customers it loaded) on one
 * PostgreSQL database, the sandbox's peers shared. Replica B shows an approver the open card; the
 * approval is then decided on replica A; the same Approve and a Reject arriving on B are answered
 * from the store (already approved by …), and the action runs once at the emulator.
 * PostgreSQL only: replicas in separate processes share a PostgreSQL database in production.
 */
describe('replicas: a click on a replica that saw the card open is answered from the store (postgres)', function () {
  this.timeout(300_000);
  let cluster: ReplicaCluster;
  let store: Store;
  let connector: RecordedConnector;
  let peers: RunningPeers;
  let a: BotChild;
  let b: BotChild;

  before(async () => {
    connector = await startRecordedConnector();
    cluster = await startReplicaCluster({ replicas: 2, connector });
    ({ store, peers } = cluster);
    [a, b] = cluster.replicas;
  });

  after(async function () {
    await cluster?.close(this.currentTest?.state === 'failed');
    await connector?.close();
  });

  const click = (replica: BotChild, verb: string, approval: ApprovalRecord, card: { conversationId: string; activityId: string }, from: TeamsUser) =>
    postActivity(replica.port, cardActionInvoke({
      verb, data: { approvalId: approval.id }, from, serviceUrl: connector.serviceUrl, conversationId: card.conversationId, replyToId: card.activityId,
    }));
  const cardOf = (r: InvokeReply, what: string): string => {
    assert.equal(r.status, 200, `${what}: HTTP ${r.status}`);
    assert.equal(r.body?.value?.type, 'AdaptiveCard', `${what}: answered with a card`);
    return adaptiveCardText(r.body?.value);
  };

  it('approve on A; then the same Approve and a Reject on B are answered "already approved by Alex Wilber", and the action ran once', async () => {
    // The alert reaches B: B opens the incident, renders its cards and warms whatever it caches.
    const posted = await fetch(`http://127.0.0.1:${b.port}/api/alerts`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sandbox-token' }, body: JSON.stringify(sampleAlert()),
    });
    assert.equal(posted.status, 202);
    const { incidentId } = (await posted.json()) as { incidentId: string };
    const approval = await waitFor('the Entra approval', async () =>
      (await store.listApprovals({ incidentId, status: 'pending' })).find((x) => x.actionId === `${incidentId}:entra-contain`), 90_000);
    const card = await waitFor('the approval card posted', async () => {
      const v = await store.getState(`teams:approval:${approval.id}`);
      return v && !v.startsWith('posting:') ? (JSON.parse(v) as { conversationId: string; activityId: string }) : undefined;
    }, 30_000);

    // B shows Alex the open card (Teams' refresh of an approver's view): B has seen it pending.
    const openOnB = cardOf(await click(b, 'ir.refresh', approval, card, PLAYGROUND_USERS.alex), 'refresh on B');
    assert.match(openOnB, /Approve/, `B shows the card open:\n${openOnB}`);
    assert.doesNotMatch(openOnB, /Approved by/);
    const adele = CONTOSO.adele.objectId;
    assert.equal(graphCounts(peers.sandbox.graph.state, adele).disable, 0);

    // A decides.
    const onA = cardOf(await click(a, 'ir.approve', approval, card, PLAYGROUND_USERS.alex), 'approve on A');
    assert.doesNotMatch(onA, /already approved/, onA);
    assert.equal((await store.getApproval(approval.id))?.status, 'approved');

    // The same click again and a Reject, both on B, at once: B answers from the store.
    const [again, reject] = await Promise.all([
      click(b, 'ir.approve', approval, card, PLAYGROUND_USERS.alex),
      click(b, 'ir.reject', approval, card, PLAYGROUND_USERS.megan),
    ]);
    assert.match(cardOf(again, 'the same Approve on B'), /already approved by Alex Wilber/);
    assert.match(cardOf(reject, 'a Reject on B'), /already approved by Alex Wilber/);

    const decided = (await store.getApproval(approval.id))!;
    assert.equal(decided.status, 'approved');
    assert.equal(decided.votes.length, 1, 'one vote');
    assert.equal(decided.decidedBy, 'Alex Wilber');

    await waitFor('entra-contain to succeed', async () => (await store.getAction(`${incidentId}:entra-contain`))?.status === 'succeeded', 90_000, 200);
    const action = (await store.getAction(`${incidentId}:entra-contain`))!;
    assert.equal(action.attempts, 1, 'the action ran once, on one replica');
    const counts = graphCounts(peers.sandbox.graph.state, adele);
    assert.deepEqual({ disable: counts.disable, revocations: counts.revocations, resets: counts.passwordResets }, { disable: 1, revocations: 1, resets: 1 }, 'one disable, one revocation, one reset at the emulator');

    const timeline = await store.listTimeline(incidentId);
    assert.equal(timeline.filter((e) => e.kind === 'approval.approve').length, 1, 'one approval event');
    assert.equal(timeline.filter((e) => e.kind === 'approval.reject').length, 0, 'no rejection');
    const refused = timeline.filter((e) => e.kind === 'approval.refused');
    assert.equal(refused.length, 2, 'both clicks on B are on the timeline as refused');
    for (const e of refused) assert.match(e.summary, /refused \(already approved by Alex Wilber/);
    assert.equal(verifyChain(timeline).ok, true, 'the timeline chain verifies (two replicas appended to it)');

    // Everybody's card shows the one decision, not B's refusals.
    await waitFor('the shared card shows the outcome', async () => /Approved by Alex Wilber/.test(cardText(connector.messages.get(card.activityId)?.activity)), 30_000);
    const shared = cardText(connector.messages.get(card.activityId)!.activity);
    assert.equal(shared.match(/Approved by Alex Wilber/g)?.length, 1, shared);
    assert.doesNotMatch(shared, /already approved|Rejected/, shared);
    // one approval card for the step, posted once
    const posts = connector.calls.filter((c) => c.kind !== 'update' && JSON.stringify(c).includes(approval.id));
    assert.ok(posts.length <= 1, `the approval card was posted once: ${posts.length}`);
  });
});
