import { randomUUID } from 'node:crypto';
import { TEAM } from './bot-connector-recorder';

export { adaptiveCardText } from './bot-connector-recorder';

/** Someone in the MSP's Teams tenant (PLAYGROUND_USERS in src/sandbox/contoso.ts). */
export interface TeamsUser { name: string; aadObjectId: string }

/**
 * The invoke activity Teams sends when someone clicks an Action.Execute button on a card in a
 * channel thread (Universal Actions: name "adaptiveCard/action", value.action {type, verb, data}).
 */
export function cardActionInvoke(o: {
  verb: string;
  data: Record<string, unknown>;
  from: TeamsUser;
  serviceUrl: string;
  /** the thread: `19:...@thread.tacv2;messageid=<root>` */
  conversationId: string;
  /** the clicked card's activity id */
  replyToId?: string;
}): Record<string, unknown> {
  const now = new Date();
  return {
    type: 'invoke',
    name: 'adaptiveCard/action',
    id: `f:${randomUUID()}`,
    timestamp: now.toISOString(),
    localTimestamp: now.toISOString(),
    channelId: 'msteams',
    serviceUrl: o.serviceUrl,
    from: { id: `29:${o.from.aadObjectId}`, name: o.from.name, aadObjectId: o.from.aadObjectId },
    conversation: { id: o.conversationId, isGroup: true, conversationType: 'channel', tenantId: TEAM.tenantId },
    recipient: { id: TEAM.bot.id, name: TEAM.bot.name },
    ...(o.replyToId ? { replyToId: o.replyToId } : {}),
    entities: [{ type: 'clientInfo', locale: 'en-US', country: 'US', platform: 'Web', timezone: 'Europe/Lisbon' }],
    channelData: {
      channel: { id: TEAM.channelId },
      team: { id: TEAM.teamId },
      tenant: { id: TEAM.tenantId },
      source: { name: 'message' },
    },
    value: { action: { type: 'Action.Execute', verb: o.verb, data: o.data }, trigger: 'manual' },
    locale: 'en-US',
  };
}

export interface InvokeReply {
  status: number;
  body: { statusCode?: number; type?: string; value?: Record<string, unknown> } | undefined;
}

/** POSTs an activity to the bot's /api/messages; an invoke's response is synchronous. */
export async function postActivity(port: number, activity: Record<string, unknown>): Promise<InvokeReply> {
  const res = await fetch(`http://127.0.0.1:${port}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(activity),
  });
  const text = await res.text();
  let body: InvokeReply['body'];
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}

/** A channel message that @mentions the bot (`@ir <text>`), as Teams delivers it. */
export function textCommand(o: { text: string; from: TeamsUser; serviceUrl: string; conversationId: string }): Record<string, unknown> {
  const now = new Date();
  const mention = `<at>${TEAM.bot.name}</at>`;
  return {
    type: 'message',
    id: `${Date.now()}`,
    timestamp: now.toISOString(),
    channelId: 'msteams',
    serviceUrl: o.serviceUrl,
    from: { id: `29:${o.from.aadObjectId}`, name: o.from.name, aadObjectId: o.from.aadObjectId },
    conversation: { id: o.conversationId, isGroup: true, conversationType: 'channel', tenantId: TEAM.tenantId },
    recipient: { id: TEAM.bot.id, name: TEAM.bot.name },
    textFormat: 'plain',
    text: `${mention} ${o.text}`,
    entities: [{ type: 'mention', text: mention, mentioned: { id: TEAM.bot.id, name: TEAM.bot.name } }],
    channelData: {
      channel: { id: TEAM.channelId, name: TEAM.channelName },
      team: { id: TEAM.teamId },
      tenant: { id: TEAM.tenantId },
      teamsChannelId: TEAM.channelId,
      teamsTeamId: TEAM.teamId,
    },
    locale: 'en-US',
  };
}
