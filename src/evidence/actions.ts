import { z } from 'zod';
import type { CustomerConfig } from '../config/customers';
import type { SecretStore } from '../config/secrets';
import { addAlertComment, getAlert } from '../connectors/graph/defender';
import { GraphSession } from '../connectors/graph/graph-session';
import { sendMailViaGraph } from '../connectors/graph/send-mail';
import { sendMailViaSmtp } from '../connectors/mail/smtp';
import { validateOutgoingMail } from '../connectors/mail/message';
import { openSecurityIncident } from '../connectors/servicenow/open-security-incident';
import type { ServiceNowClientOptions } from '../connectors/servicenow/client';
import { ConnectorError, type ActionContext, type ActionDef, type ActionResult, type Preview, type RawPayload } from '../connectors/types';
import type { Store } from '../store/store';
import { checkRecipients, draftCisoEmail, loadCisoSnapshot, splitRecipients, ticketOf, type EmailDraft } from './ciso-email';
import { latestReport, reportFileName, storeReport } from './report';

/**
 * The evidence and follow-through actions a procedure can name: the forensic report, the
 * ServiceNow ticket (with the report attached and the ticket noted on the Defender alerts) and the
 * CISO email. They need the store, so they come from a factory rather than a static list.
 */

/** The MSP's own mailbox (env MSP_*), used when a customer's mail goes via Graph. */
export interface MspMailbox {
  tenantId: string;
  clientId: string;
  /** secret reference of the client secret, e.g. env:MSP_GRAPH_CLIENT_SECRET */
  credentialRef: string;
  mailbox: string;
  authorityHost?: string;
  baseUrl?: string;
  caCertificateRef?: string;
}

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
}

export interface ReportOutput { name: string; sha256: string; size: number; evidenceId: number; summary: string }
export interface TicketOutput { ticket: { number: string; link: string; sysId: string }; created: boolean; attached: boolean; reportEvidenceId: number; alertsCommented: string[]; alertCommentFailures: string[] }
export interface NotifyCisoOutput { via: 'graph' | 'smtp'; to: string[]; cc: string[]; subject: string; sentAt: string; messageId?: string; alreadySent?: boolean }

const emptyInput = z.object({}).passthrough();

const notifyInput = z.object({
  subject: z.string().max(255).optional(),
  body: z.string().max(20_000).optional(),
  /** comma/semicolon-separated (the card's Input.Text) or a list */
  recipients: z.union([z.string().max(2000), z.array(z.string().max(254)).max(50)]).optional(),
  cc: z.union([z.string().max(2000), z.array(z.string().max(254)).max(50)]).optional(),
}).passthrough();
export type NotifyCisoInput = z.infer<typeof notifyInput>;

export function createEvidenceActions(o: EvidenceActionOptions): ActionDef[] {
  const { store } = o;

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
    name: 'ticket.open',
    risk: 'change',
    description: "Opens the customer's ServiceNow Security Incident with the latest forensic report attached, and notes the ticket on the Defender alerts.",
    input: emptyInput,
    async preview(_input, ctx): Promise<Preview> {
      const report = await latestReport(store, ctx.incidentId);
      return {
        title: `Open a ServiceNow Security Incident for ${ctx.incidentId}`,
        facts: [{ label: 'Report', value: report ? `${reportFileName(ctx.incidentId)} (${report.size} bytes, SHA-256 ${report.sha256.slice(0, 16)}…)` : 'none yet' }],
        changes: ['Create (or reuse) the Security Incident', 'Attach the forensic report', 'Comment the ticket number on the Defender alert(s)'],
        warnings: report ? [] : ['No report has been generated yet: run evidence.report first'],
      };
    },
    async run(_input, ctx): Promise<ActionResult<TicketOutput>> {
      const incident = await store.getIncident(ctx.incidentId);
      if (!incident) throw new ConnectorError(`incident ${ctx.incidentId} does not exist`, { source: 'ticket' });
      // The latest stored report, not a fresh one: a retry must attach the very same bytes, so the
      // ServiceNow side recognises the attachment it already has.
      const report = await latestReport(store, ctx.incidentId);
      if (!report) throw new ConnectorError(`${ctx.incidentId} has no forensic report yet: generate it first (evidence.report, or @ir report ${ctx.incidentId})`, { source: 'ticket' });
      const reportBytes = await store.getEvidenceBody(report.id);
      const snapshot = await loadCisoSnapshot(store, ctx.incidentId, ctx.customer, { now: ctx.now(), nextUpdateMinutes: o.nextUpdateMinutes, signature: o.signature });
      const draft = draftCisoEmail(snapshot);
      const alerts = snapshot.snapshot.alerts;
      const alertWebUrl = alerts.map((a) => (a.alert as { alertWebUrl?: unknown }).alertWebUrl).find((u): u is string => typeof u === 'string' && u !== '');
      const snow = await openSecurityIncident({
        incidentId: incident.id,
        shortDescription: `${incident.title} (${incident.subjectUpn})`,
        description: draft.body.split('\n').filter((l) => !/^Dear |^Next update:/.test(l)).join('\n'),
        alertWebUrl,
        reportName: reportFileName(incident.id),
        reportBytes,
        // the UPN is the user's email on these tenants: ServiceNow's affected_user, when sys_user has it
        affectedUserEmail: incident.subjectUpn,
      }, ctx, o.serviceNow);
      const ticket = { number: snow.output.number, link: snow.output.link, sysId: snow.output.sysId };
      await store.updateIncident(incident.id, { data: { ticket } });

      const raw: RawPayload[] = [...snow.raw];
      const commented: string[] = [];
      const commentFailures: string[] = [];
      if (alerts.length) {
        const graph = new GraphSession(ctx.customer, ctx.secrets, { signal: ctx.signal, now: () => ctx.now() });
        const reportLink = o.reportUrl ? `; forensic report: ${o.reportUrl(incident.id)}` : '';
        const comment = `ServiceNow ${ticket.number} opened for ${incident.id} by teams-ir-bot: ${ticket.link}${reportLink}`;
        for (const a of alerts) {
          // The ticket exists by now: a Defender alert that cannot be commented (deleted, no
          // permission) is reported with the ticket, not a reason to fail the step and retry it.
          try {
            // Re-read first: a retry must not comment twice.
            const current = await getAlert(graph, a.id);
            raw.push(...current.raw);
            const comments = Array.isArray(current.alert.comments) ? (current.alert.comments as Array<{ comment?: unknown }>) : [];
            if (comments.some((c) => typeof c.comment === 'string' && c.comment.includes(ticket.number))) continue;
            const r = await addAlertComment(graph, a.id, comment);
            raw.push(...r.raw);
            commented.push(a.id);
          } catch (e) {
            commentFailures.push(`${a.id}: ${(e as Error).message.split('\n')[0].slice(0, 300)}`);
          }
        }
      }
      return {
        output: { ticket, created: snow.output.created, attached: snow.output.attached, reportEvidenceId: report.id, alertsCommented: commented, alertCommentFailures: commentFailures },
        summary: `${snow.summary}${commented.length ? `; noted on ${commented.length} Defender alert(s)` : ''}${commentFailures.length ? `; NOT noted on ${commentFailures.length} Defender alert(s): ${commentFailures.join('; ')}` : ''}`,
        raw,
      };
    },
  };

  async function composed(input: NotifyCisoInput, ctx: ActionContext): Promise<EmailDraft> {
    const snapshot = await loadCisoSnapshot(store, ctx.incidentId, ctx.customer, {
      now: ctx.now(), nextUpdateMinutes: o.nextUpdateMinutes, mspOnCall: o.mspOnCall, signature: o.signature,
    });
    const draft = draftCisoEmail(snapshot);
    const to = splitRecipients(input.recipients) ?? draft.to;
    const cc = splitRecipients(input.cc) ?? (input.recipients !== undefined ? [] : draft.cc);
    const final: EmailDraft = {
      to: checkRecipients(ctx.customer, to, o.mspOnCall),
      cc: checkRecipients(ctx.customer, cc, o.mspOnCall),
      subject: input.subject?.trim() ? input.subject : draft.subject,
      body: input.body?.trim() ? input.body.replace(/\r\n/g, '\n') : draft.body,
    };
    // The same gate the transports use, before anything is shown or sent.
    validateOutgoingMail({ subject: final.subject, bodyText: final.body, to: final.to, cc: final.cc });
    return final;
  }

  const notifyAction: ActionDef<NotifyCisoInput, NotifyCisoOutput> = {
    name: 'mail.notifyCiso',
    risk: 'destructive',
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
      const d = await composed(input, ctx);
      const via = ctx.customer.mail.via === 'smtp' ? `SMTP ${ctx.customer.mail.host}` : `Graph, from ${o.msp?.mailbox ?? '(MSP mailbox not configured)'}`;
      return {
        title: `Email ${ctx.customer.name}'s CISO about ${ctx.incidentId}`,
        facts: [
          { label: 'To', value: d.to.join(', ') },
          { label: 'Cc', value: d.cc.join(', ') || '—' },
          { label: 'Subject', value: d.subject },
          { label: 'Sent via', value: via },
        ],
        changes: [`Send the email below to ${d.to.join(', ')}`],
        warnings: ctx.customer.mail.via === 'graph' && !o.msp ? ['The MSP mailbox (MSP_*) is not configured: sending will fail'] : [],
        data: { draft: d },
      };
    },
    async run(input, ctx): Promise<ActionResult<NotifyCisoOutput>> {
      const d = await composed(input, ctx);
      // Mail has no idempotency key on the far side: remember the attempt, so a crash after the
      // send is not silently followed by a second email.
      const key = `mail.notifyCiso:${ctx.idempotencyKey}`;
      const prior = await store.getState(key);
      if (prior?.startsWith('sent ')) {
        const sent = JSON.parse(prior.slice(5)) as NotifyCisoOutput;
        return { output: { ...sent, alreadySent: true }, summary: `Already emailed ${sent.to.join(', ')} at ${sent.sentAt}: not sent again`, raw: [] };
      }
      if (prior === 'sending') {
        throw new ConnectorError('an earlier attempt to email the CISO stopped mid-send and may have gone out: check the sent mail, then send again with @ir retry if it did not', { source: 'mail' });
      }
      if (!(await store.casState(key, prior, 'sending'))) throw new ConnectorError('another worker is sending this email right now', { source: 'mail', retryable: true });

      let raw: RawPayload[];
      let via: 'graph' | 'smtp';
      let messageId: string | undefined;
      try {
        if (ctx.customer.mail.via === 'smtp') {
          const r = await sendMailViaSmtp(ctx.customer.mail, { subject: d.subject, bodyText: d.body, to: d.to, cc: d.cc }, ctx.secrets, { now: () => ctx.now() });
          raw = [r.raw];
          via = 'smtp';
          messageId = r.messageId;
        } else {
          if (!o.msp) throw new ConnectorError('the MSP mailbox is not configured (MSP_TENANT_ID, MSP_GRAPH_CLIENT_ID, MSP_GRAPH_CLIENT_SECRET, MSP_MAILBOX)', { source: 'graph.sendMail' });
          raw = await sendMailViaGraph({
            tenantId: o.msp.tenantId, clientId: o.msp.clientId, credential: o.msp.credentialRef, authorityHost: o.msp.authorityHost,
            baseUrl: o.msp.baseUrl, caCertificateRef: o.msp.caCertificateRef, mailbox: o.msp.mailbox,
            message: { subject: d.subject, bodyText: d.body, to: d.to, cc: d.cc },
          }, o.mspSecrets ?? ctx.secrets);
          via = 'graph';
        }
      } catch (e) {
        // Refused before or by the server: nothing went out, so a retry may send.
        await store.setState(key, 'failed');
        throw e;
      }
      const output: NotifyCisoOutput = { via, to: d.to, cc: d.cc, subject: d.subject, sentAt: ctx.now().toISOString(), messageId };
      await store.setState(key, `sent ${JSON.stringify(output)}`);
      return { output, summary: `Emailed ${d.to.join(', ')}${d.cc.length ? ` (cc ${d.cc.join(', ')})` : ''}: "${d.subject}"`, raw };
    },
  };

  return [reportAction, ticketAction, notifyAction] as unknown as ActionDef[];
}

export { ticketOf };
