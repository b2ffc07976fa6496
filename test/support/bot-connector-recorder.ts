import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { MSP } from '../../src/sandbox/contoso';
import { PER_APP_PER_TENANT, PER_BOT_PER_THREAD, PER_THREAD_ALL_BOTS, type RateWindow } from '../../src/bot/teams-rate-limits';

/**
 * A stand-in for the Bot Connector service (the Bot Framework REST API a bot calls at the
 * activity's serviceUrl), recording every call. It outlives the bot process in the crash tests, so
 * a test can tell "the restarted bot updated the same card" (PUT on the same activity id) from
 * "it posted a new thread" (a second POST /v3/conversations).
 *
 * Routes, as botframework-connector's ConnectorClient calls them:
 *   POST /v3/conversations                                   createConversation → { id, activityId }
 *   POST /v3/conversations/{conversationId}/activities         sendToConversation → { id }
 *   POST /v3/conversations/{conversationId}/activities/{id}    replyToActivity → { id }
 *   PUT  /v3/conversations/{conversationId}/activities/{id}    updateActivity → { id }
 *   DELETE /v3/conversations/{conversationId}/activities/{id}  deleteActivity → 200
 */
export const TEAM = {
  tenantId: MSP.tenantId,
  teamId: '19:msp-soc-general@thread.tacv2',
  channelId: '19:sec-ir@thread.tacv2',
  channelName: 'sec-ir',
  bot: { id: '28:4f3e2d1c-0b9a-4876-a5b4-c3d2e1f0a9b8', name: 'ir' },
} as const;

export interface ConnectorCall {
  kind: 'createConversation' | 'send' | 'reply' | 'update' | 'delete';
  conversationId: string;
  /** the message's id: new for create/send/reply, the updated one for update */
  activityId: string;
  activity: Record<string, unknown>;
  at: number;
}

/** A call the enforcing recorder answered 429 (Too Many Requests), as Teams would have. */
export interface ThrottledCall {
  kind: ConnectorCall['kind'];
  conversationId: string;
  /** the limit it broke: `conversation <id> <max>/<window> ms` or `app <max>/<window> ms` */
  limit: string;
  retryAfterMs: number;
  at: number;
}

export interface EnforceLimits {
  /** per conversation (thread; a new thread counts on its channel), every caller together; Teams' figures by default */
  perConversation?: readonly RateWindow[];
  /** every call of the app in the tenant; Teams' 50 per second by default */
  perApp?: readonly RateWindow[];
}

export interface RecordedConnectorOptions {
  /**
   * Answer 429 with Retry-After (whole seconds, as Teams sends it) to a call that would break
   * Teams' documented limits (src/bot/teams-rate-limits.ts), counting every caller (all replicas)
   * together as Teams does. A refused call is not counted against the limits.
   */
  enforceLimits?: boolean | EnforceLimits;
}

export interface RecordedConnector {
  /** the serviceUrl to put in activities and in the stored channel reference */
  serviceUrl: string;
  calls: ConnectorCall[];
  /** the latest content of every message (posted, then replaced by updates) */
  messages: Map<string, { conversationId: string; activity: Record<string, unknown> }>;
  /**
   * Holds the answer to every reply whose card text matches `cardText` for `ms` (0 clears): the
   * message is delivered (recorded) at once, the bot learns its id only when the answer comes.
   */
  delayCardReplies(cardText: RegExp, ms: number): void;
  /** the store's ChannelRef ('teams:channel') for this connector's #sec-ir */
  channelRef(): Record<string, unknown>;
  /** enforcing mode: every call answered 429 */
  throttled: ThrottledCall[];
  /**
   * enforcing mode: calls that came back to a conversation before the Retry-After its last 429 gave
   * had passed (a 429 the caller ignored); a call arriving within `EARLY_GRACE_MS` of that 429 was
   * already on its way and is not counted
   */
  earlyRetries: ThrottledCall[];
  /** enforcing mode: other limits from now on (a test tightens them to force 429s); the counts so far are kept */
  setLimits(limits: EnforceLimits): void;
  /** enforcing mode: a 429 storm: every call answered 429 with this Retry-After until `refuseAll(0)` */
  refuseAll(retryAfterMs: number): void;
  close(): Promise<void>;
}

/** Sliding-window counters over every caller, and what a 429 told each key. */
export const EARLY_GRACE_MS = 200;

class TeamsLimits {
  private readonly sent = new Map<string, number[]>();
  private readonly notBefore = new Map<string, { from: number; until: number }>();
  /** > 0: every call is refused with this Retry-After */
  refuseAllMs = 0;
  constructor(public perConversation: readonly RateWindow[], public perApp: readonly RateWindow[]) {}

  /** undefined: admitted and counted; else the limit broken, the wait, and whether the caller came back too early. */
  admit(conversationKey: string, at: number): { limit: string; retryAfterMs: number; early: boolean } | undefined {
    const keys: Array<[string, readonly RateWindow[], string]> = [
      [`conv:${conversationKey}`, this.perConversation, `conversation ${conversationKey}`],
      ['app', this.perApp, 'app'],
    ];
    // Early: back in this conversation before the Retry-After its last 429 gave had passed.
    const told = this.notBefore.get(conversationKey);
    const early = !!told && at > told.from + EARLY_GRACE_MS && at < told.until;
    if (this.refuseAllMs > 0) {
      this.notBefore.set(conversationKey, { from: at, until: at + this.refuseAllMs });
      return { limit: 'storm (every call refused)', retryAfterMs: this.refuseAllMs, early };
    }
    for (const [k, windows, label] of keys) {
      const log = this.sent.get(k) ?? [];
      for (const w of windows) {
        const inWindow = log.filter((t) => t > at - w.windowMs);
        if (inWindow.length < w.max) continue;
        const wait = inWindow[inWindow.length - w.max] + w.windowMs - at;
        const retryAfterMs = Math.max(1, Math.ceil(wait / 1000)) * 1000;
        this.notBefore.set(conversationKey, { from: at, until: at + retryAfterMs });
        return { limit: `${label} ${w.max}/${w.windowMs} ms`, retryAfterMs, early };
      }
    }
    for (const [k] of keys) {
      // kept for the longest window any limit may use (setLimits can widen them later)
      const longest = 3_600_000;
      this.sent.set(k, [...(this.sent.get(k) ?? []).filter((t) => t > at - longest), at]);
    }
    return early ? { limit: 'none (admitted)', retryAfterMs: 0, early } : undefined;
  }
}

export async function startRecordedConnector(opts: RecordedConnectorOptions = {}): Promise<RecordedConnector> {
  const calls: ConnectorCall[] = [];
  const throttled: ThrottledCall[] = [];
  const earlyRetries: ThrottledCall[] = [];
  const enforce = opts.enforceLimits === true ? {} : opts.enforceLimits || undefined;
  // Per conversation: this bot's limits and all bots' limits (the recorder sees one bot, so the
  // stricter per-bot figures bind first; the all-bots ones are kept so the figures stay as Teams has them).
  const limits = enforce && new TeamsLimits(enforce.perConversation ?? [...PER_BOT_PER_THREAD, ...PER_THREAD_ALL_BOTS], enforce.perApp ?? PER_APP_PER_TENANT);
  const messages = new Map<string, { conversationId: string; activity: Record<string, unknown> }>();
  let delay: { match: RegExp; ms: number } | undefined;
  const timers = new Set<NodeJS.Timeout>();
  const newId = () => `1${Date.now()}${randomBytes(3).readUIntBE(0, 3)}`;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      };
      let body: Record<string, unknown> = {};
      try {
        body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      } catch {
        return reply(400, { error: { code: 'BadSyntax', message: 'Invalid JSON' } });
      }
      const path = new URL(req.url ?? '/', 'http://connector').pathname;
      const at = Date.now();
      if (limits) {
        const route = routeOf(req.method ?? '', path, body);
        if (route) {
          const verdict = limits.admit(route.conversationId, at);
          if (verdict?.early) earlyRetries.push({ kind: route.kind, conversationId: route.conversationId, limit: verdict.limit, retryAfterMs: verdict.retryAfterMs, at });
          if (verdict && verdict.retryAfterMs > 0) {
            throttled.push({ kind: route.kind, conversationId: route.conversationId, limit: verdict.limit, retryAfterMs: verdict.retryAfterMs, at });
            res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(verdict.retryAfterMs / 1000) });
            res.end(JSON.stringify({ error: { code: 'TooManyRequests', message: `Too many requests: ${verdict.limit}` } }));
            return;
          }
        }
      }

      if (req.method === 'POST' && /\/v3\/conversations\/?$/.test(path)) {
        const activityId = newId();
        const channel = (body.channelData as { channel?: { id?: string } } | undefined)?.channel?.id ?? TEAM.channelId;
        const conversationId = `${channel};messageid=${activityId}`;
        const activity = (body.activity ?? {}) as Record<string, unknown>;
        calls.push({ kind: 'createConversation', conversationId, activityId, activity, at });
        messages.set(activityId, { conversationId, activity });
        return reply(201, { id: conversationId, activityId });
      }
      const m = /\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?\/?$/.exec(path);
      if (m) {
        const conversationId = decodeURIComponent(m[1]);
        const target = m[2] ? decodeURIComponent(m[2]) : undefined;
        if (req.method === 'PUT' && target) {
          if (!messages.has(target)) return reply(404, { error: { code: 'ActivityNotFoundInConversation', message: `Activity ${target} not found` } });
          calls.push({ kind: 'update', conversationId, activityId: target, activity: body, at });
          messages.set(target, { conversationId, activity: body });
          return reply(200, { id: target });
        }
        if (req.method === 'DELETE' && target) {
          if (!messages.has(target)) return reply(404, { error: { code: 'ActivityNotFoundInConversation', message: `Activity ${target} not found` } });
          calls.push({ kind: 'delete', conversationId, activityId: target, activity: {}, at });
          messages.delete(target);
          res.writeHead(200);
          return res.end();
        }
        if (req.method === 'POST') {
          const activityId = newId();
          calls.push({ kind: target ? 'reply' : 'send', conversationId, activityId, activity: body, at });
          messages.set(activityId, { conversationId, activity: body });
          if (delay && delay.ms > 0 && delay.match.test(cardText(body))) {
            const t = setTimeout(() => { timers.delete(t); reply(201, { id: activityId }); }, delay.ms);
            timers.add(t);
            return;
          }
          return reply(201, { id: activityId });
        }
      }
      return reply(404, { error: { code: 'NotFound', message: `${req.method} ${path} is not a Bot Connector route this recorder knows` } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const serviceUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  return {
    serviceUrl,
    calls,
    messages,
    channelRef: () => ({
      serviceUrl,
      tenantId: TEAM.tenantId,
      teamId: TEAM.teamId,
      channelId: TEAM.channelId,
      channelName: TEAM.channelName,
      bot: { ...TEAM.bot },
    }),
    delayCardReplies: (match, ms) => { delay = ms > 0 ? { match, ms } : undefined; },
    throttled,
    earlyRetries,
    refuseAll: (ms) => {
      if (!limits) throw new Error('refuseAll: this recorder was started without enforceLimits');
      limits.refuseAllMs = Math.max(0, ms);
    },
    setLimits: (l) => {
      if (!limits) throw new Error('setLimits: this recorder was started without enforceLimits');
      if (l.perConversation) limits.perConversation = l.perConversation;
      if (l.perApp) limits.perApp = l.perApp;
    },
    close: () => new Promise<void>((r) => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** Which conversation Teams would count a call against: a new thread counts on its channel. */
function routeOf(method: string, path: string, body: Record<string, unknown>): { kind: ConnectorCall['kind']; conversationId: string } | undefined {
  if (method === 'POST' && /\/v3\/conversations\/?$/.test(path)) {
    const channel = (body.channelData as { channel?: { id?: string } } | undefined)?.channel?.id ?? TEAM.channelId;
    return { kind: 'createConversation', conversationId: channel };
  }
  const m = /\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?\/?$/.exec(path);
  if (!m) return undefined;
  const conversationId = decodeURIComponent(m[1]);
  if (method === 'PUT' && m[2]) return { kind: 'update', conversationId };
  if (method === 'DELETE' && m[2]) return { kind: 'delete', conversationId };
  if (method === 'POST') return { kind: m[2] ? 'reply' : 'send', conversationId };
  return undefined;
}

/** The text of an activity's Adaptive Card attachments (TextBlocks, FactSet titles and values), one string. */
export function cardText(activity: Record<string, unknown> | undefined): string {
  const cards = ((activity?.attachments as Array<{ content?: unknown }> | undefined) ?? []).map((a) => a.content as Record<string, unknown> | undefined);
  return cards.map((c) => adaptiveCardText(c)).join('\n');
}

/** The text of an Adaptive Card (TextBlocks, FactSet titles and values), for assertions. */
export function adaptiveCardText(card: Record<string, unknown> | undefined): string {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    for (const k of ['text', 'title', 'value']) if (typeof o[k] === 'string') out.push(o[k] as string);
    for (const v of Object.values(o)) if (v && typeof v === 'object') walk(v);
  };
  walk(card);
  return out.join('\n');
}
