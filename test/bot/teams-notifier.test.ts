import assert from 'node:assert/strict';
import { withTestStores, uniqueId } from '../support/store-factory';
import { postingSince, TeamsNotifier } from '../../src/bot/teams-notifier';
import type { TeamsChannel } from '../../src/bot/teams-channel';
import type { Store } from '../../src/store/store';
import { log } from '../../src/log';
import { HANDOFF_THREAD_PRIORITY, threadPriority } from '../../src/bot/thread-priority';

/** Records what the notifier sends to Teams (the real path is covered by the Playground e2e tests). */
function recordingChannel() {
  const calls: Array<{ op: 'thread' | 'reply' | 'update' | 'remove'; conversationId?: string; activityId?: string; priority?: number }> = [];
  let n = 0;
  const tag = uniqueId('t');
  const channel = {
    channel: async () => ({ channelId: '19:sec-ir@thread.tacv2' }),
    startThread: async (_activity: unknown, opts?: { priority?: number }) => { n++; calls.push({ op: 'thread', activityId: `${tag}-${n}`, priority: opts?.priority }); return { conversationId: `19:sec-ir@thread.tacv2;messageid=${tag}-${n}`, activityId: `${tag}-${n}` }; },
    reply: async (conversationId: string) => { n++; calls.push({ op: 'reply', conversationId }); return String(n); },
    update: async (conversationId: string, activityId: string) => { calls.push({ op: 'update', conversationId, activityId }); },
    remove: async (conversationId: string, activityId: string) => { calls.push({ op: 'remove', conversationId, activityId }); },
  };
  return { calls, channel: channel as unknown as TeamsChannel };
}

withTestStores((_dialect, make) => {
  describe('TeamsNotifier: one card per incident and per approval, even across crashes', () => {
    let store: Store;
    before(async () => { store = await make(); });

    async function incidentWithApproval() {
      const id = `IR-20261127-${uniqueId('').slice(1, 5).toUpperCase().replace(/[^0-9A-HJKMNP-TV-Z]/g, 'A')}`;
      await store.createIncident({ id, customerId: 'contoso', tenantId: '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', subjectUpn: `${uniqueId('u')}@contoso.com`, subjectObjectId: null, severity: 'high', title: 't', status: 'open', procedure: null, createdAt: new Date().toISOString(), data: {} }, [{ source: 'test', kind: 'x', summary: 'opened' }]);
      await store.ensureActions([{ id: `${id}:entra-contain`, incidentId: id, stepId: 'entra-contain', name: 'entra.contain', status: 'awaiting_approval', idempotencyKey: `${id}:entra-contain`, input: {} }]);
      const approval = await store.createApproval({ id: uniqueId('apv'), incidentId: id, actionId: `${id}:entra-contain`, requiredApprovers: 1, requestedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
      return { id, approval };
    }

    it('posts the timeline card once, then only updates it', async () => {
      const { calls, channel } = recordingChannel();
      const n = new TeamsNotifier({ store, channel, customerName: () => 'Contoso', log, workerId: 'w1' });
      const { id } = await incidentWithApproval();
      await Promise.all([n.incidentChanged(id), n.incidentChanged(id), n.incidentChanged(id)]);
      await n.incidentChanged(id);
      assert.equal(calls.filter((c) => c.op === 'thread').length, 1);
      assert.ok(calls.filter((c) => c.op === 'update').length >= 1);
    });

    it('a timeline card waits for the channel\'s slots with its incident\'s severity as priority (high before low in a storm)', async () => {
      const { calls, channel } = recordingChannel();
      const n = new TeamsNotifier({ store, channel, customerName: () => 'Contoso', log, workerId: 'w-prio' });
      const { id } = await incidentWithApproval(); // severity high
      await n.incidentChanged(id);
      assert.deepEqual(calls.filter((c) => c.op === 'thread').map((c) => c.priority), [threadPriority('high')]);
      assert.ok(threadPriority('high') > threadPriority('medium') && threadPriority('medium') > threadPriority('low'));
      assert.ok(HANDOFF_THREAD_PRIORITY > threadPriority('high'), 'the handoff goes before every incident');
    });

    it('a second instance does not post a card the first is posting', async () => {
      const a = recordingChannel();
      const b = recordingChannel();
      const n1 = new TeamsNotifier({ store, channel: a.channel, customerName: () => 'Contoso', log, workerId: 'w1' });
      const n2 = new TeamsNotifier({ store, channel: b.channel, customerName: () => 'Contoso', log, workerId: 'w2' });
      const { id } = await incidentWithApproval();
      await Promise.all([n1.incidentChanged(id), n2.incidentChanged(id)]);
      assert.equal(a.calls.filter((c) => c.op === 'thread').length + b.calls.filter((c) => c.op === 'thread').length, 1);
    });

    it('the sweep re-posts an approval card whose post was interrupted by a crash, once', async () => {
      const { calls, channel } = recordingChannel();
      const n = new TeamsNotifier({ store, channel, customerName: () => 'Contoso', log, workerId: 'w-restarted' });
      const { id, approval } = await incidentWithApproval();
      await n.incidentChanged(id);
      // the crashed process had claimed the approval card 2 minutes ago and died before posting it
      await store.setState(`teams:approval:${approval.id}`, `posting:w-dead:${new Date(Date.now() - 120_000).toISOString()}`);
      await n.sweep();
      await n.sweep();
      // (other tests' incidents in this database get their cards too: count this incident's thread only)
      const thread = JSON.parse((await store.getState(`teams:card:${id}`))!) as { conversationId: string };
      const replies = calls.filter((c) => c.op === 'reply' && c.conversationId === thread.conversationId);
      assert.equal(replies.length, 1, 'posted once');
      assert.ok((await store.getApproval(approval.id))?.cardActivityId);
      assert.match((await store.getState(`teams:approval:${approval.id}`))!, /^\{"conversationId"/);
    });

    it('the sweep posts the card of an open incident older than the newest 500 (it once read only those)', async function () {
      this.timeout(120_000);
      const { calls, channel } = recordingChannel();
      const n = new TeamsNotifier({ store, channel, customerName: () => 'Contoso', log, workerId: 'w-sweep-all' });
      const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
      let seq = 0;
      // ids of their own day and a counter: no collision with each other or with the other tests' incidents
      const mk = async (createdAt: string) => {
        const k = seq++;
        const id = `IR-20200101-S${B32[Math.floor(k / 1024) % 32]}${B32[Math.floor(k / 32) % 32]}${B32[k % 32]}`;
        await store.createIncident({ id, customerId: 'contoso', tenantId: '0b7c6a5d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', subjectUpn: `${uniqueId('u')}@contoso.com`, subjectObjectId: null, severity: 'high', title: 't', status: 'open', procedure: null, createdAt, data: {} }, [{ source: 'test', kind: 'x', summary: 'opened' }]);
        return id;
      };
      const oldest = await mk('2020-01-01T00:00:00.000Z');
      // 510 newer open incidents whose cards are posted: the old list of the newest 500 never reached the oldest
      for (let i = 0; i < 510; i++) {
        const id = await mk(new Date(Date.now() - i).toISOString());
        await store.setState(`teams:card:${id}`, JSON.stringify({ conversationId: `c-${id}`, activityId: `a-${id}` }));
      }
      const todo = await store.listOpenIncidentsWithoutState('teams:card:');
      assert.ok(todo.some((t) => t.id === oldest && t.value === undefined), 'the oldest unposted incident is on the sweep\'s list');
      await n.sweep();
      const posted = await store.getState(`teams:card:${oldest}`);
      assert.match(posted ?? '', /^\{"conversationId"/, 'the sweep posted its card');
      assert.ok(!(await store.listOpenIncidentsWithoutState('teams:card:')).some((t) => t.id === oldest), 'and it is off the list');
      assert.ok(calls.some((c) => c.op === 'thread'));
    });

    it('a claim left by a killed replica whose worker id holds colons (host:pid:random, as main.ts makes it) goes stale: the sweep posts both cards', async () => {
      const { calls, channel } = recordingChannel();
      const n = new TeamsNotifier({ store, channel, customerName: () => 'Contoso', log, workerId: 'vm:4242:0a1b2c3d' });
      const { id, approval } = await incidentWithApproval();
      // the killed replica had claimed the timeline card and the approval card 2 minutes ago
      const dead = `posting:vm:13354:9f8e7d6c:${new Date(Date.now() - 120_000).toISOString()}`;
      await store.setState(`teams:card:${id}`, dead);
      await store.setState(`teams:approval:${approval.id}`, dead);
      await n.sweep();
      const thread = JSON.parse((await store.getState(`teams:card:${id}`)) ?? '{}') as { conversationId?: string };
      assert.ok(thread.conversationId, 'the timeline card was posted (the claim was read as stale)');
      assert.equal(calls.filter((c) => c.op === 'reply' && c.conversationId === thread.conversationId).length, 1, 'the approval card posted once');
    });

    it('reads a claim\'s time from its end, whatever the worker id holds', () => {
      const at = '2026-12-02T06:00:00.123Z';
      assert.equal(postingSince(`posting:vm:13354:9f8e7d6c:${at}`), Date.parse(at));
      assert.equal(postingSince(`posting:w1:${at}`), Date.parse(at));
      assert.equal(postingSince('posting:released:1970-01-01T00:00:00.000Z'), 0);
      assert.equal(postingSince('posting:garbage'), 0);
    });

    it('a claim whose post waits longer than the stale time (a storm\'s queue for the channel slot) is renewed: another replica\'s sweep does not post a second card', async () => {
      // Seen in the full storm bench: 581 new threads queued for the channel's shared slots; a claim
      // went stale after 60 s while its owner still waited, and another replica's sweep posted too.
      const posting = { staleMs: 200, renewMs: 40 };
      const run = async (renewMs: number) => {
        const slow = recordingChannel();
        let release!: () => void;
        const waiting = new Promise<void>((r) => { release = r; });
        const slowChannel = { ...(slow.channel as unknown as Record<string, unknown>), startThread: async () => { await waiting; return (slow.channel as unknown as { startThread(): Promise<unknown> }).startThread(); } } as unknown as TeamsChannel;
        const other = recordingChannel();
        const a = new TeamsNotifier({ store, channel: slowChannel, customerName: () => 'Contoso', log, workerId: 'vm:1:aaaa', posting: { ...posting, renewMs } });
        const b = new TeamsNotifier({ store, channel: other.channel, customerName: () => 'Contoso', log, workerId: 'vm:2:bbbb', posting });
        const { id } = await incidentWithApproval();
        const first = a.incidentChanged(id);
        await new Promise((r) => setTimeout(r, 500)); // longer than the stale time: A still waits for its slot
        await b.incidentChanged(id); // what B's sweep does for an incident without a posted card
        release();
        await first;
        const threads = (c: { calls: Array<{ op: string }> }) => c.calls.filter((x) => x.op === 'thread').length;
        return { a: threads(slow), b: threads(other), ref: await store.getState(`teams:card:${id}`) };
      };
      const renewed = await run(posting.renewMs);
      assert.equal(renewed.a + renewed.b, 1, 'one timeline card');
      assert.equal(renewed.b, 0, 'B left the renewed claim alone');
      assert.match(renewed.ref ?? '', /^\{"conversationId"/);
      // the control: a claimant that does not renew (as before) loses its claim while it waits
      const unrenewed = await run(60_000);
      assert.equal(unrenewed.a + unrenewed.b, 2, 'without renewal the same card is posted twice');
    });

    // --- a card Teams accepted is kept, whatever the store does next ----------------------------

    /** A connection lost to PostgreSQL, as the pg driver reports it (src/store/dialect.ts isConnectionError). */
    const lostConnection = () => Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });

    /**
     * The store with faults: `fault(method, args)` says whether this call fails before it reaches the
     * store ('before'), or runs and then reports the connection lost as if during COMMIT ('after').
     */
    function faultyStore(fault: (method: string, args: unknown[]) => 'before' | 'after' | undefined): Store {
      return new Proxy(store, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver) as unknown;
          if (typeof v !== 'function') return v;
          return async (...args: unknown[]) => {
            const f = fault(String(prop), args);
            if (f === 'before') throw lostConnection();
            const out = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            if (f === 'after') throw lostConnection();
            return out;
          };
        },
      });
    }

    const threads = (c: { calls: Array<{ op: string }> }) => c.calls.filter((x) => x.op === 'thread').length;
    const posting = { staleMs: 150, renewMs: 40, keepPostedMs: 10_000 };

    it('the posted reference\'s commit reported lost (it had landed): one card, the reference kept, the sweep posts nothing more', async () => {
      const { id } = await incidentWithApproval();
      let failed = 0;
      const s = faultyStore((m, args) => (m === 'casState' && args[0] === `teams:card:${id}` && String(args[2]).startsWith('{') && failed++ === 0 ? 'after' : undefined));
      const rec = recordingChannel();
      const n = new TeamsNotifier({ store: s, channel: rec.channel, customerName: () => 'Contoso', log, workerId: 'vm:1:lost-commit', posting });
      await n.incidentChanged(id);
      assert.equal(failed, 2, 'the reference write was tried again after the lost commit');
      await new Promise((r) => setTimeout(r, 300)); // past the stale time of any claim
      await n.sweep();
      assert.equal(threads(rec), 1, 'one timeline card');
      assert.match((await store.getState(`teams:card:${id}`)) ?? '', /^\{"conversationId"/);
    });

    it('the timeline event after a posted card fails (the store restarting): the reference stays, no second card', async () => {
      // Before: the failure released the claim over the stored reference, and the sweep posted again.
      const { id } = await incidentWithApproval();
      let failed = 0;
      const s = faultyStore((m, args) => (m === 'appendTimeline' && args[0] === id && failed++ === 0 ? 'before' : undefined));
      const rec = recordingChannel();
      const n = new TeamsNotifier({ store: s, channel: rec.channel, customerName: () => 'Contoso', log, workerId: 'vm:1:event-lost', posting });
      await n.incidentChanged(id);
      assert.equal(failed, 1);
      await new Promise((r) => setTimeout(r, 300));
      await n.sweep();
      await n.incidentChanged(id);
      assert.equal(threads(rec), 1, 'one timeline card');
      assert.match((await store.getState(`teams:card:${id}`)) ?? '', /^\{"conversationId"/);
    });

    it('the store out of reach for longer than a claim lives: the other replica\'s card is kept, ours is removed from the channel', async () => {
      const { id } = await incidentWithApproval();
      const key = `teams:card:${id}`;
      let outage = false;
      const s = faultyStore((m, args) => (outage && args[0] === key && (m === 'casState' || m === 'getState') ? 'before' : undefined));
      const a = recordingChannel();
      let posted!: () => void;
      const postedNow = new Promise<void>((r) => { posted = r; });
      const aChannel = { ...(a.channel as unknown as Record<string, unknown>), startThread: async () => {
        const out = await (a.channel as unknown as { startThread(): Promise<unknown> }).startThread();
        outage = true; // Teams accepted; the store goes away before the reference is written
        posted();
        return out;
      } } as unknown as TeamsChannel;
      const b = recordingChannel();
      const na = new TeamsNotifier({ store: s, channel: aChannel, customerName: () => 'Contoso', log, workerId: 'vm:1:aaaa', posting });
      const nb = new TeamsNotifier({ store, channel: b.channel, customerName: () => 'Contoso', log, workerId: 'vm:2:bbbb', posting });
      const first = na.incidentChanged(id);
      await postedNow;
      await new Promise((r) => setTimeout(r, 300)); // A's claim is stale: B (which reaches the store) takes it over
      await nb.incidentChanged(id);
      assert.equal(threads(b), 1, 'B posted the card it found unposted');
      outage = false;
      await first;
      const kept = JSON.parse((await store.getState(key))!) as { activityId: string };
      assert.equal(a.calls.filter((c) => c.op === 'remove').length, 1, 'A removed its own card');
      assert.equal(a.calls.find((c) => c.op === 'remove')?.activityId, a.calls.find((c) => c.op === 'thread')?.activityId, 'the removed card is the one A posted');
      assert.notEqual(a.calls.find((c) => c.op === 'remove')?.activityId, kept.activityId, 'the stored card is B\'s, not the removed one');
      assert.equal(b.calls.filter((c) => c.op === 'remove').length, 0);
    });

    it('an approval card whose reference write fails once is kept: the sweep replies no second approval card', async () => {
      const { id, approval } = await incidentWithApproval();
      const rec = recordingChannel();
      await new TeamsNotifier({ store, channel: rec.channel, customerName: () => 'Contoso', log, workerId: 'vm:1:thread', posting }).incidentChanged(id);
      let failed = 0;
      const s = faultyStore((m) => (m === 'setApprovalCard' && failed++ === 0 ? 'before' : undefined));
      const n = new TeamsNotifier({ store: s, channel: rec.channel, customerName: () => 'Contoso', log, workerId: 'vm:1:approval', posting });
      await n.approvalRequested(approval);
      assert.equal(failed, 2, 'the approval card\'s id was stored on the second attempt');
      await new Promise((r) => setTimeout(r, 300));
      await n.sweep();
      // (the sweep also posts other tests' pending approvals in this store: count this thread's replies)
      const thread = JSON.parse((await store.getState(`teams:card:${id}`))!) as { conversationId: string };
      assert.equal(rec.calls.filter((c) => c.op === 'reply' && c.conversationId === thread.conversationId).length, 1, 'one approval card');
      const stored = await store.getApproval(approval.id);
      assert.ok(stored?.cardActivityId, 'the approval knows its card');
    });

    it('the sweep leaves a fresh claim of another instance alone', async () => {
      const { calls, channel } = recordingChannel();
      const n = new TeamsNotifier({ store, channel, customerName: () => 'Contoso', log, workerId: 'w3' });
      const { id, approval } = await incidentWithApproval();
      await n.incidentChanged(id);
      await store.setState(`teams:approval:${approval.id}`, `posting:w-other:${new Date().toISOString()}`);
      await n.sweep();
      const thread = JSON.parse((await store.getState(`teams:card:${id}`))!) as { conversationId: string };
      assert.equal(calls.filter((c) => c.op === 'reply' && c.conversationId === thread.conversationId).length, 0);
    });
  });
});
