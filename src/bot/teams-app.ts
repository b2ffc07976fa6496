import { Application, TeamsAdapter, AdaptiveCardActionExecuteResponseType, type TurnState, type AdaptiveCard } from '@microsoft/teams-ai';
import { CardFactory, TeamsInfo, type TurnContext } from 'botbuilder';
import type { Request, Response } from 'restify';
import type { Store } from '../store/store';
import { isRestError } from '@azure/core-rest-pipeline';
import { isConnectionError } from '../store/dialect';
import type { Logger } from '../log';
import type { BotOperations, Clicker, OpResult } from './operations';
import { TeamsChannel, type ChannelRef, type ConversationQueue } from './teams-channel';
import { connectorWriteRetriesMiddleware } from './connector-write-retries';
import { TeamsNotifier } from './teams-notifier';
import { parseCommand, helpText, type CommandDecl, type CommandEnv } from './commands';
import { activityTeam, activityTenant, isInstallation, scopeOf, type Pin, type PinnedConfig } from './conversation-scope';
import { Roster } from './roster';
import { MAX_REFRESH_USERS, REFRESH_VERB } from './user-specific-view';
import { mayDo, type Role } from '../domain/roles';
import { actionIdOf, stepIdOf } from '../domain/incident-id';
import { inert } from './inert-text';
import { renderStatusCard, renderTimelineCard, type StatusRow } from './render-cards';
import { loadSnapshot } from './incident-snapshot';
import { STATE_DISPLAY } from './step-display';
import { titleOfStep } from './render-cards';

export interface TeamsBotOptions {
  mode: 'sandbox' | 'production';
  appId?: string;
  appPassword?: string;
  appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
  appTenantId?: string;
  channelName: string;
  botName: string;
  store: Store;
  queue: ConversationQueue;
  ops: BotOperations;
  customerName(id: string): string;
  /** roles per customer (readers, approvers) and who may pin the channel by installing the bot */
  access: BotAccess;
  /** the IR channel as configuration (IR_TEAM_ID, IR_CHANNEL_ID, IR_TENANT_ID); else learnt from an admin's installation */
  pinned?: PinnedConfig;
  /**
   * Approval cards as Universal Actions user-specific views: read-only in the channel, Approve/Reject
   * for the approvers listed in `refresh.userIds`. Teams does this; the Agents Playground does not
   * send the refresh invoke ("refresh is not supported yet"), so the sandbox posts the buttons to all.
   */
  userSpecificViews?: boolean;
  log: Logger;
  workerId: string;
  now?: () => Date;
}

export interface BotAccess {
  roles(objectId: string): Promise<Map<string, Role>>;
  isAdmin(objectId: string): Promise<boolean>;
}

export interface TeamsBot {
  /** restify handler for POST /api/messages */
  handle(req: Request, res: Response): Promise<void>;
  notifier: TeamsNotifier;
  channel: TeamsChannel;
}

const channelNameMatches = (name: string | undefined, wanted: string) =>
  !!name && name.replace(/^#/, '').trim().toLowerCase() === wanted.replace(/^#/, '').trim().toLowerCase();

/**
 * The Teams bot: teams-ai's Application over a CloudAdapter. In production the adapter checks
 * every request's Bot Framework token; in sandbox mode (no MicrosoftAppId) it accepts the local
 * Playground's unauthenticated requests.
 */
export function createTeamsBot(o: TeamsBotOptions): TeamsBot {
  const adapter = new TeamsAdapter(
    o.mode === 'production'
      ? { MicrosoftAppId: o.appId, MicrosoftAppPassword: o.appPassword, MicrosoftAppType: o.appType, MicrosoftAppTenantId: o.appTenantId }
      : {},
  );
  // A 429 is never retried inside the connector client, nor a failed POST (a duplicate card): each
  // send-queue attempt goes through the shared limiter (src/bot/connector-write-retries.ts).
  adapter.use(connectorWriteRetriesMiddleware);
  adapter.onTurnError = async (context, error) => {
    o.log.error({ err: error, activityType: context.activity.type }, 'bot turn failed');
    if (context.activity.type === 'message') {
      await context.sendActivity('Something went wrong handling that; nothing was changed. The error is in the bot log.').catch(() => undefined);
    }
  };

  const app = new Application<TurnState>({
    adapter,
    botAppId: o.appId ?? '',
    removeRecipientMention: true,
    startTypingTimer: false,
    adaptiveCards: { actionExecuteResponseType: AdaptiveCardActionExecuteResponseType.REPLACE_FOR_INTERACTOR },
  });

  const channel = new TeamsChannel(adapter, o.appId ?? '', o.store, o.queue, o.log);
  const roster = new Roster(o.store);
  /** The customer's approvers among the people the bot knows in Teams (at most 60, Teams' limit). */
  const audience = async (customerId: string) => {
    const userIds: string[] = [];
    const names: string[] = [];
    for (const [oid, entry] of Object.entries(await roster.all())) {
      if (userIds.length >= MAX_REFRESH_USERS) break;
      if ((await o.access.roles(oid)).get(customerId) !== 'approver') continue;
      userIds.push(entry.mri);
      if (entry.name) names.push(entry.name);
    }
    const who = names.length ? `${names.slice(0, 8).join(', ')}${names.length > 8 ? ` and ${names.length - 8} more` : ''} (${o.customerName(customerId)}'s approvers)` : `${o.customerName(customerId)}'s approvers`;
    return { userIds, whoMayApprove: who };
  };
  const notifier = new TeamsNotifier({
    store: o.store, channel, customerName: o.customerName, log: o.log, workerId: o.workerId, now: o.now,
    views: o.userSpecificViews ? { audience } : undefined,
  });
  const now = () => (o.now ?? (() => new Date()))();

  const access = o.access;
  const configured = o.pinned;

  /** The pinned IR channel: the stored reference, or the configured ids before the first activity of that team. */
  async function pin(): Promise<Pin | undefined> {
    return (await channel.channel()) ?? configured;
  }

  async function savePin(ref: ChannelRef): Promise<void> {
    await channel.saveChannel(ref);
    // Incidents that opened before the bot knew its channel get their thread now.
    for (const inc of await o.store.listIncidents({ open: true, limit: 200 })) {
      const posted = await o.store.getState(`teams:card:${inc.id}`);
      if (!posted || posted.startsWith('posting:')) void notifier.incidentChanged(inc.id);
    }
  }

  /** The team's `sec-ir` channel, from the activity or the team's channel list. */
  async function findIrChannel(context: TurnContext, teamId: string): Promise<{ id: string; name: string } | undefined> {
    const cd = context.activity.channelData as { channel?: { id?: string; name?: string } } | undefined;
    if (cd?.channel?.id && channelNameMatches(cd.channel.name, o.channelName)) return { id: cd.channel.id, name: cd.channel.name! };
    try {
      const channels = await TeamsInfo.getTeamChannels(context, teamId);
      const c = channels.find((x) => channelNameMatches(x.name, o.channelName));
      if (c?.id) return { id: c.id, name: c.name ?? o.channelName };
    } catch (e) {
      o.log.warn({ err: e }, 'could not list the team\'s channels');
    }
    return undefined;
  }

  /** The team's members into the roster (for `refresh.userIds`); best effort, paged. */
  async function learnRoster(context: TurnContext, teamId: string): Promise<void> {
    try {
      let token: string | undefined;
      for (let page = 0; page < 20; page++) {
        const r = await TeamsInfo.getPagedTeamMembers(context, teamId, 500, token);
        await roster.remember(r.members.map((m) => ({ aadObjectId: m.aadObjectId, id: m.id, name: m.name })));
        token = r.continuationToken;
        if (!token) break;
      }
    } catch (e) {
      o.log.info({ err: e }, 'team members not listed; approvers are learnt from their own activities');
    }
  }

  const refRef = (context: TurnContext, teamId: string, found: { id: string; name: string }, tenantId: string): ChannelRef => ({
    serviceUrl: context.activity.serviceUrl,
    tenantId,
    teamId,
    channelId: found.id,
    channelName: found.name,
    bot: { id: context.activity.recipient.id, name: context.activity.recipient.name ?? o.botName },
  });

  const oneLine = (context: TurnContext, text: string) =>
    context.activity.type === 'message' ? context.sendActivity({ text, textFormat: 'markdown' }).then(() => undefined) : Promise.resolve();
  const where = `#${o.channelName.replace(/^#/, '')}`;

  /**
   * Every activity passes here first. Nothing is pinned: only an installation by an MSP admin (or
   * an approver) pins the team. Pinned: other tenants are ignored, other teams and group chats get
   * one line, the pinned team refreshes the serviceUrl (the activity was authenticated by the
   * adapter), and only the IR channel and personal chats go on to the handlers.
   */
  app.turn('beforeTurn', async (context) => {
    const a = context.activity;
    const from = String(a.from?.aadObjectId ?? '').toLowerCase();
    const current = await pin();
    if (!current) {
      const teamId = activityTeam(a);
      const tenantId = activityTenant(a);
      if (isInstallation(a) && teamId && tenantId) {
        if (!(await access.isAdmin(from))) {
          o.log.warn({ teamId, tenantId, from, activity: a.type }, 'installation by someone who is not an MSP admin or approver: the IR channel is not pinned');
          return false;
        }
        const found = await findIrChannel(context, teamId);
        if (!found) {
          o.log.warn({ teamId, wanted: o.channelName }, 'installed in a team without the IR channel');
          return false;
        }
        await savePin(refRef(context, teamId, found, tenantId));
        o.log.info({ teamId, tenantId, by: from }, 'IR channel pinned by its installation');
        await learnRoster(context, teamId);
        return false;
      }
      o.log.warn({ activity: a.type, teamId, tenantId }, 'activity before the IR channel is pinned: ignored');
      await oneLine(context, `I am not set up yet: an MSP admin installs me in the SOC team that has ${where}.`);
      return false;
    }
    const scope = scopeOf(a, current);
    switch (scope) {
      case 'foreign':
        o.log.warn({ activity: a.type, tenantId: activityTenant(a), teamId: activityTeam(a) }, 'activity from another tenant ignored');
        return false;
      case 'other-team':
        o.log.warn({ activity: a.type, teamId: activityTeam(a), from }, 'activity from another team ignored (the IR channel stays where it is pinned)');
        await oneLine(context, `I take commands only in ${where} of the SOC team, or in a personal chat with me.`);
        return false;
      case 'group-chat':
        await oneLine(context, `I take commands only in ${where} of the SOC team, or in a personal chat with me; not in group chats.`);
        return false;
      default:
        break;
    }
    await roster.remember([{ aadObjectId: a.from?.aadObjectId, id: a.from?.id, name: a.from?.name }]);
    if (scope === 'ir-channel' || scope === 'pinned-team') {
      const stored = await channel.channel();
      // The serviceUrl (and the reference itself, when pinned by configuration) come only from the pinned team.
      if (!stored || stored.serviceUrl !== a.serviceUrl || stored.bot.id !== a.recipient.id) {
        const name = stored?.channelName ?? (scope === 'ir-channel' ? (a.channelData as { channel?: { name?: string } })?.channel?.name : undefined) ?? o.channelName;
        await savePin(refRef(context, current.teamId, { id: current.channelId, name }, current.tenantId!));
        if (!stored) await learnRoster(context, current.teamId);
      }
    }
    if (scope === 'pinned-team') {
      await oneLine(context, `I take commands only in ${where}, or in a personal chat with me.`);
      return false;
    }
    // Card clicks and refreshes only from the IR channel, where the cards are.
    if (scope === 'personal' && a.type === 'invoke') return false;
    return true;
  });

  const clickerOf = (context: TurnContext): Clicker => ({
    aadObjectId: String(context.activity.from.aadObjectId ?? '').toLowerCase(),
    name: inert(context.activity.from.name ?? 'someone', 100),
  });

  /** The open (or latest) incidents of these customers, newest first. */
  async function statusRows(open: boolean, customers: ReadonlySet<string>): Promise<StatusRow[]> {
    const limit = open ? 50 : 20;
    const lists = await Promise.all([...customers].map((customerId) => o.store.listIncidents({ open: open || undefined, customerId, limit })));
    const incidents = lists.flat().sort((x, y) => y.createdAt.localeCompare(x.createdAt)).slice(0, limit);
    return Promise.all(incidents.map(async (incident) => {
      const [actions, approvals] = await Promise.all([o.store.listActions(incident.id), o.store.listApprovals({ incidentId: incident.id, status: 'pending' })]);
      const active = actions.filter((a) => ['running', 'awaiting_approval', 'ready', 'failed'].includes(a.status));
      const current = active.length
        ? active.map((a) => `${titleOfStep(incident, a.stepId)} (${STATE_DISPLAY[a.status].label})`).join(', ')
        : actions.length ? 'no step running' : 'procedure not started';
      const pending = approvals.map((p) => titleOfStep(incident, stepIdOf(p.actionId)));
      return { incident, customerName: o.customerName(incident.customerId), current, pending };
    }));
  }

  const NO_ROLE = 'You are not a reader or approver of any customer, so I cannot show or do anything for you. The SOC lead adds people under `readers` or `approvers` in the customers file.';

  /** The permission check every declared command goes through; answers one line when refused. */
  async function permitted(command: CommandDecl, args: Record<string, string | undefined>, asker: Clicker, roles: Map<string, Role>): Promise<{ ok: true } | { ok: false; line: string }> {
    if (command.role === 'anyone') return { ok: true };
    if (!roles.size) return { ok: false, line: NO_ROLE };
    let customerId: string | undefined;
    if (args.incident) {
      const incident = await o.store.getIncident(args.incident);
      // Someone who may not see a customer's incidents learns nothing, not even that the id exists.
      if (!incident || !roles.has(incident.customerId)) return { ok: false, line: `No incident ${args.incident} among your customers.` };
      customerId = incident.customerId;
    } else if (command.customerOf) {
      const which = command.customerOf(args as never, envFor(asker, roles));
      if ('error' in which) return { ok: false, line: `Not done: ${inert(which.error, 200)}` };
      customerId = which.customerId;
    }
    if (customerId && !mayDo(roles.get(customerId), command.role)) {
      const has = roles.get(customerId);
      return { ok: false, line: `Not done: ${command.name} is for ${o.customerName(customerId)}'s approvers${has ? `; you are one of its ${has}s` : ''}.` };
    }
    return { ok: true };
  }

  const envFor = (asker: Clicker, roles: Map<string, Role>): CommandEnv => {
    const readable = new Set(roles.keys());
    return {
      botName: o.botName,
      asker,
      ops: o.ops,
      readable,
      statusCard: async (open) => {
        const rows = await statusRows(open, readable);
        return renderStatusCard(rows, open ? `Open incidents: ${rows.length}` : `Latest incidents (${rows.length})`, now());
      },
      approvalCard: (approvalId) => notifier.approvalCard(approvalId, undefined, 'approver'),
      timelineCard: async (incidentId) => {
        const snap = await loadSnapshot(o.store, incidentId, o.customerName);
        return snap && readable.has(snap.incident.customerId) ? renderTimelineCard(snap, '', o.botName) : undefined;
      },
    };
  };

  app.message(/.*/s, async (context) => {
    const parsed = parseCommand(context.activity.text ?? '');
    if (parsed.kind === 'unknown') {
      await context.sendActivity({ text: helpText(o.botName, parsed.problem ? inert(parsed.problem) : `I don't know "${inert(parsed.text, 60)}".`), textFormat: 'markdown' });
      return;
    }
    const asker = clickerOf(context);
    const roles = parsed.command.role === 'anyone' ? new Map<string, Role>() : await access.roles(asker.aadObjectId);
    const allowed = await permitted(parsed.command, parsed.args, asker, roles);
    if (!allowed.ok) {
      o.log.info({ command: parsed.command.name, from: asker.aadObjectId }, 'command refused');
      await context.sendActivity({ text: allowed.line, textFormat: 'markdown' });
      return;
    }
    const out = await parsed.command.run(parsed.args as never, envFor(asker, roles));
    await context.sendActivity('card' in out ? { attachments: [CardFactory.adaptiveCard(out.card)] } : { text: out.text, textFormat: 'markdown' });
  });

  // No card to show (a forged or foreign approval id): the clicker still gets the refusal's reason.
  const asCard = (c: Record<string, unknown> | undefined, refusal?: string): AdaptiveCard => (c ?? { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: refusal ? `Not done: ${inert(refusal, 500)}` : 'This card is no longer current.', wrap: true }] }) as unknown as AdaptiveCard;

  const onVote = (vote: 'approve' | 'reject') => async (context: TurnContext, _state: TurnState, data: Record<string, unknown>): Promise<AdaptiveCard> => {
    const approvalId = typeof data.approvalId === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(data.approvalId) ? data.approvalId : undefined;
    if (!approvalId) return asCard(undefined);
    const reason = typeof data.reason === 'string' ? data.reason.slice(0, 500) : undefined;
    // An editable card (the CISO email) sends its fields along; the engine accepts only the fields
    // the action declares editable, and validates them.
    // The release card sends its ticks (`selected`) and the classification the same way.
    const edits = Object.fromEntries(['subject', 'body', 'recipients', 'cc', 'classification', 'selected'].filter((k) => typeof data[k] === 'string').map((k) => [k, String(data[k]).slice(0, 20_000)]));
    const r = await o.ops.decide({ approvalId, vote, clicker: clickerOf(context), reason, edits: Object.keys(edits).length ? edits : undefined });
    // Accepted: the notifier replaced the card for everybody; the clicker gets the same fresh card.
    // Refused: only the clicker sees why, on top of the unchanged card.
    return asCard(await notifier.approvalCard(approvalId, r.ok ? undefined : r.reason, await viewFor(context, approvalId)), r.ok ? undefined : r.reason);
  };
  /** Which view this person gets: an approver of the incident's customer gets the buttons (checked again on the click). */
  async function viewFor(context: TurnContext, approvalId: string): Promise<'approver' | 'shared'> {
    const approval = await o.store.getApproval(approvalId);
    const incident = approval && (await o.store.getIncident(approval.incidentId));
    if (!incident) return 'shared';
    const role = (await access.roles(clickerOf(context).aadObjectId)).get(incident.customerId);
    return role === 'approver' ? 'approver' : 'shared';
  }
  // Universal Actions refresh: an approver's Teams client asks for its own view of an open approval card.
  app.adaptiveCards.actionExecute(REFRESH_VERB, async (context, _s, data: Record<string, unknown>) => {
    const approvalId = typeof data.approvalId === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(data.approvalId) ? data.approvalId : undefined;
    if (!approvalId) return asCard(undefined);
    return asCard(await notifier.approvalCard(approvalId, undefined, await viewFor(context, approvalId)));
  });
  app.adaptiveCards.actionExecute('ir.approve', onVote('approve'));
  app.adaptiveCards.actionExecute('ir.reject', onVote('reject'));
  app.adaptiveCards.actionExecute('ir.retry', async (context, _s, data: Record<string, unknown>) => {
    const incidentId = String(data.incidentId ?? '').slice(0, 40);
    const stepId = String(data.stepId ?? '').slice(0, 64);
    const r = await o.ops.retry({ incidentId, stepId, clicker: clickerOf(context) });
    // The clicked card comes back current; a refusal is shown to the clicker only, above it.
    const notice = r.ok ? '' : `Not retried: ${r.reason}`;
    if (data.from === 'timeline') {
      const snap = await loadSnapshot(o.store, incidentId, o.customerName);
      if (snap) return asCard(renderTimelineCard(snap, notice, o.botName));
    }
    const approvals = await o.store.listApprovals({ incidentId });
    const latest = approvals.filter((a) => a.actionId === actionIdOf(incidentId, stepId)).sort((a, b) => a.requestedAt.localeCompare(b.requestedAt)).at(-1);
    return asCard(latest ? await notifier.approvalCard(latest.id, notice || undefined, await viewFor(context, latest.id)) : undefined);
  });

  return {
    handle: async (req, res) => {
      // botbuilder answers when the turn ends; it is held here so that a turn that lost the store
      // answers 503 (Teams sends the activity again) instead of 200 for a click nobody recorded.
      let storeLost: unknown;
      const held = new HeldResponse();
      await adapter.process(req as never, held as never, async (context) => {
        try {
          await app.run(context);
        } catch (e) {
          // A socket error from the Bot Connector (a reply to a serviceUrl nobody answers: ECONNREFUSED
          // as a RestError) is no store loss: asking Teams to send the activity again would not help.
          if (!isConnectionError(e) || isRestError(e)) throw e;
          storeLost = e;
        }
      });
      if (storeLost !== undefined) {
        o.log.warn({ err: (storeLost as Error).message }, 'bot turn: the store was lost during the turn; answered 503');
        res.header('Retry-After', '5');
        res.status(503);
        res.json({ error: { code: 'store_unavailable', message: 'the store is unreachable; the activity was not recorded, send it again' } });
        return;
      }
      held.replay(res);
    },
    notifier,
    channel,
  };
}

/** The response botbuilder writes, kept until the turn's outcome is known (see handle). */
class HeldResponse {
  readonly socket = undefined;
  private code = 200;
  private readonly headers: Array<[string, unknown]> = [];
  private body: unknown;
  status(code: number): this { this.code = code; return this; }
  header(name: string, value: unknown): this { this.headers.push([name, value]); return this; }
  send(body?: unknown): this { if (body !== undefined) this.body = body; return this; }
  end(): this { return this; }
  replay(res: Response): void {
    for (const [k, v] of this.headers) res.header(k, v as string);
    res.status(this.code);
    if (this.body === undefined) res.end();
    else res.send(this.body);
  }
}

