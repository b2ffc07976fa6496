import type { Activity } from 'botbuilder';
import type { ChannelRef } from './teams-channel';

/** The IR channel as configuration (IR_TEAM_ID, IR_CHANNEL_ID, IR_TENANT_ID); all three or none. */
export interface PinnedConfig { teamId: string; channelId: string; tenantId: string }

/** What the bot is pinned to: the stored reference, or the configured ids before the first activity. */
export type Pin = Pick<ChannelRef, 'teamId' | 'channelId' | 'tenantId'>;

/**
 * Where an activity comes from, relative to the pinned IR channel. Only `ir-channel` and
 * `personal` carry commands; a card click is accepted only from `ir-channel`.
 */
export type Scope =
  | 'ir-channel'
  /** the pinned team, another channel */
  | 'pinned-team'
  /** a personal chat in the pinned tenant */
  | 'personal'
  | 'group-chat'
  /** another team of the pinned tenant */
  | 'other-team'
  /** another tenant, or no tenant at all */
  | 'foreign';

interface TeamsChannelData { team?: { id?: string }; channel?: { id?: string; name?: string }; tenant?: { id?: string } }

export function activityTenant(a: Partial<Activity>): string | undefined {
  const cd = a.channelData as TeamsChannelData | undefined;
  return (cd?.tenant?.id ?? a.conversation?.tenantId)?.toLowerCase();
}

export function activityTeam(a: Partial<Activity>): string | undefined {
  return (a.channelData as TeamsChannelData | undefined)?.team?.id;
}

/** The channel a channel activity belongs to (a thread's conversation id is `<channel>;messageid=…`). */
export function activityChannel(a: Partial<Activity>): string | undefined {
  return (a.channelData as TeamsChannelData | undefined)?.channel?.id ?? a.conversation?.id?.split(';')[0];
}

const same = (a: string | null | undefined, b: string | null | undefined) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

export function scopeOf(a: Partial<Activity>, pin: Pin): Scope {
  if (!same(activityTenant(a), pin.tenantId)) return 'foreign';
  const type = a.conversation?.conversationType;
  const team = activityTeam(a);
  if (team) {
    if (team !== pin.teamId) return 'other-team';
    return activityChannel(a) === pin.channelId ? 'ir-channel' : 'pinned-team';
  }
  if (type === 'personal') return 'personal';
  if (type === 'groupChat' || a.conversation?.isGroup) return 'group-chat';
  return 'foreign';
}

/** An installation of the bot (what may pin the channel when nothing is pinned yet). */
export function isInstallation(a: Partial<Activity>): boolean {
  if (a.type === 'installationUpdate') return a.action === undefined || a.action === 'add' || a.action === 'add-upgrade';
  if (a.type === 'conversationUpdate') return !!a.membersAdded?.some((m) => m.id === a.recipient?.id);
  return false;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** IR_TEAM_ID / IR_CHANNEL_ID / IR_TENANT_ID: all three, or none (one missing is a configuration error). */
export function pinnedConfig(env: { IR_TEAM_ID?: string; IR_CHANNEL_ID?: string; IR_TENANT_ID?: string }): PinnedConfig | undefined {
  const { IR_TEAM_ID: teamId, IR_CHANNEL_ID: channelId, IR_TENANT_ID: tenantId } = env;
  if (!teamId && !channelId && !tenantId) return undefined;
  if (!teamId || !channelId || !tenantId) throw new Error('IR_TEAM_ID, IR_CHANNEL_ID and IR_TENANT_ID pin the IR channel together: set all three or none');
  if (!GUID.test(tenantId)) throw new Error('IR_TENANT_ID must be the MSP tenant\'s GUID');
  return { teamId, channelId, tenantId: tenantId.toLowerCase() };
}
