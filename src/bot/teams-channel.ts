import { type CloudAdapter, type ConversationReference, type Activity, type TurnContext, ActivityTypes } from 'botbuilder';
import type { ConnectorClient } from 'botframework-connector';
import type { Store } from '../store/store';
import type { Logger } from '../log';
import { assertActivityFits } from './card-budget';
import { appTenantRateKey } from './teams-rate-limits';

/** Where the bot posts: the `sec-ir` channel it learned from its installation. */
export interface ChannelRef {
  serviceUrl: string;
  tenantId: string | null;
  teamId: string;
  channelId: string;
  channelName: string;
  bot: { id: string; name: string };
}

export const CHANNEL_REF_KEY = 'teams:channel';

/** Nothing can be posted until Teams tells the bot where #sec-ir is (its installation in the team). */
export class ChannelUnknownError extends Error {
  constructor() {
    super('the IR channel is not known yet: install the bot in the team that has the channel (in the Playground: select the channel)');
    this.name = 'ChannelUnknownError';
  }
}

/** Serialises sends per conversation and honours 429 Retry-After (src/bot/send-queue.ts). */
export interface ConversationQueue {
  /**
   * `appKey`: the app-in-tenant key for Teams' per-app limit (src/bot/teams-rate-limits.ts);
   * `priority`: a higher one goes before the sends still waiting for the same conversation
   */
  enqueue<T>(conversationKey: string, task: () => Promise<T>, appKey?: string, priority?: number): Promise<T>;
}

/**
 * Posting into the IR channel proactively: start a thread (the incident's root card), reply in a
 * thread, update a message in place. Everything goes through the per-conversation queue.
 */
export class TeamsChannel {
  constructor(
    private readonly adapter: CloudAdapter,
    private readonly appId: string,
    private readonly store: Store,
    private readonly queue: ConversationQueue,
    private readonly log: Logger,
  ) {}

  async channel(): Promise<ChannelRef | undefined> {
    return (await this.store.getRef(CHANNEL_REF_KEY)) as ChannelRef | undefined;
  }

  async saveChannel(ref: ChannelRef): Promise<void> {
    await this.store.putRef(CHANNEL_REF_KEY, ref as unknown as Record<string, unknown>);
    this.log.info({ channel: ref.channelName, channelId: ref.channelId, teamId: ref.teamId }, 'IR channel learned');
  }

  private reference(ch: ChannelRef, conversationId: string): Partial<ConversationReference> {
    return {
      channelId: 'msteams',
      serviceUrl: ch.serviceUrl,
      bot: ch.bot,
      conversation: { id: conversationId, isGroup: true, conversationType: 'channel', tenantId: ch.tenantId ?? undefined, name: '' },
    };
  }

  private async withContext<T>(ch: ChannelRef, conversationId: string, logic: (ctx: TurnContext) => Promise<T>): Promise<T> {
    let out: T | undefined;
    // The adapter hands an error thrown in a proactive turn to its onTurnError, which logs it and
    // returns: the send would then look done (a 429 never reaching the queue's retry, a failed card
    // update never marked for the sweep). The error is kept here and thrown to the caller instead.
    let failure: { error: unknown } | undefined;
    await this.adapter.continueConversationAsync(this.appId, this.reference(ch, conversationId), async (ctx) => {
      try {
        out = await logic(ctx);
      } catch (error) {
        failure = { error };
      }
    });
    if (failure) throw failure.error;
    return out as T;
  }

  /** Teams' per-app limit counts every call of this app in the channel's tenant. */
  private appKey(ch: ChannelRef): string {
    return appTenantRateKey(this.appId, ch.tenantId);
  }

  private async requireChannel(): Promise<ChannelRef> {
    const ch = await this.channel();
    if (!ch) throw new ChannelUnknownError();
    return ch;
  }

  /**
   * A new thread in the channel; returns the thread's conversation id and the root message id.
   * `priority`: its place among the new threads waiting for the channel's Teams slots (src/bot/thread-priority.ts).
   */
  async startThread(activity: Partial<Activity>, opts: { priority?: number } = {}): Promise<{ conversationId: string; activityId: string }> {
    // Measured before anything is sent: Teams would refuse an oversized message with 413.
    assertActivityFits(activity, 'the new thread\'s message');
    const ch = await this.requireChannel();
    return this.queue.enqueue(ch.channelId, () =>
      this.withContext(ch, ch.channelId, async (ctx) => {
        // TeamsInfo.sendMessageToTeamsChannel needs adapter.createConnectorClient, which CloudAdapter
        // lacks; the turn's own connector client does the same call.
        const client = ctx.turnState.get<ConnectorClient>(ctx.adapter.ConnectorClientKey);
        const res = await client.conversations.createConversation({
          isGroup: true,
          bot: ch.bot,
          channelData: { channel: { id: ch.channelId }, tenant: ch.tenantId ? { id: ch.tenantId } : undefined },
          activity: { type: ActivityTypes.Message, ...activity } as Activity,
          members: [],
        } as never);
        const activityId = res.activityId ?? /;messageid=(\d+|[\w-]+)/.exec(res.id)?.[1];
        if (!activityId) throw new Error('Teams did not return the id of the new thread\'s message');
        const conversationId = res.id.includes(';messageid=') ? res.id : `${ch.channelId};messageid=${activityId}`;
        return { conversationId, activityId };
      }), this.appKey(ch), opts.priority);
  }

  async reply(conversationId: string, activity: Partial<Activity>): Promise<string> {
    assertActivityFits(activity, 'the reply');
    const ch = await this.requireChannel();
    return this.queue.enqueue(conversationId, () =>
      this.withContext(ch, conversationId, async (ctx) => {
        const r = await ctx.sendActivity({ type: ActivityTypes.Message, ...activity });
        return r?.id ?? '';
      }), this.appKey(ch));
  }

  /** Deletes a message the bot posted: a second card for one thing, left by a store outage. */
  async remove(conversationId: string, activityId: string): Promise<void> {
    const ch = await this.requireChannel();
    await this.queue.enqueue(conversationId, () =>
      this.withContext(ch, conversationId, (ctx) => ctx.deleteActivity(activityId)), this.appKey(ch));
  }

  async update(conversationId: string, activityId: string, activity: Partial<Activity>): Promise<void> {
    assertActivityFits(activity, 'the updated message');
    const ch = await this.requireChannel();
    await this.queue.enqueue(conversationId, () =>
      this.withContext(ch, conversationId, async (ctx) => {
        await ctx.updateActivity({ type: ActivityTypes.Message, ...activity, id: activityId, conversation: ctx.activity.conversation });
      }), this.appKey(ch));
  }
}
