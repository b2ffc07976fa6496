import assert from 'node:assert/strict';
import { withTestStores, uniqueId } from '../support/store-factory';
import { TeamsNotifier } from '../../src/bot/teams-notifier';
import { SendThrottledError } from '../../src/bot/send-queue';
import type { TeamsChannel } from '../../src/bot/teams-channel';
import type { Store } from '../../src/store/store';
import { log } from '../../src/log';
import { cardText } from '../support/bot-connector-recorder';

/**
 * No card lost to a 429 storm (issue 13 part 4): a send Teams still throttles after the queue's
 * last attempt fails with SendThrottledError; the card is then marked stale in the store and the
 * sweep (any replica's) brings it to the store's state once Teams answers again.
 */
function throttlingChannel() {
  const tag = uniqueId('m');
  let n = 0;
  const state = { throttle: false };
  const messages = new Map<string, Record<string, unknown>>(); // activity id → latest content
  const calls: Array<{ op: 'thread' | 'reply' | 'update'; activityId: string; ok: boolean }> = [];
  const refuse = (op: 'thread' | 'reply' | 'update', activityId: string) => {
    calls.push({ op, activityId, ok: false });
    throw new SendThrottledError('19:sec-ir@thread.tacv2', 4, Object.assign(new Error('Too Many Requests'), { statusCode: 429 }));
  };
  const channel = {
    channel: async () => ({ channelId: '19:sec-ir@thread.tacv2' }),
    startThread: async (activity: Record<string, unknown>) => {
      if (state.throttle) refuse('thread', '');
      const id = `${tag}-${++n}`;
      calls.push({ op: 'thread', activityId: id, ok: true });
      messages.set(id, activity);
      return { conversationId: `19:sec-ir@thread.tacv2;messageid=${id}`, activityId: id };
    },
    reply: async (_c: string, activity: Record<string, unknown>) => {
      if (state.throttle) refuse('reply', '');
      const id = `${tag}-${++n}`;
      calls.push({ op: 'reply', activityId: id, ok: true });
      messages.set(id, activity);
      return id;
    },
    update: async (_c: string, activityId: string, activity: Record<string, unknown>) => {
      if (state.throttle) refuse('update', activityId);
      calls.push({ op: 'update', activityId, ok: true });
      messages.set(activityId, activity);
    },
  };
  return { state, messages, calls, channel: channel as unknown as TeamsChannel };
}

withTestStores((_dialect, make) => {
  describe('TeamsNotifier: a card whose update Teams throttled to the end is re-sent by the sweep', () => {
    let store: Store;
    before(async () => { store = await make(); });

    async function incident() {
      const id = `IR-20261202-${uniqueId('').slice(1, 5).toUpperCase().replace(/[^0-9A-HJKMNP-TV-Z]/g, 'A')}`;
      await store.createIncident({ id, customerId: 'contoso', tenantId: '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', subjectUpn: `${uniqueId('u')}@contoso.com`, subjectObjectId: null, severity: 'high', title: 't', status: 'open', procedure: null, createdAt: new Date().toISOString(), data: {} }, [{ source: 'test', kind: 'x', summary: 'opened' }]);
      await store.ensureActions([{ id: `${id}:entra-contain`, incidentId: id, stepId: 'entra-contain', name: 'entra.contain', status: 'awaiting_approval', idempotencyKey: `${id}:entra-contain`, input: {} }]);
      const approval = await store.createApproval({ id: uniqueId('apv'), incidentId: id, actionId: `${id}:entra-contain`, requiredApprovers: 1, requestedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
      return { id, approval };
    }

    it('timeline card: the failed update marks it stale; the sweep updates it to the latest state and clears the mark', async () => {
      const t = throttlingChannel();
      const n = new TeamsNotifier({ store, channel: t.channel, customerName: () => 'Contoso', log, workerId: 'w1' });
      const { id } = await incident();
      await n.incidentChanged(id);
      const ref = JSON.parse((await store.getState(`teams:card:${id}`))!) as { activityId: string };

      t.state.throttle = true;
      await store.updateIncident(id, { status: 'contained' }, [{ source: 'test', kind: 'x', summary: 'Throttled-away change' }]);
      await n.incidentChanged(id);
      assert.ok(t.calls.some((c) => c.op === 'update' && c.activityId === ref.activityId && !c.ok), 'the update was tried and refused');
      assert.doesNotMatch(cardText(t.messages.get(ref.activityId)), /Throttled-away change/, 'Teams shows the old card');
      assert.ok(await store.getState(`teams:stale:card:${id}`), 'marked stale in the store');

      t.state.throttle = false;
      // another replica's sweep: a different notifier on the same store
      const other = new TeamsNotifier({ store, channel: t.channel, customerName: () => 'Contoso', log, workerId: 'w2' });
      await other.sweep();
      assert.match(cardText(t.messages.get(ref.activityId)), /Throttled-away change/, 'the card now shows the store\'s state');
      assert.equal(await store.getState(`teams:stale:card:${id}`), undefined, 'the mark is cleared');
      const updates = t.calls.filter((c) => c.op === 'update' && c.activityId === ref.activityId && c.ok).length;
      await other.sweep();
      assert.equal(t.calls.filter((c) => c.op === 'update' && c.activityId === ref.activityId && c.ok).length, updates, 'a clean card is not re-sent by the next sweep');
      assert.equal(t.calls.filter((c) => c.op === 'thread').length, 1, 'still one thread');
    });

    it('an update Teams refuses for good (404: the message was deleted) is not marked for the sweep to repeat forever', async () => {
      const t = throttlingChannel();
      const n = new TeamsNotifier({ store, channel: t.channel, customerName: () => 'Contoso', log, workerId: 'w1' });
      const { id } = await incident();
      await n.incidentChanged(id);
      (t.channel as unknown as { update: () => Promise<void> }).update = async () => { throw Object.assign(new Error('Activity not found'), { statusCode: 404 }); };
      await store.appendTimeline(id, [{ source: 'test', kind: 'x', summary: 'after the deletion' }]);
      await n.incidentChanged(id);
      assert.equal(await store.getState(`teams:stale:card:${id}`), undefined);
    });

    it('approval card: a throttled refresh after the decision is re-sent by the sweep', async () => {
      const t = throttlingChannel();
      const n = new TeamsNotifier({ store, channel: t.channel, customerName: () => 'Contoso', log, workerId: 'w1' });
      const { approval } = await incident();
      await n.approvalRequested(approval);
      const ref = JSON.parse((await store.getState(`teams:approval:${approval.id}`))!) as { activityId: string };
      const vote = await store.voteApproval(approval.id, { approverId: 'oid-alex', approverName: 'Alex Wilber', vote: 'reject', reason: 'false positive' }, new Date());
      assert.equal(vote.ok, true);

      t.state.throttle = true;
      await n.refreshApprovalCard(approval.id);
      assert.ok(await store.getState(`teams:stale:approval:${approval.id}`), 'marked stale');
      assert.doesNotMatch(cardText(t.messages.get(ref.activityId)), /Alex Wilber/);

      t.state.throttle = false;
      await n.sweep();
      assert.match(cardText(t.messages.get(ref.activityId)), /Rejected[\s\S]*Alex Wilber|Alex Wilber[\s\S]*reject/i, 'the card shows the decision');
      assert.equal(await store.getState(`teams:stale:approval:${approval.id}`), undefined);
    });

    it('timeline card post: a thread Teams throttled to the end is started by the sweep, once', async () => {
      const t = throttlingChannel();
      const n = new TeamsNotifier({ store, channel: t.channel, customerName: () => 'Contoso', log, workerId: 'w1', now: () => new Date(Date.now()) });
      const { id } = await incident();
      t.state.throttle = true;
      await n.incidentChanged(id);
      assert.equal(t.calls.filter((c) => c.op === 'thread' && c.ok).length, 0);
      assert.match((await store.getState(`teams:card:${id}`))!, /^posting:released:/, 'the claim is released for the sweep');
      t.state.throttle = false;
      await n.sweep();
      await n.sweep();
      const posted = JSON.parse((await store.getState(`teams:card:${id}`))!) as { activityId: string };
      assert.equal(t.calls.filter((c) => c.op === 'thread' && c.ok && c.activityId === posted.activityId).length, 1);
      assert.match(cardText(t.messages.get(posted.activityId)), new RegExp(id));
    });
  });
});
