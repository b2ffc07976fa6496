import assert from 'node:assert/strict';
import { withTestStores, uniqueId } from '../support/store-factory';
import { StoreInputError } from '../../src/store/errors';
import { SharedSendLimiter } from '../../src/bot/shared-send-limiter';
import { conversationRateKey } from '../../src/bot/teams-rate-limits';
import type { SendRateKey, Store } from '../../src/store/store';

/** The most sends found in any window of `windowMs` (half-open (t - windowMs, t]) of sorted times. */
function busiestWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[j] <= t[i] - windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

withTestStores((_name, make) => {
  describe('shared send rate (0007): two Store instances on one database are two replicas', () => {
    let a: Store;
    let b: Store;
    before(async () => { a = await make(); b = await make(); });

    const windows = [{ windowMs: 1_000, max: 7 }, { windowMs: 2_000, max: 8 }];
    const key = (): SendRateKey => ({ key: uniqueId('conv'), windows });

    it('grants at most the window\'s count at one instant, across both replicas, and says when to come back', async () => {
      const k = key();
      const t0 = new Date('2026-12-02T05:00:00.000Z');
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).takeSendSlot([k], t0)));
      assert.equal(answers.filter((x) => x.granted).length, 7, '7 per second, whichever replica asked');
      for (const x of answers.filter((y) => !y.granted)) assert.equal((x as { retryAt: Date }).retryAt.toISOString(), '2026-12-02T05:00:01.000Z');
      // 1 s later the 1 s window has room, but 8 per 2 s allows only one more
      const t1 = new Date(t0.getTime() + 1_000);
      const later = await Promise.all(Array.from({ length: 5 }, (_, i) => (i % 2 ? a : b).takeSendSlot([k], t1)));
      assert.equal(later.filter((x) => x.granted).length, 1);
      for (const x of later.filter((y) => !y.granted)) assert.equal((x as { retryAt: Date }).retryAt.toISOString(), '2026-12-02T05:00:02.000Z');
    });

    it('two replicas sending as fast as the limiter lets them never exceed any window', async function () {
      this.timeout(30_000);
      const k = key();
      const granted: number[] = [];
      // Both replicas ask at once, in parallel, on a shared virtual clock that moves 25 ms per ask:
      // their asks reach the database interleaved and sometimes out of time order.
      let clock = Date.parse('2026-12-02T06:00:00.000Z');
      const replica = async (s: Store) => {
        for (let i = 0; i < 60; i++) {
          const at = (clock += 25);
          if ((await s.takeSendSlot([k], new Date(at))).granted) granted.push(at);
        }
      };
      await Promise.all([replica(a), replica(b)]);
      assert.ok(granted.length >= 10, `some sends went (${granted.length})`);
      assert.ok(busiestWindow(granted, 1_000) <= 7, 'at most 7 in any second');
      assert.ok(busiestWindow(granted, 2_000) <= 8, 'at most 8 in any 2 seconds');
    });

    it('a slot is taken on every key or on none: a full app key refuses a free conversation', async () => {
      const app = { key: uniqueId('app'), windows: [{ windowMs: 1_000, max: 2 }] };
      const t = new Date('2026-12-02T07:00:00.000Z');
      assert.equal((await a.takeSendSlot([key(), app], t)).granted, true);
      assert.equal((await b.takeSendSlot([key(), app], t)).granted, true);
      const conv = key();
      const third = await a.takeSendSlot([conv, app], t);
      assert.equal(third.granted, false, 'the app key is full');
      // the refused take recorded nothing on the conversation: it still has its 7
      const burst = await Promise.all(Array.from({ length: 8 }, () => b.takeSendSlot([conv], t)));
      assert.equal(burst.filter((x) => x.granted).length, 7);
    });

    it('a Retry-After recorded by one replica holds the other; a shorter hold never shortens it', async () => {
      const k = key();
      const t = new Date('2026-12-02T08:00:00.000Z');
      await a.holdSendKey(k.key, new Date(t.getTime() + 3_000));
      await a.holdSendKey(k.key, new Date(t.getTime() + 1_000));
      const r = await b.takeSendSlot([k], t);
      assert.equal(r.granted, false);
      assert.equal((r as { retryAt: Date }).retryAt.toISOString(), '2026-12-02T08:00:03.000Z');
      assert.equal((await b.takeSendSlot([k], new Date(t.getTime() + 3_000))).granted, true);
    });

    it('refuses bad keys and windows with a clear error and records nothing', async () => {
      const t = new Date('2026-12-02T09:00:00.000Z');
      const k = key();
      await assert.rejects(a.takeSendSlot([], t), StoreInputError);
      await assert.rejects(a.takeSendSlot([k, k], t), /given twice/);
      await assert.rejects(a.takeSendSlot([{ key: k.key, windows: [{ windowMs: 0, max: 1 }] }], t), /windowMs/);
      await assert.rejects(a.takeSendSlot([{ key: k.key, windows: [{ windowMs: 1000, max: 1.5 }] }], t), /max/);
      await assert.rejects(a.takeSendSlot([k], new Date(Number.NaN)), StoreInputError);
      const burst = await Promise.all(Array.from({ length: 8 }, () => a.takeSendSlot([k], t)));
      assert.equal(burst.filter((x) => x.granted).length, 7, 'nothing was recorded by the refused calls');
    });

    it('SharedSendLimiter: a 429 hold from replica A makes replica B wait until it ends', async () => {
      let now = Date.parse('2026-12-02T10:00:00.000Z');
      const slept: number[] = [];
      const clock = { now: () => now, sleep: async (ms: number) => { slept.push(ms); now += ms; } };
      const conv = uniqueId('19:thread');
      const limA = new SharedSendLimiter({ store: a, clock, jitterMs: 0, marginMs: 0 });
      const limB = new SharedSendLimiter({ store: b, clock, jitterMs: 0, marginMs: 0 });
      await limA.acquire(conv);
      await limA.hold(conv, 2_500);
      await limB.acquire(conv);
      assert.deepEqual(slept, [2_500], 'B slept exactly until the hold ended');
      assert.equal(limB.stats.waits, 1);
      // and the hold was on the conversation's key only
      const other = await b.takeSendSlot([{ key: conversationRateKey(uniqueId('19:other')), windows }], new Date(now - 2_500));
      assert.equal(other.granted, true);
    });
  });

  describe('state listing and conditional delete', () => {
    let s: Store;
    before(async () => { s = await make(); });
    it('lists by prefix (a % or _ in it is literal) and deletes only the expected value', async () => {
      const p = `${uniqueId('p')}%_:`;
      await s.setState(`${p}a`, '1');
      await s.setState(`${p}b`, '2');
      await s.setState(`${p.replace('%', 'x')}c`, '3');
      assert.deepEqual(await s.listState(p), [{ key: `${p}a`, value: '1' }, { key: `${p}b`, value: '2' }]);
      assert.equal(await s.deleteState(`${p}a`, 'other'), false);
      assert.equal(await s.deleteState(`${p}a`, '1'), true);
      assert.equal(await s.getState(`${p}a`), undefined);
      assert.equal(await s.deleteState(`${p}a`, '1'), false);
    });
  });
});
