/**
 * Per-conversation send queue for Bot Connector calls.
 *
 * Teams throttles bots per conversation (documented: 7 messages/1 s, 8/2 s, 60/30 s, 1800/1 h per
 * bot per thread) and answers 429 with Retry-After. Sends to one conversation therefore run one at
 * a time, spaced by a minimum gap, while different conversations proceed in parallel. A throttled
 * send is retried after Retry-After, a bounded number of times; a 412, 502 or 504 (Teams' other
 * documented transient answers) after an exponential back-off, within the same bound.
 *
 * Pure TypeScript: the 429 detection is injectable, so no botbuilder import is needed here.
 */

export interface QueueClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: QueueClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** What the queue needs to know about a failed send: is it throttling, and how long to wait. */
export interface Throttle {
  /** Milliseconds from Retry-After, if the server sent one. */
  retryAfterMs?: number;
}

export type ThrottleDetector = (err: unknown) => Throttle | undefined;

export interface SendQueueOptions {
  /**
   * Minimum time between the starts of two sends to one conversation. 500 ms keeps a busy thread
   * under the binding sustained limit (60 per 30 s) and far under the burst ones.
   */
  minGapMs?: number;
  /** Total attempts of one task, the first included. */
  maxAttempts?: number;
  /** Wait when a 429 carries no usable Retry-After. */
  defaultRetryAfterMs?: number;
  /** Upper bound on any single Retry-After wait, so a bad header cannot park a conversation. */
  maxRetryAfterMs?: number;
  isThrottled?: ThrottleDetector;
  clock?: QueueClock;
  /**
   * The limiter shared by every replica (src/bot/shared-send-limiter.ts): each attempt first takes
   * its slot there, and a 429's Retry-After is recorded there for all replicas instead of slept here.
   */
  gate?: {
    acquire(conversationKey: string, appKey?: string): Promise<void>;
    hold(conversationKey: string, retryAfterMs: number): Promise<void>;
  };
}

export class SendThrottledError extends Error {
  constructor(
    readonly conversationKey: string,
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(`Teams kept throttling sends to conversation ${conversationKey}: gave up after ${attempts} attempts (HTTP 429)`);
    this.name = 'SendThrottledError';
  }
}

/** Parses a Retry-After value: delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: unknown, now: number): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * 1000;
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function headerOf(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?: (n: string) => unknown } & Record<string, unknown>;
  if (typeof h.get === 'function') return h.get(name);
  const key = Object.keys(h).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : h[key];
}

/**
 * Teams' documented transient answers besides 429: "In addition to retrying error code 429, you must
 * also retry error codes 412, 502, and 504" (Microsoft Learn, "Optimize your bot with rate limiting
 * in Teams"). botbuilder's client used to retry these (and every 5xx) itself, unseen by the shared
 * limiter; it no longer does (src/bot/connector-write-retries.ts), so the queue does, through the gate.
 */
const TEAMS_TRANSIENT_STATUSES = new Set([412, 502, 504]);

export function isTeamsTransient(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { statusCode?: unknown; status?: unknown; response?: { status?: unknown } };
  const status = e.statusCode ?? e.status ?? e.response?.status;
  return typeof status === 'number' && TEAMS_TRANSIENT_STATUSES.has(status);
}

/** 1 s, 2 s, 4 s … capped at 8 s, with up to 25 % jitter so replicas do not retry in step. */
function transientBackoffMs(attempt: number): number {
  const base = Math.min(8000, 1000 * 2 ** (attempt - 1));
  return base + Math.floor(Math.random() * base * 0.25);
}

/**
 * Recognises a 429 the way botbuilder surfaces it: a RestError with `statusCode` 429 and the
 * response headers on `response.headers` (a HttpHeaders with `get`), or a plain object with
 * `status`/`headers`/`retryAfter`.
 */
export function detectHttp429(err: unknown, now: number = Date.now()): Throttle | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as {
    statusCode?: unknown;
    status?: unknown;
    retryAfter?: unknown;
    headers?: unknown;
    response?: { status?: unknown; headers?: unknown };
  };
  const status = e.statusCode ?? e.status ?? e.response?.status;
  if (status !== 429) return undefined;
  const raw = e.retryAfter ?? headerOf(e.headers, 'retry-after') ?? headerOf(e.response?.headers, 'retry-after');
  return { retryAfterMs: parseRetryAfter(raw, now) };
}

interface Waiting {
  priority: number;
  seq: number;
  run(): Promise<void>;
}

interface Lane {
  /** sends not yet started: highest priority first, then in the order they came */
  waiting: Waiting[];
  running: boolean;
  pending: number;
  /** start time of the last attempt in this conversation */
  lastStart: number;
}

const SWEEP_THRESHOLD = 256;

export class SendQueue {
  private readonly lanes = new Map<string, Lane>();
  private readonly minGapMs: number;
  private readonly maxAttempts: number;
  private readonly defaultRetryAfterMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly isThrottled: ThrottleDetector;
  private readonly clock: QueueClock;
  private readonly gate: SendQueueOptions['gate'];
  private seq = 0;

  constructor(opts: SendQueueOptions = {}) {
    this.minGapMs = opts.minGapMs ?? 500;
    this.maxAttempts = opts.maxAttempts ?? 4;
    this.defaultRetryAfterMs = opts.defaultRetryAfterMs ?? 1000;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 30_000;
    this.clock = opts.clock ?? systemClock;
    this.gate = opts.gate;
    this.isThrottled = opts.isThrottled ?? ((err) => detectHttp429(err, this.clock.now()));
    if (this.maxAttempts < 1) throw new RangeError('maxAttempts must be at least 1');
    if (this.minGapMs < 0) throw new RangeError('minGapMs must not be negative');
  }

  /** Number of conversations with queued or running sends. */
  get activeConversations(): number {
    let n = 0;
    for (const lane of this.lanes.values()) if (lane.pending > 0) n++;
    return n;
  }

  /**
   * `appKey`: the app-in-tenant key of the shared limiter (src/bot/teams-rate-limits.ts), when there is one.
   * `priority`: among the sends still waiting for this conversation, a higher one goes first (equal
   * ones in the order they came). In a storm hundreds of new threads wait for the channel's slots
   * (Teams allows 60 per 30 s): the high-severity incidents' cards and the handoff go first.
   */
  enqueue<T>(conversationKey: string, task: () => Promise<T>, appKey?: string, priority = 0): Promise<T> {
    if (this.lanes.size >= SWEEP_THRESHOLD) this.sweepIdleLanes();
    let lane = this.lanes.get(conversationKey);
    if (!lane) {
      lane = { waiting: [], running: false, pending: 0, lastStart: Number.NEGATIVE_INFINITY };
      this.lanes.set(conversationKey, lane);
    }
    const l = lane;
    l.pending++;
    return new Promise<T>((resolve, reject) => {
      const entry: Waiting = {
        priority,
        seq: this.seq++,
        run: () => this.runWithRetries(conversationKey, l, task, appKey).then(resolve, reject),
      };
      // stable insert: after every entry of the same or a higher priority
      let at = l.waiting.length;
      while (at > 0 && l.waiting[at - 1].priority < priority) at--;
      l.waiting.splice(at, 0, entry);
      this.pump(l);
    });
  }

  /** Starts the lane's next send when none runs; the lane continues whether a send succeeded or failed. */
  private pump(l: Lane): void {
    if (l.running) return;
    const next = l.waiting.shift();
    if (!next) return;
    l.running = true;
    void next.run().finally(() => {
      l.running = false;
      l.pending--;
      this.pump(l);
    });
  }

  private async runWithRetries<T>(key: string, lane: Lane, task: () => Promise<T>, appKey?: string): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const wait = lane.lastStart + this.minGapMs - this.clock.now();
      if (wait > 0) await this.clock.sleep(wait);
      if (this.gate) await this.gate.acquire(key, appKey);
      lane.lastStart = this.clock.now();
      try {
        return await task();
      } catch (err) {
        const throttle = this.isThrottled(err);
        if (!throttle) {
          if (!isTeamsTransient(err) || attempt >= this.maxAttempts) throw err;
          // Not Teams' "slow down" for everyone: this send alone waits, then takes a slot again.
          await this.clock.sleep(transientBackoffMs(attempt));
          continue;
        }
        if (attempt >= this.maxAttempts) throw new SendThrottledError(key, attempt, err);
        const retryAfter = Math.min(throttle.retryAfterMs ?? this.defaultRetryAfterMs, this.maxRetryAfterMs);
        // Shared: the hold makes the next acquire (here and on every replica) wait it out.
        if (this.gate) await this.gate.hold(key, retryAfter);
        else await this.clock.sleep(retryAfter);
        // The server's wait already covers the gap; do not add minGap on top of it.
        lane.lastStart = Number.NEGATIVE_INFINITY;
      }
    }
  }

  /** Drops idle lanes whose gap has passed, so thousands of finished threads do not pile up. */
  private sweepIdleLanes(): void {
    const now = this.clock.now();
    for (const [key, lane] of this.lanes) {
      if (lane.pending === 0 && lane.lastStart + this.minGapMs <= now) this.lanes.delete(key);
    }
  }
}
