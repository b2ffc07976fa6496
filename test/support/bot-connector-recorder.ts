import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { MSP } from '../../src/sandbox/contoso';

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
 */
export const TEAM = {
  tenantId: MSP.tenantId,
  teamId: '19:msp-soc-general@thread.tacv2',
  channelId: '19:sec-ir@thread.tacv2',
  channelName: 'sec-ir',
  bot: { id: '28:4f3e2d1c-0b9a-4876-a5b4-c3d2e1f0a9b8', name: 'ir' },
} as const;

export interface ConnectorCall {
  kind: 'createConversation' | 'send' | 'reply' | 'update';
  conversationId: string;
  /** the message's id: new for create/send/reply, the updated one for update */
  activityId: string;
  activity: Record<string, unknown>;
  at: number;
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
  close(): Promise<void>;
}

export async function startRecordedConnector(): Promise<RecordedConnector> {
  const calls: ConnectorCall[] = [];
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
    close: () => new Promise<void>((r) => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
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
