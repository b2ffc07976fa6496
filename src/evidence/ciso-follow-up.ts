import type { CustomerConfig } from '../config/customers';
import type { IncidentRecord } from '../store/store';
import { ticketOf, type EmailDraft } from './ciso-email';
import { readFindings } from '../domain/incident-findings';
import { isStormSubject } from '../intake/storm';

/**
 * The follow-up to the customer's CISO after a release (issue 14): one screen of plain text saying
 * the account was released, why, what was undone and what stays (the password stays reset). It
 * goes through the same review card, recipient rule and send-once path as the first CISO email
 * (src/evidence/actions.ts); every value from the incident or the approver is one line of plain
 * text here, so a reason cannot add a header, a line of its own, or markup a mail client renders.
 */

export const FOLLOW_UP_CISO_ACTION = 'mail.followUpCiso';

export interface CisoFollowUp {
  incident: Pick<IncidentRecord, 'id' | 'subjectUpn' | 'data'>;
  customer: CustomerConfig;
  reason: string;
  classification: 'falsePositive' | 'informationalExpectedActivity';
  releasedBy: string;
  releasedAt: Date;
  undone: string[];
  kept: string[];
  mspOnCall?: { name: string; email: string };
  signature?: string;
}

const CLASSIFIED: Record<CisoFollowUp['classification'], string> = {
  falsePositive: 'a false positive',
  informationalExpectedActivity: 'expected activity',
};

/** One line of plain text: no control characters (CR/LF included), bounded length. */
function line(value: unknown, max: number): string {
  // eslint-disable-next-line no-control-regex
  const s = String(value ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function draftCisoFollowUp(f: CisoFollowUp): EmailDraft {
  const ticket = ticketOf(f.incident);
  // a storm's subject (storm:<customer>:<key>) is no account: the follow-up names the storm and its count
  const storm = isStormSubject(f.incident.subjectUpn) ? readFindings(f.incident.data) : undefined;
  const released = storm ? (storm.stormContained ?? []).filter((a) => a.status === 'contained').length : 0;
  const who = storm ? `the alert storm "${line(storm.storm?.title ?? 'alert storm', 90)}" (${released} account${released === 1 ? '' : 's'})` : line(f.incident.subjectUpn, 80);
  const at = `${f.releasedAt.toISOString().slice(0, 10)} at ${f.releasedAt.toISOString().slice(11, 16)} UTC`;
  const body = [
    `Dear ${line(f.customer.contacts.ciso.name, 60)},`,
    '',
    storm ? `The accounts of ${who} were released on ${at}: ${CLASSIFIED[f.classification]}.` : `The account ${who} was released on ${at}: ${CLASSIFIED[f.classification]}.`,
    `Why: ${line(f.reason, 300)}`,
    `Released by: ${line(f.releasedBy, 100)}`,
    '',
    'What we undid:',
    ...(f.undone.length ? f.undone.slice(0, 10).map((u) => `- ${line(u, 150)}`) : ['- Nothing needed undoing.']),
    '',
    'What stays:',
    ...(f.kept.length ? f.kept.slice(0, 6).map((k) => `- ${line(k, 200)}`) : ['- Nothing: every containment step was undone.']),
    '',
    `Incident: ${f.incident.id}${ticket ? ` · ServiceNow: ${line(ticket.number, 40)} (updated)` : ''}`,
    '',
    line(f.signature ?? 'MSP Security Operations', 80),
  ];
  return {
    to: [f.customer.contacts.ciso.email],
    cc: [f.customer.contacts.onCall.email, ...(f.mspOnCall ? [f.mspOnCall.email] : [])].filter((v, i, all) => all.indexOf(v) === i && v !== f.customer.contacts.ciso.email),
    subject: line(`[${f.incident.id}] Released (${f.classification === 'falsePositive' ? 'false positive' : 'expected activity'}): ${who}`, 200),
    body: body.join('\n'),
  };
}
