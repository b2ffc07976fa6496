import type { SendRateKey, Store } from '../store/store';
import { systemClock, type QueueClock } from './send-queue';
import { conversationRateKey, PER_APP_PER_TENANT, PER_BOT_PER_THREAD, type RateWindow } from './teams-rate-limits';

/**
 * Teams' rate limits kept by all replicas together: before each Bot Connector call the sender takes
 * a slot in the store (src/store: takeSendSlot, one transaction over the conversation's key and the
 * app+tenant key), waiting until the store grants one; a 429's Retry-After is recorded on the
 * conversation's key (holdSendKey), so the other replicas wait it out too. Without this, three
 * replicas each pacing alone send three times what Teams allows into a busy thread.
 *
 * The gate the SendQueue calls (src/bot/send-queue.ts); pure TypeScript over the Store port.
 */
export interface SendGate {
  /** Resolves when this process may send to the conversation (and, given `appKey`, as the app in its tenant). */
  acquire(conversationId: string, appKey?: string): Promise<void>;
  /** Teams answered 429 with this wait: every replica holds the conversation for it. */
  hold(conversationId: string, retryAfterMs: number): Promise<void>;
}

export interface SharedSendLimiterStats {
  /** slots granted */
  granted: number;
  /** refusals waited out (each one store round trip and a sleep) */
  waits: number;
  /** total time slept for slots, ms */
  waitedMs: number;
  /** Retry-After holds recorded */
  holds: number;
}

export class SharedSendLimiter implements SendGate {
  readonly stats: SharedSendLimiterStats = { granted: 0, waits: 0, waitedMs: 0, holds: 0 };
  private readonly clock: QueueClock;
  private readonly perThread: readonly RateWindow[];
  private readonly perApp: readonly RateWindow[];
  private readonly jitterMs: number;

  constructor(private readonly o: {
    store: Pick<Store, 'takeSendSlot' | 'holdSendKey'>;
    clock?: QueueClock;
    /** the documented figures by default (src/bot/teams-rate-limits.ts); smaller in tests */
    perThread?: readonly RateWindow[];
    perApp?: readonly RateWindow[];
    /**
     * Up to this much random extra wait after a refusal, so replicas refused together do not all
     * come back in the same millisecond and lock the same row again (Microsoft's advice for 429s).
     */
    jitterMs?: number;
    /**
     * Added to every window. A slot is granted at the sender's clock, but Teams counts when the
     * call arrives, after this process has built and sent it: calls granted a full window apart
     * can arrive less than a window apart when the earlier one was slower on its way. 250 ms covers
     * what a busy replica was seen to take; it costs a few percent of the 1 s and 2 s budgets only.
     */
    marginMs?: number;
  }) {
    this.clock = o.clock ?? systemClock;
    const margin = o.marginMs ?? 250;
    const widen = (ws: readonly RateWindow[]) => ws.map((w) => ({ windowMs: w.windowMs + margin, max: w.max }));
    this.perThread = widen(o.perThread ?? PER_BOT_PER_THREAD);
    this.perApp = widen(o.perApp ?? PER_APP_PER_TENANT);
    this.jitterMs = o.jitterMs ?? 15;
  }

  async acquire(conversationId: string, appKey?: string): Promise<void> {
    const keys: SendRateKey[] = [{ key: conversationRateKey(conversationId), windows: this.perThread }];
    if (appKey) keys.push({ key: appKey, windows: this.perApp });
    for (;;) {
      const slot = await this.o.store.takeSendSlot(keys, new Date(this.clock.now()));
      if (slot.granted) {
        this.stats.granted++;
        return;
      }
      const wait = Math.max(1, slot.retryAt.getTime() - this.clock.now()) + Math.floor(Math.random() * (this.jitterMs + 1));
      this.stats.waits++;
      this.stats.waitedMs += wait;
      await this.clock.sleep(wait);
    }
  }

  async hold(conversationId: string, retryAfterMs: number): Promise<void> {
    this.stats.holds++;
    await this.o.store.holdSendKey(conversationRateKey(conversationId), new Date(this.clock.now() + Math.max(0, retryAfterMs)));
  }
}
