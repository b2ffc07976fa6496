import { z } from 'zod';
import type { CustomerConfig } from '../config/customers';
import type { SecretStore } from '../config/secrets';
import type { AlertSourceFactory } from '../connectors/alert-source/alert-source';
import { alertSources, createAlertSource } from '../connectors/alert-source/registry';
import type { MailerFactory, MspMailbox } from '../connectors/mail/mailer';
import { createMailer, mailers } from '../connectors/mail/registry';
import type { Mailer } from '../connectors/mail/mailer';
import { validateOutgoingMail } from '../connectors/mail/message';
import { InvalidInputError } from '../domain/net';
import type { ServiceNowClientOptions } from '../connectors/servicenow/client';
import { ticketSystemFor, ticketSystems } from '../connectors/ticketing/registry';
import type { TicketSystemFactory } from '../connectors/ticketing/ticket-system';
import { ConnectorError, type ActionContext, type ActionDef, type ActionResult, type Preview, type RawPayload, type ReportSource, actionList } from '../connectors/types';
import type { Store } from '../store/store';
import { checkRecipients, draftCisoEmail, loadCisoSnapshot, NOTIFY_CISO_ACTION, splitRecipients, ticketOf, type CisoSnapshot, type EmailDraft } from './ciso-email';
import { isStormSubject } from '../intake/storm';
import { draftStormCisoEmail } from './storm-ciso-email';
import { firstAndMore, stormSummary } from './storm-summary';
import { stormTicketText } from './storm-ticket-text';
import { draftCisoFollowUp, FOLLOW_UP_CISO_ACTION } from './ciso-follow-up';
export { FOLLOW_UP_CISO_ACTION, NOTIFY_CISO_ACTION };
import { storeReport } from './report';
import { storedReports } from './stored-reports';
import { mapBounded, STORM_CONCURRENCY } from '../connectors/storm/each-account';
import { stormRoundEndings, TICKET_OPEN_ACTION } from '../domain/storm-round-notes';
import { stormRoundNoteAction } from './storm-round-note';

/**
 * The evidence and follow-through actions a procedure can name: the forensic report, the ticket
 * (with the report attached and the ticket noted on the alerts) and the CISO email. They reach
 * the ticketing system, the alert source and the mailer through their ports, chosen per customer.
 * They need the store, so they come from a factory rather than a static list.
 */

export type { MspMailbox };

export interface EvidenceActionOptions {
  store: Store;
  customers: (customerId: string) => CustomerConfig | undefined;
  /** a link to the incident's report the bot serves (signed, expiring): in the thread and the Defender comment */
  reportUrl?: (incidentId: string) => string;
  msp?: MspMailbox;
  /** copied on every CISO email and allowed as a recipient */
  mspOnCall?: { name: string; email: string };
  /** the secrets of the MSP mailbox; defaults to the action context's */
  mspSecrets?: SecretStore;
  /** minutes until the promised next update (default 120) */
  nextUpdateMinutes?: number;
  signature?: string;
  /** ServiceNow client options (tests: retry timing) */
  serviceNow?: Partial<ServiceNowClientOptions>;
  /** the port registries (tests: their own vendors); the built-in ones by default */
  ticketSystems?: Record<string, TicketSystemFactory>;
  alertSources?: Record<string, AlertSourceFactory>;
  mailers?: Record<string, MailerFactory>;
}

export interface ReportOutput { name: string; sha256: string; size: number; evidenceId: number; summary: string }
export interface TicketOutput {
  ticket: { number: string; link: string; sysId: string }; created: boolean; attached: boolean; reportEvidenceId: number; alertsCommented: string[]; alertCommentFailures: string[];
  /**
   * A storm's further rounds whose outcome the ticket's description tells (their note ids, see
   * src/domain/storm-round-notes.ts): those get no work note. Only when this call created the
   * ticket: a ticket found again was described by an earlier attempt, so every ending gets its note.
   */
  stormRoundsCounted?: string[];
}
export interface NotifyCisoOutput { via: string; to: string[]; cc: string[]; subject: string; sentAt: string; messageId?: string; alreadySent?: boolean }

const emptyInput = z.object({}).passthrough();

const notifyInput = z.object({
  subject: z.string().max(255).optional(),
  body: z.string().max(20_000).optional(),
  /** comma/semicolon-separated (the card's Input.Text) or a list */
  recipients: z.union([z.string().max(2000), z.array(z.string().max(254)).max(50)]).optional(),
  cc: z.union([z.string().max(2000), z.array(z.string().max(254)).max(50)]).optional(),
}).passthrough();
export type NotifyCisoInput = z.infer<typeof notifyInput>;

/** The release's follow-up to the CISO (issue 14): what the release did, and the same editable fields. */
const followUpInput = notifyInput.extend({
  reason: z.string().trim().min(1).max(500),
  classification: z.enum(['falsePositive', 'informationalExpectedActivity']),
  releasedBy: z.string().min(1).max(200),
  releasedAt: z.string().datetime(),
  undone: z.array(z.string().max(300)).max(50),
  kept: z.array(z.string().max(500)).max(50),
});
export type FollowUpCisoInput = z.infer<typeof followUpInput>;

export function createEvidenceActions(o: EvidenceActionOptions): ActionDef[] {
  const { store } = o;
  const tickets = o.ticketSystems ?? ticketSystems({ serviceNow: o.serviceNow });
  // the engine gives the stored reports through the context; an action run outside it reads the store
  const reportsOf = (ctx: ActionContext): ReportSource => ctx.ports?.reports ?? storedReports(store);
  const mailerOf = (ctx: ActionContext) => createMailer(ctx.customer, { secrets: ctx.secrets, msp: o.msp, mspSecrets: o.mspSecrets }, o.mailers ?? mailers);

  const reportAction: ActionDef<Record<string, unknown>, ReportOutput> = {
    name: 'evidence.report',
    risk: 'change',
    description: 'Generates the forensic report (Markdown) from the store and keeps it as evidence, byte for byte.',
    input: emptyInput,
    async run(_input, ctx): Promise<ActionResult<ReportOutput>> {
      const r = await storeReport(store, ctx.incidentId, { customers: o.customers, now: ctx.now() });
      const output = { name: r.name, sha256: r.evidence.sha256, size: r.evidence.size, evidenceId: r.evidence.id, summary: r.summary };
      const link = o.reportUrl ? ` Download: ${o.reportUrl(ctx.incidentId)}` : '';
      // The report is already stored (streamed); returning it as raw would store it a second time.
      return { output, summary: `${r.summary}${link}`, raw: [] };
    },
  };

  const ticketAction: ActionDef<Record<string, unknown>, TicketOutput> = {
    name: TICKET_OPEN_ACTION,
    risk: 'change',
    description: "Opens the customer's ticket (a ServiceNow Security Incident) with the latest forensic report attached, and notes the ticket on the alerts.",
    input: emptyInput,
    async preview(_input, ctx): Promise<Preview> {
      const report = await reportsOf(ctx).latest(ctx.incidentId);
      const system = ticketSystemFor(ctx.customer, tickets);
      return {
        title: `Open a ticket for ${ctx.incidentId}`,
        facts: [
          { label: 'Ticketing', value: system?.describe() ?? 'none configured' },
          { label: 'Report', value: report ? `${report.name} (${report.bytes.length} bytes, SHA-256 ${report.sha256.slice(0, 16)}…)` : 'none yet' },
        ],
        changes: ['Create (or reuse) the Security Incident', 'Attach the forensic report', 'Comment the ticket number on the alert(s)'],
        warnings: report ? [] : ['No report has been generated yet: run evidence.report first'],
      };
    },
    async run(_input, ctx): Promise<ActionResult<TicketOutput>> {
      const incident = await store.getIncident(ctx.incidentId);
      if (!incident) throw new ConnectorError(`incident ${ctx.incidentId} does not exist`, { source: 'ticket' });
      const system = ticketSystemFor(ctx.customer, tickets);
      if (!system) throw new ConnectorError(`${ctx.customer.name} has no ticketing system configured (customers file: servicenow)`, { source: 'ticket' });
      // The latest stored report, not a fresh one: a retry must attach the very same bytes, so the
      // ticketing side recognises the attachment it already has.
      const report = await reportsOf(ctx).latest(ctx.incidentId);
      if (!report) throw new ConnectorError(`${ctx.incidentId} has no forensic report yet: generate it first (evidence.report, or @ir report ${ctx.incidentId})`, { source: 'ticket' });
      const snapshot = await loadCisoSnapshot(store, ctx.incidentId, ctx.customer, { now: ctx.now(), nextUpdateMinutes: o.nextUpdateMinutes, signature: o.signature });
      const alerts = snapshot.snapshot.alerts;
      const alertWebUrl = alerts.map((a) => (a.alert as { alertWebUrl?: unknown }).alertWebUrl).find((u): u is string => typeof u === 'string' && u !== '');
      const opened = await system.open({
        incidentId: incident.id,
        ...ticketText(snapshot),
        alertWebUrl,
        report: { name: report.name, bytes: report.bytes },
        // the UPN is the user's email on these tenants: ServiceNow's affected_user, when sys_user has it;
        // a storm has many users and no affected one (its subject is the storm, never an address)
        ...(isStormSubject(incident.subjectUpn) ? {} : { affectedUserEmail: incident.subjectUpn }),
      }, ctx);
      // The engine records the ticket on the incident from this output (the step's `record:`).
      const ticket = { number: opened.output.number, link: opened.output.link, sysId: opened.output.sysId };
      const storm = isStormSubject(incident.subjectUpn);
      const counted = storm && opened.output.created ? stormRoundEndings(snapshot.snapshot.actions).map((e) => e.noteStepId) : [];

      const raw: RawPayload[] = [...opened.raw];
      const commented: string[] = [];
      const commentFailures: string[] = [];
      if (alerts.length) {
        const source = createAlertSource(ctx.customer, { secrets: ctx.secrets, signal: ctx.signal, now: () => ctx.now(), graphTenants: ctx.ports?.graph }, o.alertSources ?? alertSources);
        const reportLink = o.reportUrl ? `; forensic report: ${o.reportUrl(incident.id)}` : '';
        const comment = `ServiceNow ${ticket.number} opened for ${incident.id} by teams-ir-bot: ${ticket.link}${reportLink}`;
        // A storm holds hundreds of alerts: noted a few at a time (the tenant's throttle still applies),
        // each alert's raw answers kept in its own slot so the evidence stays in the alerts' order.
        const noted = await mapBounded(alerts, STORM_CONCURRENCY, async (a) => {
          const mine: RawPayload[] = [];
          // The ticket exists by now: an alert that cannot be commented (deleted, no permission)
          // is reported with the ticket, not a reason to fail the step and retry it.
          try {
            // Re-read first: a retry must not comment twice.
            const current = await source.get(a.id);
            mine.push(...current.raw);
            const comments = Array.isArray(current.alert.comments) ? (current.alert.comments as Array<{ comment?: unknown }>) : [];
            if (comments.some((c) => typeof c.comment === 'string' && c.comment.includes(ticket.number))) return { raw: mine };
            const r = await source.comment(a.id, comment);
            mine.push(...r.raw);
            return { raw: mine, commented: a.id };
          } catch (e) {
            return { raw: mine, failure: `${a.id}: ${(e as Error).message.split('\n')[0].slice(0, 300)}` };
          }
        }, ctx.signal);
        for (const n of noted) {
          raw.push(...n.raw);
          if (n.commented) commented.push(n.commented);
          if (n.failure) commentFailures.push(n.failure);
        }
      }
      return {
        output: {
          ticket, created: opened.output.created, attached: opened.output.attached, reportEvidenceId: report.evidenceId, alertsCommented: commented, alertCommentFailures: commentFailures,
          ...(storm ? { stormRoundsCounted: counted } : {}),
        },
        summary: `${opened.summary}${commented.length ? `; noted on ${commented.length} Defender alert(s)` : ''}${commentFailures.length ? `; NOT noted on ${commentFailures.length} Defender alert(s): ${firstAndMore(commentFailures, 5)}` : ''}`,
        raw,
      };
    },
  };

  async function composed(input: NotifyCisoInput, ctx: ActionContext): Promise<EmailDraft> {
    const snapshot = await loadCisoSnapshot(store, ctx.incidentId, ctx.customer, {
      now: ctx.now(), nextUpdateMinutes: o.nextUpdateMinutes, mspOnCall: o.mspOnCall, signature: o.signature,
    });
    return finalDraft(cisoDraft(snapshot), input, ctx);
  }

  const notifyAction: ActionDef<NotifyCisoInput, NotifyCisoOutput> = {
    name: NOTIFY_CISO_ACTION,
    risk: 'destructive',
    // a sent email cannot be recalled: a release sends the CISO a follow-up instead (drafted for review)
    inverse: { none: 'The CISO notification was sent and cannot be unsent: the release drafts a follow-up to the CISO for review instead' },
    // the approval card is the draft: the approver may edit these before sending
    editable: ['subject', 'body', 'recipients', 'cc'],
    // the card's inputs hold the draft as renderEmailDraftCard (src/bot/render-evidence-cards.ts) shows it
    shownForEdit(preview) {
      const d = (preview?.data as { draft?: EmailDraft } | undefined)?.draft;
      return d ? { subject: d.subject, body: d.body, recipients: d.to.join(', '), cc: d.cc.join(', ') } : undefined;
    },
    description: "Emails the customer's CISO a one-screen update (editable on the approval card) from the MSP mailbox or the customer's SMTP relay.",
    input: notifyInput,
    async preview(input, ctx): Promise<Preview> {
      return draftPreview(`Email ${ctx.customer.name}'s CISO about ${ctx.incidentId}`, await composed(input, ctx), mailerOf(ctx));
    },
    async run(input, ctx): Promise<ActionResult<NotifyCisoOutput>> {
      return sendOnce(`mail.notifyCiso:${ctx.idempotencyKey}`, await composed(input, ctx), ctx);
    },
  };

  /**
   * Mail has no idempotency key on the far side: the attempt is remembered under `key`, so a crash
   * after the send is not silently followed by a second email.
   */
  async function sendOnce(key: string, d: EmailDraft, ctx: ActionContext): Promise<ActionResult<NotifyCisoOutput>> {
    const prior = await store.getState(key);
    if (prior?.startsWith('sent ')) {
      const sent = JSON.parse(prior.slice(5)) as NotifyCisoOutput;
      return { output: { ...sent, alreadySent: true }, summary: `Already emailed ${sent.to.join(', ')} at ${sent.sentAt}: not sent again`, raw: [] };
    }
    if (prior === 'sending') {
      throw new ConnectorError('an earlier attempt to email the CISO stopped mid-send and may have gone out: check the sent mail, then send again with @ir retry if it did not', { source: 'mail' });
    }
    if (!(await store.casState(key, prior, 'sending'))) throw new ConnectorError('another worker is sending this email right now', { source: 'mail', retryable: true });

    const mailer = mailerOf(ctx);
    let sent: { raw: RawPayload[]; messageId?: string };
    try {
      sent = await mailer.send({ subject: d.subject, bodyText: d.body, to: d.to, cc: d.cc }, { now: () => ctx.now() });
    } catch (e) {
      // Refused before or by the server: nothing went out, so a retry may send.
      await store.setState(key, 'failed');
      throw e;
    }
    const { raw, messageId } = sent;
    const output: NotifyCisoOutput = { via: mailer.via, to: d.to, cc: d.cc, subject: d.subject, sentAt: ctx.now().toISOString(), messageId };
    await store.setState(key, `sent ${JSON.stringify(output)}`);
    return { output, summary: `Emailed ${d.to.join(', ')}${d.cc.length ? ` (cc ${d.cc.join(', ')})` : ''}: "${d.subject}"`, raw };
  }

  /** The approver's edits over the draft, checked by the same rules as the first CISO email. */
  function finalDraft(draft: EmailDraft, input: NotifyCisoInput, ctx: ActionContext): EmailDraft {
    const to = splitRecipients(input.recipients) ?? draft.to;
    const cc = splitRecipients(input.cc) ?? (input.recipients !== undefined ? [] : draft.cc);
    const final: EmailDraft = {
      to: checkRecipients(ctx.customer, to, o.mspOnCall),
      cc: checkRecipients(ctx.customer, cc, o.mspOnCall),
      subject: input.subject?.trim() ? input.subject : draft.subject,
      body: input.body?.trim() ? input.body.replace(/\r\n/g, '\n') : draft.body,
    };
    validateOutgoingMail({ subject: final.subject, bodyText: final.body, to: final.to, cc: final.cc });
    return final;
  }

  async function composedFollowUp(input: FollowUpCisoInput, ctx: ActionContext): Promise<EmailDraft> {
    const incident = await store.getIncident(ctx.incidentId);
    if (!incident) throw new InvalidInputError('incidentId', `no incident ${ctx.incidentId}`);
    if (incident.customerId !== ctx.customer.id) throw new InvalidInputError('incidentId', `${ctx.incidentId} is not an incident of ${ctx.customer.id}`);
    const draft = draftCisoFollowUp({
      incident, customer: ctx.customer, reason: input.reason, classification: input.classification, releasedBy: input.releasedBy,
      releasedAt: new Date(input.releasedAt), undone: input.undone, kept: input.kept, mspOnCall: o.mspOnCall, signature: o.signature,
    });
    return finalDraft(draft, input, ctx);
  }

  const followUpAction: ActionDef<FollowUpCisoInput, NotifyCisoOutput> = {
    name: FOLLOW_UP_CISO_ACTION,
    risk: 'change',
    editable: ['subject', 'body', 'recipients', 'cc'],
    shownForEdit: notifyAction.shownForEdit,
    description: "Emails the customer's CISO a short follow-up after a release (reviewed and editable on its card, like the first CISO email).",
    input: followUpInput,
    async preview(input, ctx): Promise<Preview> {
      return draftPreview(`Follow-up to ${ctx.customer.name}'s CISO: ${ctx.incidentId} released`, await composedFollowUp(input, ctx), mailerOf(ctx));
    },
    async run(input, ctx): Promise<ActionResult<NotifyCisoOutput>> {
      return sendOnce(`${FOLLOW_UP_CISO_ACTION}:${ctx.idempotencyKey}`, await composedFollowUp(input, ctx), ctx);
    },
  };

  const roundNoteAction = stormRoundNoteAction({ store, ticketSystem: (ctx) => ticketSystemFor(ctx.customer, tickets) });

  return actionList(reportAction, ticketAction, notifyAction, followUpAction, roundNoteAction);
}

export { ticketOf };

/**
 * The CISO email's draft: about the account, or about the storm for a storm incident (its subject
 * `storm:<customer>:<key>` is no user and must never be written as one). Decided by the incident,
 * not by the step's input, so no procedure can get the account text for a storm.
 */
function cisoDraft(s: CisoSnapshot): EmailDraft {
  return isStormSubject(s.snapshot.incident.subjectUpn) ? draftStormCisoEmail(s) : draftCisoEmail(s);
}

/** The ticket's short description and description, about the account or the storm (as cisoDraft). */
function ticketText(s: CisoSnapshot): { shortDescription: string; description: string } {
  const inc = s.snapshot.incident;
  if (isStormSubject(inc.subjectUpn)) return stormTicketText(stormSummary(s.snapshot), { customerName: s.customer.name });
  return {
    shortDescription: `${inc.title} (${inc.subjectUpn})`,
    description: draftCisoEmail(s).body.split('\n').filter((l) => !/^Dear |^Next update:/.test(l)).join('\n'),
  };
}

/** An email draft's approval preview (the CISO email and the release's follow-up): who gets it, how it goes. */
function draftPreview(title: string, d: EmailDraft, mailer: Pick<Mailer, 'describe' | 'problems'>): Preview {
  return {
    title,
    facts: [
      { label: 'To', value: d.to.join(', ') },
      { label: 'Cc', value: d.cc.join(', ') || '—' },
      { label: 'Subject', value: d.subject },
      { label: 'Sent via', value: mailer.describe() },
    ],
    changes: [`Send the email below to ${d.to.join(', ')}`],
    warnings: mailer.problems(),
    data: { draft: d },
  };
}
