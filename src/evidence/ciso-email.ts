import type { CustomerConfig } from '../config/customers';
import { InvalidInputError } from '../domain/net';
import { parseEmailAddress } from '../connectors/mail/message';
import type { ActionRecord, AlertRecord, ApprovalRecord, IncidentRecord, Store } from '../store/store';

/**
 * The email to the customer's CISO: one screen of plain text (what happened, what we did, what is
 * left, when the next update comes, the incident and ticket numbers), and the rule on who may
 * receive it: the customer's own contacts and domains, plus the MSP on-call: never anyone else.
 */

export interface CisoSnapshot {
  incident: IncidentRecord;
  customer: CustomerConfig;
  alerts: AlertRecord[];
  actions: ActionRecord[];
  approvals: ApprovalRecord[];
  now: Date;
  /** minutes until the promised next update (default 120) */
  nextUpdateMinutes?: number;
  /** the MSP's on-call address, copied on every CISO email */
  mspOnCall?: { name: string; email: string };
  /** the closing line (default "<MSP> Security Operations") */
  signature?: string;
}

export interface EmailDraft {
  to: string[];
  cc: string[];
  subject: string;
  body: string;
}

export const DRAFT_MAX_LINES = 25;
const LINE_MAX = 160;

export async function loadCisoSnapshot(
  store: Store, incidentId: string, customer: CustomerConfig,
  extra: Omit<CisoSnapshot, 'incident' | 'customer' | 'alerts' | 'actions' | 'approvals'>,
): Promise<CisoSnapshot> {
  const incident = await store.getIncident(incidentId);
  if (!incident) throw new InvalidInputError('incidentId', `no incident ${incidentId}`);
  if (incident.customerId !== customer.id) throw new InvalidInputError('incidentId', `${incidentId} is not an incident of ${customer.id}`);
  const [alerts, actions, approvals] = await Promise.all([store.listAlerts(incidentId), store.listActions(incidentId), store.listApprovals({ incidentId })]);
  return { incident, customer, alerts, actions, approvals, ...extra };
}

/** One line of plain text: no control characters, bounded length. */
function line(value: unknown, max = LINE_MAX): string {
  // eslint-disable-next-line no-control-regex
  const s = String(value ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

const hhmmUtc = (d: Date) => `${d.toISOString().slice(11, 16)} UTC`;
const dayUtc = (d: Date) => d.toISOString().slice(0, 10);

function stepTitle(inc: IncidentRecord, a: ActionRecord): string {
  const steps = (inc.data?.steps ?? {}) as Record<string, { title?: unknown }>;
  return typeof steps[a.stepId]?.title === 'string' ? String(steps[a.stepId].title) : a.stepId;
}

export function ticketOf(inc: IncidentRecord): { number: string; link?: string; sysId?: string } | undefined {
  const t = inc.data?.ticket as { number?: unknown; link?: unknown; sysId?: unknown } | undefined;
  return typeof t?.number === 'string' && t.number ? { number: t.number, link: typeof t.link === 'string' ? t.link : undefined, sysId: typeof t.sysId === 'string' ? t.sysId : undefined } : undefined;
}

/** What the engine recorded on the incident, as short phrases. */
function findings(inc: IncidentRecord): string[] {
  const d = inc.data ?? {};
  const out: string[] = [];
  if (typeof d.impossibleTravel === 'string') out.push(`impossible travel (${line(d.impossibleTravel, 80)})`);
  if (typeof d.signIns24h === 'number') out.push(`${d.signIns24h} sign-ins in 24 h${Array.isArray(d.countries) ? ` from ${d.countries.map((c) => line(c, 20)).join(', ')}` : ''}`);
  if (typeof d.sessionsFound === 'number' && d.sessionsFound > 0) out.push(`${d.sessionsFound} active network session(s)`);
  if (typeof d.vpnSessionsFound === 'number' && d.vpnSessionsFound > 0) out.push(`${d.vpnSessionsFound} VPN session(s)`);
  return out;
}

export function draftCisoEmail(s: CisoSnapshot): EmailDraft {
  const inc = s.incident;
  const ticket = ticketOf(inc);
  const alert = s.alerts[0]?.alert as { title?: unknown; createdDateTime?: unknown } | undefined;
  const detected = typeof alert?.createdDateTime === 'string' && !Number.isNaN(Date.parse(alert.createdDateTime)) ? new Date(alert.createdDateTime) : new Date(inc.createdAt);
  const next = new Date(s.now.getTime() + (s.nextUpdateMinutes ?? 120) * 60_000);

  const done = s.actions.filter((a) => a.status === 'succeeded').map((a) => {
    const summary = (a.result as { summary?: unknown } | null)?.summary;
    return `- ${line(stepTitle(inc, a), 60)}${typeof summary === 'string' && summary ? `: ${line(summary, 110)}` : ''}`;
  });
  const left: string[] = [];
  for (const a of s.actions) {
    if (a.status === 'awaiting_approval') left.push(`- ${line(stepTitle(inc, a), 80)} (awaiting our approval)`);
    else if (a.status === 'failed') left.push(`- ${line(stepTitle(inc, a), 80)} (failed; we are on it)`);
    else if (['waiting', 'ready', 'running'].includes(a.status)) left.push(`- ${line(stepTitle(inc, a), 80)} (in progress)`);
    else if (a.status === 'rejected' || a.status === 'expired') left.push(`- ${line(stepTitle(inc, a), 80)} (not done: ${a.status})`);
  }
  left.push('- Please confirm the sign-ins were not your user, and tell us of any business impact.');

  const cap = (list: string[], max: number, what: string) => (list.length > max ? [...list.slice(0, max - 1), `- …and ${list.length - max + 1} more ${what} (see the report)`] : list);
  const what = `Microsoft Defender raised "${line(alert?.title ?? inc.title, 90)}" for ${line(inc.subjectUpn, 80)} on ${dayUtc(detected)} at ${hhmmUtc(detected)}.`;
  const f = findings(inc);
  const body = [
    `Dear ${line(s.customer.contacts.ciso.name, 60)},`,
    '',
    `What happened: ${what}`,
    ...(f.length ? [`We found ${f.join('; ')}.`] : []),
    '',
    'What we did:',
    ...(done.length ? cap(done, 6, 'steps') : ['- Investigation started; no change made yet.']),
    '',
    'What is left:',
    ...cap(left, 4, 'items'),
    '',
    `Next update: by ${hhmmUtc(next)} on ${dayUtc(next)}, or sooner if anything changes.`,
    `Incident: ${inc.id}${ticket ? ` · ServiceNow: ${line(ticket.number, 40)}` : ''}`,
    '',
    line(s.signature ?? 'MSP Security Operations', 80),
  ];
  const status = inc.status === 'contained' ? 'contained' : inc.status === 'closed' ? 'closed' : 'in progress';
  return {
    to: [s.customer.contacts.ciso.email],
    cc: [s.customer.contacts.onCall.email, ...(s.mspOnCall ? [s.mspOnCall.email] : [])].filter((v, i, all) => all.indexOf(v) === i && v !== s.customer.contacts.ciso.email),
    subject: line(`[${inc.id}] Security incident ${status}: ${inc.subjectUpn}${ticket ? ` (${ticket.number})` : ''}`, 200),
    body: body.slice(0, DRAFT_MAX_LINES).join('\n'),
  };
}

/**
 * Who may receive a CISO email of this customer: its contacts, addresses in its own domains (or
 * their subdomains), and the MSP on-call. Throws naming the first address that is none of these.
 */
export function checkRecipients(customer: CustomerConfig, addresses: string[], mspOnCall?: { email: string }): string[] {
  const allowedExact = new Set([customer.contacts.ciso.email, customer.contacts.onCall.email, ...(mspOnCall ? [mspOnCall.email] : [])].map((a) => a.toLowerCase()));
  const domains = customer.domains.map((d) => d.toLowerCase());
  return addresses.map((raw, i) => {
    const a = parseEmailAddress(raw, `recipients[${i}]`);
    const lower = a.toLowerCase();
    const domain = lower.slice(lower.lastIndexOf('@') + 1);
    if (allowedExact.has(lower) || domains.some((d) => domain === d || domain.endsWith(`.${d}`))) return a;
    throw new InvalidInputError(`recipients[${i}]`, `${a} is not a contact of ${customer.name} nor in its domains (${domains.join(', ')}) nor the MSP on-call: a CISO email goes to this customer only`);
  });
}

/** "a@x.com; b@y.com, c@z.com" or a list → addresses (as typed, validated by checkRecipients). */
export function splitRecipients(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : value.split(/[,;\s]+/);
  return list.map((v) => v.trim()).filter(Boolean);
}
