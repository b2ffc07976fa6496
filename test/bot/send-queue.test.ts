import assert from 'node:assert/strict';
import { SendQueue, SendThrottledError, detectHttp429, parseRetryAfter, type QueueClock } from '../../src/bot/send-queue';

/** Virtual time: sleeps resolve only when the test advances the clock past them. */
class FakeClock implements QueueClock {
  private t = 0;
  private timers: Array<{ at: number; resolve: () => void }> = [];
  readonly sleeps: number[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve) => this.timers.push({ at: this.t + ms, resolve }));
  }
  /** Runs timers in time order until nothing is pending (microtasks flushed between steps). */
  async runAll(): Promise<void> {
    for (let guard = 0; guard < 10_000; guard++) {
      await new Promise((r) => setImmediate(r));
      if (this.timers.length === 0) return;
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers.shift()!;
      this.t = Math.max(this.t, next.at);
      next.resolve();
    }
    throw new Error('fake clock: runaway timers');
  }
}

function http429(retryAfter?: string): Error {
  return Object.assign(new Error('Too Many Requests'), {
    statusCode: 429,
    response: { status: 429, headers: new Map(retryAfter === undefined ? [] : [['retry-after', retryAfter]]) },
  });
}

describe('SendQueue', () => {
  it('runs one conversation serially, in order, spaced by the minimum gap', async () => {
    const clock = new FakeClock();
    const q = new SendQueue({ clock, minGapMs: 500 });
    const log: Array<[string, number]> = [];
    let running = 0;
    const send = (label: string) =>
      q.enqueue('conv-a', async () => {
        running++;
        assert.equal(running, 1, 'never two sends at once in one conversation');
        log.push([label, clock.now()]);
        await Promise.resolve();
        running--;
        return label;
      });
    const results = Promise.all([send('1'), send('2'), send('3')]);
    await clock.runAll();
    assert.deepEqual(await results, ['1', '2', '3']);
    assert.deepEqual(log, [['1', 0], ['2', 500], ['3', 1000]]);
  });

  it('among the sends waiting for one conversation a higher priority goes first, equal ones in order; the running send is not interrupted', async () => {
    const clock = new FakeClock();
    const q = new SendQueue({ clock, minGapMs: 500 });
    const order: string[] = [];
    const send = (label: string, priority?: number) => q.enqueue('channel', async () => { order.push(label); return label; }, undefined, priority);
    // a storm: low-severity threads queued first, then high ones and the handoff
    const all = Promise.all([send('low-1', 2), send('low-2', 2), send('plain'), send('high-1', 4), send('handoff', 10), send('high-2', 4), send('low-3', 2)]);
    await clock.runAll();
    await all;
    // low-1 had started before the others were queued: it is not pre-empted
    assert.deepEqual(order, ['low-1', 'handoff', 'high-1', 'high-2', 'low-2', 'low-3', 'plain']);
  });

  it('keeps going after a failed (non-429) send, and that failure reaches only its caller', async () => {
    const clock = new FakeClock();
    const q = new SendQueue({ clock, minGapMs: 100 });
    const boom = q.enqueue('c', async () => {
      throw new Error('400 bad card');
    });
    const ok = q.enqueue('c', async () => 'sent');
    const settled = Promise.allSettled([boom, ok]);
    await clock.runAll();
    const [a, b] = await settled;
    assert.equal(a.status, 'rejected');
    assert.match(String((a as PromiseRejectedResult).reason), /400 bad card/);
    assert.deepEqual(b, { status: 'fulfilled', value: 'sent' });
  });

  it('runs different conversations in parallel', async () => {
    const clock = new FakeClock();
    const q = new SendQueue({ clock, minGapMs: 500 });
    const starts: Record<string, number[]> = { a: [], b: [] };
    const all = Promise.all(
      ['a', 'b', 'a', 'b'].map((k) =>
        q.enqueue(k, async () => {
          starts[k].push(clock.now());
        }),
      ),
    );
    await clock.runAll();
    await all;
    assert.deepEqual(starts, { a: [0, 500], b: [0, 500] });
  });

  it('honours Retry-After on 429 and retries the same task', async () => {
    const clock = new FakeClock();
    const q = new SendQueue({ clock, minGapMs: 100 });
    const attempts: number[] = [];
    const p = q.enqueue('c', async () => {
      attempts.push(clock.now());
      if (attempts.length < 3) throw http429('2');
      return 'delivered';
    });
    await clock.runAll();
    assert.equal(await p, 'delivered');
    assert.deepEqual(attempts, [0, 2000, 4000]);
  });

  it('retries Teams\' other documented transient answers (412, 502, 504) with a growing back-off; not 500, 403 or 404', async () => {
    const status = (code: number) => Object.assign(new Error(`HTTP ${code}`), { statusCode: code });
    for (const code of [412, 502, 504]) {
      const clock = new FakeClock();
      const q = new SendQueue({ clock, minGapMs: 0 });
      const attempts: number[] = [];
      const p = q.enqueue('c', async () => {
        attempts.push(clock.now());
        if (attempts.length < 3) throw status(code);
        return 'delivered';
      });
      await clock.runAll();
      assert.equal(await p, 'delivered', `HTTP ${code}`);
      assert.equal(attempts.length, 3);
      const [first, second] = [attempts[1] - attempts[0], attempts[2] - attempts[1]];
      assert.ok(first >= 1000 && first <= 1250 && second >= 2000 && second <= 2500, `back-off ${first}, ${second} ms`);
    }
    for (const code of [500, 403, 404]) {
      const clock = new FakeClock();
      const q = new SendQueue({ clock, minGapMs: 0 });
      let attempts = 0;
      const p = q.enqueue('c', async () => { attempts++; throw status(code); });
      const settled = p.then(() => 'resolved', (e: { statusCode?: number }) => e.statusCode);
      await clock.runAll();
      assert.equal(await settled, code);
      assert.equal(attempts, 1, `HTTP ${code} is not retried (a 500 to a POST may have posted)`);
    }
  });

  it('a transient answer that lasts: the last error reaches the caller after the bounded attempts', async () => {
    const clock = new FakeClock();
    const q = new SendQueue({ clock, minGapMs: 0, maxAttempts: 3 });
    let attempts = 0;
    const p = q.enqueue('c', async () => { attempts++; throw Object.assign(new Error('Bad Gateway'), { statusCode: 502 }); });
    const settled = p.then(() => undefined, (e: { statusCode?: number }) => e.statusCode);
    await clock.runAll();
    assert.equal(await settled, 502);
    assert.equal(attempts, 3);
  });

  it('waits the default 1 s when a 429 has no Retry-After, and caps absurd values', async () => {
    const clock = new FakeClock();
    const q = new SendQueue({ clock, minGapMs: 0, maxRetryAfterMs: 5000 });
    const attempts: number[] = [];
    const p = q.enqueue('c', async () => {
      attempts.push(clock.now());
      if (attempts.length === 1) throw http429();
      if (attempts.length === 2) throw http429('86400');
      return 'ok';
    });
    await clock.runAll();
    assert.equal(await p, 'ok');
    assert.deepEqual(attempts, [0, 1000, 6000]);
  });

  it('gives up after the bounded number of attempts with an actionable error', async () => {
    const clock = new FakeClock();
    const q = new SendQueue({ clock, minGapMs: 0, maxAttempts: 3 });
    let calls = 0;
    const p = q.enqueue('19:sec-ir@thread.tacv2;messageid=1', async () => {
      calls++;
      throw http429('1');
    });
    const settled = p.then(
      () => assert.fail('should not resolve'),
      (e: unknown) => e,
    );
    await clock.runAll();
    const err = await settled;
    assert.ok(err instanceof SendThrottledError);
    assert.equal(err.attempts, 3);
    assert.equal(calls, 3);
    assert.match(err.message, /gave up after 3 attempts/);
  });

  it('uses an injected throttle detector', async () => {
    const clock = new FakeClock();
    const q = new SendQueue({ clock, minGapMs: 0, isThrottled: (e) => ((e as Error).message === 'slow down' ? { retryAfterMs: 300 } : undefined) });
    let n = 0;
    const p = q.enqueue('c', async () => {
      if (n++ === 0) throw new Error('slow down');
      return clock.now();
    });
    await clock.runAll();
    assert.equal(await p, 300);
  });
});

describe('SendQueue with a shared gate (the replicas\' limiter)', () => {
  it('takes a slot before every attempt and leaves a 429\'s wait to the gate (held for every replica), not a local sleep', async () => {
    const clock = new FakeClock();
    const events: string[] = [];
    const gate = {
      acquire: async (key: string, appKey?: string) => { events.push(`acquire ${key} ${appKey}`); },
      hold: async (key: string, ms: number) => { events.push(`hold ${key} ${ms}`); },
    };
    const q = new SendQueue({ clock, minGapMs: 0, gate });
    let n = 0;
    const p = q.enqueue('conv-a', async () => {
      events.push('send');
      if (n++ === 0) throw http429('2');
      return 'sent';
    }, 'app-t');
    await clock.runAll();
    assert.equal(await p, 'sent');
    assert.deepEqual(events, ['acquire conv-a app-t', 'send', 'hold conv-a 2000', 'acquire conv-a app-t', 'send']);
    assert.deepEqual(clock.sleeps, [], 'the wait is the gate\'s (its next acquire), not slept twice');
  });

  it('a send the gate refuses to admit (the store is down) fails to its caller and the lane goes on', async () => {
    const clock = new FakeClock();
    let down = true;
    const gate = { acquire: async () => { if (down) throw new Error('store unreachable'); }, hold: async () => undefined };
    const q = new SendQueue({ clock, minGapMs: 0, gate });
    const first = q.enqueue('c', async () => 'never');
    const failed = assert.rejects(first, /store unreachable/);
    await clock.runAll();
    await failed;
    down = false;
    const second = q.enqueue('c', async () => 'sent');
    await clock.runAll();
    assert.equal(await second, 'sent');
  });
});

describe('detectHttp429 / parseRetryAfter', () => {
  it('reads botbuilder-style RestErrors and plain shapes', () => {
    assert.deepEqual(detectHttp429(http429('3')), { retryAfterMs: 3000 });
    assert.deepEqual(detectHttp429({ status: 429, headers: { 'Retry-After': '1' } }), { retryAfterMs: 1000 });
    assert.deepEqual(detectHttp429({ statusCode: 429, retryAfter: 4 }), { retryAfterMs: 4000 });
    assert.deepEqual(detectHttp429({ statusCode: 429 }), { retryAfterMs: undefined });
    assert.equal(detectHttp429({ statusCode: 500 }), undefined);
    assert.equal(detectHttp429(new Error('x')), undefined);
    assert.equal(detectHttp429(null), undefined);
  });
  it('parses seconds and HTTP-dates, rejects garbage', () => {
    const now = Date.parse('2024-05-01T10:00:00Z');
    assert.equal(parseRetryAfter('5', now), 5000);
    assert.equal(parseRetryAfter('Wed, 01 May 2024 10:00:07 GMT', now), 7000);
    assert.equal(parseRetryAfter('Wed, 01 May 2024 09:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(-1, now), undefined);
  });
});
