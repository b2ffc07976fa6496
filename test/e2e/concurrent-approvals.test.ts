import assert from 'node:assert/strict';
import { CONTOSO, PLAYGROUND_USERS } from '../../src/sandbox/contoso';
import { findUser } from '../../src/sandbox/graph/state';
import { verifyChain } from '../../src/domain/timeline-hash';
import type { ApprovalRecord } from '../../src/store/store';
import { startSandboxApp } from '../support/sandbox-app';
import { createTestDatabase, type TestDatabase } from '../support/store-factory';
import { cardText, startRecordedConnector, type RecordedConnector } from '../support/bot-connector-recorder';
import { adaptiveCardText, cardActionInvoke, postActivity, type InvokeReply } from '../support/bot-invoke';
import { graphCounts, waitFor } from '../support/bot-world';

/**
 * Issue "Exactly once at the bot's edge": ten people-clicks on Approve that reach /api/messages at
 * the same moment (a double-clicking approver, Teams retrying an invoke) disable, revoke and reset
 * once. The bot runs in-process in sandbox mode (its own emulators), without the Playground: the
 * invokes are Teams-shaped activities POSTed to /api/messages and the bot's proactive sends go to a
 * recorded Bot Connector, whose #sec-ir the store is told about as if the bot had been installed.
 */
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`bot HTTP edge: concurrent Approve clicks (${dialect})`, function () {
    this.timeout(120_000);
    let db: TestDatabase;
    let connector: RecordedConnector;
    let app: Awaited<ReturnType<typeof startSandboxApp>>;
    let incidentId: string;
    let approval: ApprovalRecord;
    let thread: { conversationId: string; activityId: string };

    const invoke = (verb: string, data: Record<string, unknown>, from: { name: string; aadObjectId: string } = PLAYGROUND_USERS.alex) =>
      postActivity(app.port, cardActionInvoke({ verb, data, from, serviceUrl: connector.serviceUrl, conversationId: thread.conversationId, replyToId: thread.activityId }));
    const adele = () => findUser(app.sandbox!.graph.state.tenants.get(CONTOSO.tenantId)!, CONTOSO.adele.upn)!;
    const assertCardReply = (r: InvokeReply, what: string) => {
      assert.equal(r.status, 200, `${what}: HTTP ${r.status}`);
      assert.equal(r.body?.statusCode, 200, `${what}: invoke statusCode`);
      assert.equal(r.body?.type, 'application/vnd.microsoft.card.adaptive', `${what}: answered with a card`);
      assert.equal(r.body?.value?.type, 'AdaptiveCard', `${what}: the value is an Adaptive Card`);
    };

    before(async () => {
      db = await createTestDatabase(dialect);
      connector = await startRecordedConnector();
      app = await startSandboxApp({ storeUrl: db.url, playground: false });
      assert.ok(app.sandbox?.radius, 'the sandbox NAS runs (FreeRADIUS installed)');
      // What the bot would have learned from its installation in the MSP's team.
      await app.store.putRef('teams:channel', connector.channelRef());
      const fired = await app.fireAlert();
      assert.equal(fired.status, 202);
      incidentId = fired.body.incidentId;
      approval = await waitFor('the Entra approval', async () =>
        (await app.store.listApprovals({ incidentId, status: 'pending' })).find((a) => a.actionId === `${incidentId}:entra-contain`), 60_000);
      // The card is in the thread: the clicks come from it.
      const posted = await waitFor('the approval card posted', async () => {
        const v = await app.store.getState(`teams:approval:${approval.id}`);
        return v && !v.startsWith('posting:') ? (JSON.parse(v) as { conversationId: string; activityId: string }) : undefined;
      });
      thread = { conversationId: posted.conversationId, activityId: posted.activityId };
      assert.match(thread.conversationId, /^19:sec-ir@thread\.tacv2;messageid=/);
    });

    after(async () => {
      await app?.dispose();
      await connector?.close();
      await db?.dispose();
    });

    it('ten simultaneous Approve clicks: every click gets a card, one vote, one disable/revoke/reset', async () => {
      const before = graphCounts(app.sandbox!.graph.state, adele().id);
      assert.deepEqual({ disable: before.disable, revoke: before.revocations, reset: before.passwordResets }, { disable: 0, revoke: 0, reset: 0 });

      const replies = await Promise.all(Array.from({ length: 10 }, () => invoke('ir.approve', { approvalId: approval.id })));
      replies.forEach((r, i) => assertCardReply(r, `click ${i + 1}`));
      // Exactly one click was the vote; the others were told so on top of the card.
      const texts = replies.map((r) => adaptiveCardText(r.body?.value));
      const refusedTexts = texts.filter((t) => /already approved by Alex Wilber|no longer current/.test(t));
      assert.equal(refusedTexts.length, 9, `nine clicks are told the request was already answered:\n${texts.join('\n---\n')}`);

      const decided = (await app.store.getApproval(approval.id))!;
      assert.equal(decided.status, 'approved');
      assert.equal(decided.votes.length, 1, 'one vote recorded');
      assert.equal(decided.votes[0].approverId, PLAYGROUND_USERS.alex.aadObjectId);

      await waitFor('entra-contain to succeed', async () => (await app.store.getAction(`${incidentId}:entra-contain`))?.status === 'succeeded', 60_000);
      const action = (await app.store.getAction(`${incidentId}:entra-contain`))!;
      assert.equal(action.attempts, 1, 'the action ran once');
      const after = graphCounts(app.sandbox!.graph.state, adele().id);
      assert.equal(after.disable, 1, 'one PATCH accountEnabled=false');
      assert.equal(after.revocations, 1, 'one revokeSignInSessions');
      assert.equal(after.passwordResets, 1, 'one password reset');
      assert.equal(adele().accountEnabled, false);

      const timeline = await app.store.listTimeline(incidentId);
      const approvedEvents = timeline.filter((e) => e.kind === 'approval.approve');
      assert.equal(approvedEvents.length, 1, 'one approval event');
      const refused = timeline.filter((e) => e.kind === 'approval.refused' && e.actor === PLAYGROUND_USERS.alex.aadObjectId);
      assert.equal(refused.length, 9, 'the nine other clicks are on the timeline as refused');
      for (const e of refused) assert.match(e.summary, /Alex Wilber tried to approve entra-contain: refused \((already approved by Alex Wilber|this request is no longer current)/);
      assert.equal(verifyChain(timeline).ok, true, 'the timeline chain verifies');

      // Everybody's copy of the card (updated through the Bot Connector) shows one approval and the outcome.
      await waitFor('the approval card updated for everybody', async () => /✅ done: adele\.vance@contoso\.com: disabled, sessions revoked, password reset/.test(cardText(connector.messages.get(thread.activityId)?.activity)));
      const shared = cardText(connector.messages.get(thread.activityId)!.activity);
      assert.equal(shared.match(/Approved by Alex Wilber/g)?.length, 1, shared);
      assert.doesNotMatch(shared, /already approved/, 'refusals are shown to the clicker only, not on the shared card');
    });

    it('a stale card (already decided) answers with the reason and changes nothing', async () => {
      const graphBefore = graphCounts(app.sandbox!.graph.state, adele().id);
      const actionBefore = await app.store.getAction(`${incidentId}:entra-contain`);
      for (const [verb, who] of [['ir.approve', PLAYGROUND_USERS.alex], ['ir.reject', PLAYGROUND_USERS.alex], ['ir.reject', PLAYGROUND_USERS.megan]] as const) {
        const r = await invoke(verb, { approvalId: approval.id }, who);
        assertCardReply(r, `${who.name} ${verb} on the stale card`);
        assert.match(adaptiveCardText(r.body?.value), /already approved by Alex Wilber/, `${who.name} ${verb} is told why`);
      }
      const now = (await app.store.getApproval(approval.id))!;
      assert.equal(now.status, 'approved');
      assert.equal(now.votes.length, 1, 'no vote added');
      assert.deepEqual(await app.store.getAction(`${incidentId}:entra-contain`), actionBefore, 'the action is untouched');
      assert.deepEqual(graphCounts(app.sandbox!.graph.state, adele().id), graphBefore, 'no Graph call');
    });

    it('a forged approvalId answers with the reason and changes nothing', async () => {
      const graphBefore = graphCounts(app.sandbox!.graph.state, adele().id);
      const approvalsBefore = await app.store.listApprovals({ incidentId });
      const actionsBefore = await app.store.listActions(incidentId);
      for (const forged of ['0c2b5a1e-2f3d-4c5b-8a79-6e5d4c3b2a10', 'x'.repeat(40)]) {
        const r = await invoke('ir.approve', { approvalId: forged });
        assertCardReply(r, `forged ${forged}`);
        assert.match(adaptiveCardText(r.body?.value), /Not done: this approval request is not known \(the card may be forged or from another installation\)/, 'the clicker is told why');
      }
      // malformed ids never reach the engine
      for (const bad of ['<script>', '', 42]) {
        const r = await invoke('ir.approve', { approvalId: bad });
        assertCardReply(r, `malformed ${String(bad)}`);
        assert.match(adaptiveCardText(r.body?.value), /no longer current/);
      }
      assert.deepEqual(await app.store.listApprovals({ incidentId }), approvalsBefore, 'approvals unchanged');
      assert.deepEqual(await app.store.listActions(incidentId), actionsBefore, 'actions unchanged');
      assert.deepEqual(graphCounts(app.sandbox!.graph.state, adele().id), graphBefore, 'no Graph call');
    });
  });
}
