import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  TurnContext,
  type Activity,
  type ConversationReference,
  type ConversationParameters,
} from 'botbuilder';
import * as restify from 'restify';

/**
 * A deliberately tiny botbuilder bot, used only by the Playground smoke test to prove the driver:
 * it learns the channel's conversation reference from the install events, starts a thread with an
 * Action.Execute card, updates it in place, answers the button with a replacement card and answers
 * an @mention. Every activity it receives is kept so the test can assert on the real shapes.
 */

export const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

export function card(text: string, buttons: Array<{ title: string; verb: string }> = []): Record<string, unknown> {
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body: [{ type: 'TextBlock', text, wrap: true }],
    actions: buttons.map((b) => ({ type: 'Action.Execute', title: b.title, verb: b.verb, data: { verb: b.verb } })),
  };
}

export interface EchoBot {
  port: number;
  endpoint: string;
  received: Partial<Activity>[];
  /** conversation references by Teams channel id (channelData.channel.id) */
  channelRefs: Map<string, Partial<ConversationReference>>;
  waitForChannel(channelId: string, timeoutMs: number): Promise<Partial<ConversationReference>>;
  /** Starts a new thread in a channel; returns the thread's conversation reference and root id. */
  startThread(channelId: string, cardBody: Record<string, unknown>): Promise<{ ref: Partial<ConversationReference>; activityId: string }>;
  updateCard(ref: Partial<ConversationReference>, activityId: string, cardBody: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

const BOT_APP_ID = ''; // no app id: the Playground runs without auth

export async function startEchoBot(): Promise<EchoBot> {
  // An empty config: no MicrosoftAppId, so inbound auth is skipped and outbound calls carry no token.
  const auth = new ConfigurationBotFrameworkAuthentication({});
  const adapter = new CloudAdapter(auth);
  const received: Partial<Activity>[] = [];
  const channelRefs = new Map<string, Partial<ConversationReference>>();
  const waiters: Array<() => void> = [];
  adapter.onTurnError = async (_ctx, err) => {
    // eslint-disable-next-line no-console
    console.error('echo bot turn error', err);
  };

  const logic = async (ctx: TurnContext) => {
    const a = ctx.activity;
    received.push(JSON.parse(JSON.stringify(a)));
    const channelId = (a.channelData as { channel?: { id?: string } } | undefined)?.channel?.id;
    if (channelId && (a.type === 'conversationUpdate' || a.type === 'installationUpdate')) {
      channelRefs.set(channelId, TurnContext.getConversationReference(a));
      waiters.splice(0).forEach((w) => w());
    }
    if (a.type === 'message') {
      const text = TurnContext.removeRecipientMention(a)?.trim() ?? '';
      await ctx.sendActivity(`echo: ${text}`);
      return;
    }
    if (a.type === 'invoke' && a.name === 'adaptiveCard/action') {
      const verb = (a.value as { action?: { verb?: string } } | undefined)?.action?.verb;
      const who = a.from?.name ?? 'someone';
      await ctx.sendActivity({
        type: 'invokeResponse',
        value: {
          status: 200,
          body: { statusCode: 200, type: CARD_CONTENT_TYPE, value: card(`Approved by ${who} (verb ${verb})`) },
        },
      });
    }
  };

  const server = restify.createServer();
  server.use(restify.plugins.bodyParser());
  server.post('/api/messages', async (req, res) => {
    await adapter.process(req, res, logic);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;

  const bot: EchoBot = {
    port,
    endpoint: `http://localhost:${port}/api/messages`,
    received,
    channelRefs,
    async waitForChannel(channelId, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!channelRefs.has(channelId)) {
        if (Date.now() > deadline) throw new Error(`bot never saw channel ${channelId}; got ${JSON.stringify([...channelRefs.keys()])}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
      return channelRefs.get(channelId)!;
    },
    async startThread(channelId, cardBody) {
      const ref = channelRefs.get(channelId);
      if (!ref?.serviceUrl) throw new Error(`no conversation reference for ${channelId}`);
      let out: { ref: Partial<ConversationReference>; activityId: string } | undefined;
      const params: ConversationParameters = {
        isGroup: true,
        channelData: { channel: { id: channelId } },
        activity: {
          type: 'message',
          attachments: [{ contentType: CARD_CONTENT_TYPE, content: cardBody }],
        } as Activity,
      } as ConversationParameters;
      await adapter.createConversationAsync(BOT_APP_ID, 'msteams', ref.serviceUrl, '', params, async (ctx) => {
        const threadRef = TurnContext.getConversationReference(ctx.activity);
        // The created conversation's id carries `;messageid=<root>`; the root activity id is that suffix.
        const convId = threadRef.conversation?.id ?? '';
        const m = /;messageid=(.+)$/.exec(convId);
        out = { ref: threadRef, activityId: m?.[1] ?? ctx.activity.id ?? '' };
      });
      if (!out) throw new Error('createConversationAsync did not call back');
      return out;
    },
    async updateCard(ref, activityId, cardBody) {
      await adapter.continueConversationAsync(BOT_APP_ID, ref, async (ctx) => {
        await ctx.updateActivity({
          id: activityId,
          type: 'message',
          attachments: [{ contentType: CARD_CONTENT_TYPE, content: cardBody }],
        });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return bot;
}
