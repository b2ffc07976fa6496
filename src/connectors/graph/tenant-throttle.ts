import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
import { runOptionsOf } from './run-options';

/**
 * One customer's Graph throttle: when that tenant answers 429 (or 503) with Retry-After, every
 * call of that customer waits until the time Graph named before it is sent — not just the call
 * that was refused. Graph throttles per tenant and app, so another customer's calls never wait
 * here: each customer has its own gate (see GraphTenant).
 *
 * Sits between the Graph client's RetryHandler and the transport, so a retried attempt passes
 * the gate again.
 */
export class TenantThrottle implements Middleware {
  private next?: Middleware;
  private blockedUntilMs = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  setNext(next: Middleware): void { this.next = next; }

  /** ms until this customer may call Graph again (0 = now) */
  waitMs(): number { return Math.max(0, this.blockedUntilMs - this.clock()); }

  async execute(context: Context): Promise<void> {
    const signal = runOptionsOf(context)?.signal;
    await this.pass(signal);
    await this.next!.execute(context);
    const res = context.response;
    if (res && (res.status === 429 || res.status === 503)) {
      const ms = retryAfterMs(res.headers.get('retry-after'), this.clock());
      if (ms !== undefined) this.blockedUntilMs = Math.max(this.blockedUntilMs, this.clock() + ms);
    }
  }

  private async pass(signal: AbortSignal | undefined): Promise<void> {
    for (let ms = this.waitMs(); ms > 0; ms = this.waitMs()) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      await new Promise<void>((resolve, reject) => {
        const done = () => { signal?.removeEventListener('abort', onAbort); resolve(); };
        const timer = setTimeout(done, ms);
        const onAbort = () => { clearTimeout(timer); reject(signal!.reason ?? new Error('aborted')); };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}

/** Retry-After as Graph sends it (delta seconds) or as HTTP allows it (an HTTP date); capped at 5 minutes. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  const v = header.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(Math.max(0, ms), 5 * 60_000);
}
