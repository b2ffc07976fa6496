import type { EmailDraft } from '../evidence/ciso-email';
import type { HandoffData } from '../evidence/handoff';
import { expandCard } from './card-templates';
import { inert, utc } from './inert-text';
import { subjectDisplay } from '../domain/subject-display';
import { charsAt, fitCard, rowsAt } from './card-budget';

/**
 * Card data for the evidence follow-through: the CISO email draft (an approval card whose inputs
 * the approver may edit) and the shift handoff. Pure: data in, card JSON out (no botbuilder here).
 */

export interface EmailDraftView {
  approvalId: string;
  incidentId: string;
  customerName: string;
  draft: EmailDraft;
  /** pending: the inputs and Send/Discard are shown */
  open: boolean;
  /** e.g. 'Sent by Alex Wilber at 2026-11-27 15:40 UTC' or 'Discarded by ...' once decided */
  outcome?: string;
  outcomeColor?: 'Good' | 'Attention' | 'Warning' | 'Default';
  sentVia?: string;
  expiresAt?: string;
  warnings?: string[];
  /** shown above the card to the person whose click was refused */
  notice?: string;
}

/** Input values are plain text fields (not Markdown), so they carry the draft unchanged. */
export function renderEmailDraftCard(v: EmailDraftView): Record<string, unknown> {
  // The inputs carry the email exactly as it will be sent, so only the warnings shrink; the body's
  // own bound (20,000 characters, src/evidence/actions.ts) keeps a plain-text draft under the limit.
  return fitCard('email-draft', (level) => emailDraftCardAt(v, level));
}

function emailDraftCardAt(v: EmailDraftView, level: number): Record<string, unknown> {
  const d = v.draft;
  return expandCard('email-draft', {
    notice: inert(v.notice ?? '', 400),
    headerStyle: v.open ? 'warning' : 'default',
    heading: inert(`${v.open ? 'Email to send' : 'Email'}: ${v.customerName}'s CISO · ${v.incidentId}`),
    subheading: v.open ? 'Edit if needed, then Send (the email goes out as shown) or Discard.' : '',
    facts: [
      { label: 'To', value: inert(d.to.join(', '), 400) },
      { label: 'Cc', value: inert(d.cc.join(', ') || '—', 400) },
      ...(v.open ? [] : [{ label: 'Subject', value: inert(d.subject, 255) }]),
      ...(v.sentVia ? [{ label: 'Sent via', value: inert(v.sentVia, 100) }] : []),
    ],
    warnings: (v.warnings ?? []).slice(0, rowsAt(level, 10, 2)).map((w) => inert(w, charsAt(level, 300))),
    recipients: d.to.join(', '),
    cc: d.cc.join(', '),
    subject: d.subject,
    body: d.body,
    open: v.open,
    outcome: inert(v.outcome ?? '', 400),
    outcomeColor: v.outcomeColor ?? 'Default',
    footer: `${v.incidentId}${v.expiresAt ? ` · answer by ${utc(v.expiresAt)}` : ''} · recipients are limited to ${inert(v.customerName, 60)}'s contacts and domains and the MSP on-call`,
    approvalId: v.approvalId,
  });
}

/** Only absolute https links become buttons; anything else is left out. */
function httpsLink(u: string | undefined): string {
  if (!u) return '';
  try {
    const url = new URL(u);
    return url.protocol === 'https:' && !url.username && !url.password ? url.href : '';
  } catch {
    return '';
  }
}

/** A display name usable inside <at>…</at>: no angle brackets or control characters. */
function mentionName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[<>\u0000-\u001f\u007f]/g, '').trim().slice(0, 100) || 'on-call';
}

const MAX_INCIDENTS = 25;

export function renderHandoffCard(h: HandoffData): Record<string, unknown> {
  return fitCard('handoff', (level) => handoffCardAt(h, level));
}

function handoffCardAt(h: HandoffData, level: number): Record<string, unknown> {
  const name = mentionName(h.mention.name);
  const max = rowsAt(level, MAX_INCIDENTS, 5);
  const shown = h.incidents.slice(0, max);
  return expandCard('handoff', {
    mentions: [{ text: `<at>${name}</at>`, id: h.mention.aadObjectId, name }],
    headerStyle: h.incidents.some((i) => i.pendingApprovals.length) ? 'warning' : 'default',
    heading: inert(`Shift handoff · ${h.shiftName} · ${h.localDate} ${h.localStart} (${h.timeZone})`),
    // The <at> text must match the entity exactly, so it is not passed through inert().
    handover: `<at>${name}</at>, you are on call now.${h.outgoing ? ` Handed over by ${inert(h.outgoing.name, 100)}.` : ''}`,
    late: inert(h.late?.notice ?? '', 300),
    summary: inert(h.summary, 200),
    incidents: shown.map((i) => {
      const links = { thread: httpsLink(i.links.thread), report: httpsLink(i.links.report), ticket: httpsLink(i.links.ticket), ticketTitle: inert(i.links.ticketNumber ?? 'Ticket', 40) };
      return {
        heading: inert(`${i.id} · ${i.customerName} · ${i.severity.toUpperCase()} · ${i.status}`),
        title: inert(`${subjectDisplay(i.subjectUpn)}: ${i.title}`, charsAt(level, 300)),
        facts: [
          { label: 'Opened', value: utc(i.openedAt) },
          ...(i.pendingApprovals.length ? [{ label: 'Awaiting approval', value: inert(i.pendingApprovals.join('; '), charsAt(level, 400)) }] : []),
          ...(i.links.ticketNumber ? [{ label: 'ServiceNow', value: inert(i.links.ticketNumber, 40) }] : []),
        ],
        left: i.left.slice(0, rowsAt(level, 8, 2)).map((l) => inert(l, charsAt(level, 200))),
        links,
        hasLinks: Boolean(links.thread || links.report || links.ticket),
      };
    }),
    footer: `Posted ${utc(h.postedAt)} for the shift that started ${utc(h.startsAt)}` +
      `${h.incidents.length > max ? ` · ${h.incidents.length - max} more open incidents: @ir status, or the operator API GET /api/incidents?status=open` : ''}`,
  });
}
