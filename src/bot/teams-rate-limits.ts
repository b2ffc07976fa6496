/**
 * Teams' documented rate limits for bots, in one place.
 *
 * Source: Microsoft Learn, "Optimize your bot with rate limiting in Teams"
 * (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/rate-limit; the page's
 * source is MicrosoftDocs/msteams-docs, msteams-platform/bots/how-to/rate-limit.md). It says:
 *  - per bot per thread ("a conversation is 1:1 between bot and user, a group chat, or a channel in
 *    a team"), for both "Send to conversation" and "Create conversation": 7 per 1 s, 8 per 2 s,
 *    60 per 30 s, 1800 per 3600 s; the 3600 s / 1800 limit "applies only if multiple bot messages
 *    are sent to a single user" (a personal chat), which this bot never does;
 *  - per thread for all bots together: 14 per 1 s, 16 per 2 s (looser than the per-bot figures, so
 *    a bot that keeps its own limits cannot break it alone);
 *  - "The global limit per app per tenant is 50 Requests Per Second (RPS)" (the agent-era page and
 *    Microsoft's answers on Q&A; other revisions and translations of the page say 30 RPS);
 *  - the exact values "are subject to change": 429 Too Many Requests must still be handled
 *    (Retry-After, back-off), which src/bot/send-queue.ts does.
 * Every figure is a sliding window: at most `max` operations in any `windowMs`.
 */

export interface RateWindow {
  windowMs: number;
  max: number;
}

/** Per bot per conversation (thread): Send to conversation and Create conversation alike. */
export const PER_BOT_PER_THREAD: readonly RateWindow[] = [
  { windowMs: 1_000, max: 7 },
  { windowMs: 2_000, max: 8 },
  { windowMs: 30_000, max: 60 },
];

/** Only for a bot sending many messages to one user in a personal chat: not applied to channels. */
export const PER_BOT_PER_PERSONAL_CHAT_HOURLY: RateWindow = { windowMs: 3_600_000, max: 1_800 };

/** All bots together in one conversation (what Teams' own counter sees; the recorder enforces it too). */
export const PER_THREAD_ALL_BOTS: readonly RateWindow[] = [
  { windowMs: 1_000, max: 14 },
  { windowMs: 2_000, max: 16 },
];

/** Per app per tenant: every Bot Connector call of the app in one tenant, whatever the conversation. */
export const PER_APP_PER_TENANT: readonly RateWindow[] = [{ windowMs: 1_000, max: 50 }];

/** The longest window any limit above uses for channels: how much send history a limiter keeps. */
export const LONGEST_WINDOW_MS = Math.max(...[...PER_BOT_PER_THREAD, ...PER_APP_PER_TENANT].map((w) => w.windowMs));

/**
 * The limiter's key for a conversation. Teams counts per conversation id as the Bot Connector URL
 * names it: a channel (a new thread is "Create conversation" in the channel) or one thread of it
 * (`19:…@thread.tacv2;messageid=…`, where replies and updates go).
 */
export function conversationRateKey(conversationId: string): string {
  return `teams:conv:${conversationId}`;
}

/** The limiter's key for the app in a tenant (the MSP's tenant, where #sec-ir lives). */
export function appTenantRateKey(appId: string, tenantId: string | null | undefined): string {
  return `teams:app:${appId || 'sandbox'}:${tenantId ?? 'unknown-tenant'}`;
}
