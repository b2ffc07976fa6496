import { Application, TeamsAdapter, AdaptiveCardActionExecuteResponseType, type TurnState, type AdaptiveCard } from '@microsoft/teams-ai';
import { CardFactory, TeamsInfo, type TurnContext } from 'botbuilder';
import type { Request, Response } from 'restify';
import type { Store } from '../store/store';
import type { Logger } from '../log';
import type { BotOperations, Clicker, OpResult } from './operations';
import { TeamsChannel, type ChannelRef, type ConversationQueue } from './teams-channel';
import { TeamsNotifier } from './teams-notifier';
import { parseCommand, helpText } from './commands';
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
  log: Logger;
  workerId: string;
  now?: () => Date;
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
  const notifier = new TeamsNotifier({ store: o.store, channel, customerName: o.customerName, log: o.log, workerId: o.workerId, now: o.now });
  const now = () => (o.now ?? (() => new Date()))();

  /** Learns the IR channel from the team the bot is installed in. */
  async function learnChannel(context: TurnContext): Promise<void> {
    const cd = context.activity.channelData as { team?: { id?: string }; channel?: { id?: string; name?: string }; tenant?: { id?: string } } | undefined;
    const teamId = cd?.team?.id;
    if (!teamId) return;
    let found: { id: string; name: string } | undefined;
    if (cd?.channel?.id && channelNameMatches(cd.channel.name, o.channelName)) found = { id: cd.channel.id, name: cd.channel.name! };
    if (!found) {
      try {
        const channels = await TeamsInfo.getTeamChannels(context, teamId);
        const c = channels.find((x) => channelNameMatches(x.name, o.channelName));
        if (c?.id) found = { id: c.id, name: c.name ?? o.channelName };
      } catch (e) {
        o.log.warn({ err: e }, 'could not list the team\'s channels');
      }
    }
    if (!found) {
      o.log.warn({ teamId, wanted: o.channelName }, 'installed in a team without the IR channel');
      return;
    }
    const ref: ChannelRef = {
      serviceUrl: context.activity.serviceUrl,
      tenantId: cd?.tenant?.id ?? context.activity.conversation.tenantId ?? null,
      teamId,
      channelId: found.id,
      channelName: found.name,
      bot: { id: context.activity.recipient.id, name: context.activity.recipient.name ?? o.botName },
    };
    const prev = (await channel.channel()) as ChannelRef | undefined;
    if (!prev || prev.channelId !== ref.channelId || prev.serviceUrl !== ref.serviceUrl || prev.bot.id !== ref.bot.id) {
      await channel.saveChannel(ref);
      // Incidents that opened before the bot knew its channel get their thread now.
      for (const inc of await o.store.listIncidents({ open: true, limit: 200 })) {
        const posted = await o.store.getState(`teams:card:${inc.id}`);
        if (!posted || posted.startsWith('posting:')) void notifier.incidentChanged(inc.id);
      }
    }
  }

  app.activity('installationUpdate', async (context) => { await learnChannel(context); });
  app.conversationUpdate('membersAdded', async (context) => { await learnChannel(context); });
  app.conversationUpdate('channelCreated', async (context) => { await learnChannel(context); });
  app.conversationUpdate('channelRenamed', async (context) => { await learnChannel(context); });

  const clickerOf = (context: TurnContext): Clicker => ({
    aadObjectId: String(context.activity.from.aadObjectId ?? '').toLowerCase(),
    name: inert(context.activity.from.name ?? 'someone', 100),
  });

  const say = (context: TurnContext, r: OpResult, okDefault: string) =>
    context.sendActivity({ text: r.ok ? r.message ?? okDefault : `Not done: ${r.reason}`, textFormat: 'markdown' });

  async function statusRows(open: boolean): Promise<StatusRow[]> {
    const incidents = await o.store.listIncidents({ open: open || undefined, limit: open ? 50 : 20 });
    return Promise.all(incidents.map(async (incident) => {
      const [actions, approvals] = await Promise.all([o.store.listActions(incident.id), o.store.listApprovals({ incidentId: incident.id, status: 'pending' })]);
      const active = actions.filter((a) => ['running', 'awaiting_approval', 'ready', 'failed'].includes(a.status));
      const current = active.length
        ? active.map((a) => `${titleOfStep(incident, a.stepId)} (${STATE_DISPLAY[a.status].label})`).join(', ')
        : actions.length ? 'no step running' : 'procedure not started';
      const pending = approvals.map((p) => titleOfStep(incident, p.actionId.split(':').pop() ?? ''));
      return { incident, customerName: o.customerName(incident.customerId), current, pending };
    }));
  }

  app.message(/.*/s, async (context) => {
    await learnChannel(context);
    const cmd = parseCommand(context.activity.text ?? '');
    const clicker = clickerOf(context);
    switch (cmd.kind) {
      case 'help':
        await context.sendActivity({ text: helpText(o.botName), textFormat: 'markdown' });
        return;
      case 'unknown':
        await context.sendActivity({ text: helpText(o.botName, cmd.problem ? inert(cmd.problem) : `I don't know "${inert(cmd.text, 60)}".`), textFormat: 'markdown' });
        return;
      case 'status': {
        if (cmd.incidentId) {
          const snap = await loadSnapshot(o.store, cmd.incidentId, o.customerName);
          if (!snap) { await context.sendActivity(`No incident ${cmd.incidentId}.`); return; }
          await context.sendActivity({ attachments: [CardFactory.adaptiveCard(renderTimelineCard(snap))] });
          return;
        }
        const rows = await statusRows(true);
        await context.sendActivity({ attachments: [CardFactory.adaptiveCard(renderStatusCard(rows, `Open incidents: ${rows.length}`, now()))] });
        return;
      }
      case 'incidents': {
        const rows = await statusRows(false);
        await context.sendActivity({ attachments: [CardFactory.adaptiveCard(renderStatusCard(rows, `Latest incidents (${rows.length})`, now()))] });
        return;
      }
      case 'approve': case 'reject':
        await say(context, await o.ops.decideByStep({ incidentId: cmd.incidentId, stepId: cmd.stepId, vote: cmd.kind, clicker, reason: cmd.reason }), `${cmd.kind === 'approve' ? 'Approved' : 'Rejected'}: ${cmd.incidentId} ${cmd.stepId}`);
        return;
      case 'retry':
        await say(context, await o.ops.retry({ incidentId: cmd.incidentId, stepId: cmd.stepId, clicker }), `Asked again: ${cmd.incidentId} ${cmd.stepId}`);
        return;
      case 'cancel':
        await say(context, await o.ops.cancel({ incidentId: cmd.incidentId, clicker }), `Cancelled ${cmd.incidentId}`);
        return;
      case 'contain': {
        const r = await o.ops.contain({ upn: cmd.upn, customerId: cmd.customer, clicker });
        await say(context, r, `Containment started: ${r.ok && r.incidentId ? r.incidentId : ''}`);
        return;
      }
      case 'report':
        await say(context, await o.ops.report({ incidentId: cmd.incidentId, clicker }), `Report for ${cmd.incidentId} posted in its thread`);
        return;
      case 'verify':
        await say(context, await o.ops.verify({ incidentId: cmd.incidentId }), `Evidence of ${cmd.incidentId} verified`);
        return;
      case 'handoff':
        await say(context, await o.ops.handoff({ clicker }), 'Handoff posted');
        return;
      case 'close':
        await say(context, await o.ops.close({ incidentId: cmd.incidentId, reason: cmd.reason, clicker }), `Closed ${cmd.incidentId}`);
        return;
    }
  });

  // No card to show (a forged or foreign approval id): the clicker still gets the refusal's reason.
  const asCard = (c: Record<string, unknown> | undefined, refusal?: string): AdaptiveCard => (c ?? { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: refusal ? `Not done: ${inert(refusal, 500)}` : 'This card is no longer current.', wrap: true }] }) as unknown as AdaptiveCard;

  const onVote = (vote: 'approve' | 'reject') => async (context: TurnContext, _state: TurnState, data: Record<string, unknown>): Promise<AdaptiveCard> => {
    const approvalId = typeof data.approvalId === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(data.approvalId) ? data.approvalId : undefined;
    if (!approvalId) return asCard(undefined);
    const reason = typeof data.reason === 'string' ? data.reason.slice(0, 500) : undefined;
    // An editable card (the CISO email) sends its fields along; the engine accepts only the fields
    // the action declares editable, and validates them.
    const edits = Object.fromEntries(['subject', 'body', 'recipients', 'cc'].filter((k) => typeof data[k] === 'string').map((k) => [k, String(data[k]).slice(0, 20_000)]));
    const r = await o.ops.decide({ approvalId, vote, clicker: clickerOf(context), reason, edits: Object.keys(edits).length ? edits : undefined });
    // Accepted: the notifier replaced the card for everybody; the clicker gets the same fresh card.
    // Refused: only the clicker sees why, on top of the unchanged card.
    return asCard(await notifier.approvalCard(approvalId, r.ok ? undefined : r.reason), r.ok ? undefined : r.reason);
  };
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
      if (snap) return asCard(renderTimelineCard(snap, notice));
    }
    const approvals = await o.store.listApprovals({ incidentId });
    const latest = approvals.filter((a) => a.actionId === `${incidentId}:${stepId}`).sort((a, b) => a.requestedAt.localeCompare(b.requestedAt)).at(-1);
    return asCard(latest ? await notifier.approvalCard(latest.id, notice || undefined) : undefined);
  });

  return {
    handle: async (req, res) => {
      await adapter.process(req as never, res as never, async (context) => { await app.run(context); });
    },
    notifier,
    channel,
  };
}
