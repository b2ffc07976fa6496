import type { CustomerConfig } from '../config/customers';
import { InvalidInputError } from '../domain/net';
import { parseEmailAddress } from '../connectors/mail/message';
import { readFindings, type IncidentFindings } from '../domain/incident-findings';
import { containmentNotDone, whatHappened, whatWeDid } from '../domain/incident-narrative';
import { loadIncidentSnapshot, stepRuns, type IncidentSnapshot } from '../read-model/incident-snapshot';
import type { Store } from '../store/store';

/**
 * The email to the customer's CISO: one screen of plain text (what happened, what we did, what is
 * left, when the next update comes, the incident and ticket numbers), and the rule on who may
 * receive it: the customer's own contacts and domains, plus the MSP on-call: never anyone else.
 */

/**
 * The action that sends this email (its ActionDef is in src/evidence/actions.ts). Named here, in a
 * module without connectors, so the engine and the bot can tell its actions apart without importing them.
 */
export const NOTIFY_CISO_ACTION = 'mail.notifyCiso';

export interface CisoSnapshot {
  /** the incident as its readers see it (src/read-model/incident-snapshot.ts) */
  snapshot: IncidentSnapshot;
  customer: CustomerConfig;
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

/** One screen: the facts, every containment action, what is left, the next update. */
export const DRAFT_MAX_LINES = 40;
const LINE_MAX = 160;
const WRAP_AT = 100;

export async function loadCisoSnapshot(
  store: Store, incidentId: string, customer: CustomerConfig,
  extra: Omit<CisoSnapshot, 'snapshot' | 'customer'>,
): Promise<CisoSnapshot> {
  const snapshot = await loadIncidentSnapshot(store, incidentId);
  if (!snapshot) throw new InvalidInputError('incidentId', `no incident ${incidentId}`);
  if (snapshot.incident.customerId !== customer.id) throw new InvalidInputError('incidentId', `${incidentId} is not an incident of ${customer.id}`);
  return { snapshot, customer, ...extra };
}

/** One line of plain text: no control characters, bounded length (every value from an alert or a directory). */
export function line(value: unknown, max = LINE_MAX): string {
  // eslint-disable-next-line no-control-regex
  const s = String(value ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A paragraph of plain text broken into lines of about WRAP_AT characters (words kept whole). */
export function wrap(paragraph: string, indent = ''): string[] {
  const words = line(paragraph, 2000).split(' ');
  const out: string[] = [];
  let current = '';
  for (const w of words) {
    if (current && current.length + 1 + w.length > WRAP_AT) { out.push(current); current = indent + w; }
    else current = current ? `${current} ${w}` : w;
  }
  if (current) out.push(current);
  return out.map((l) => line(l));
}

const hhmmUtc = (d: Date) => `${d.toISOString().slice(11, 16)} UTC`;
const dayUtc = (d: Date) => d.toISOString().slice(0, 10);

export function ticketOf(inc: { data?: Record<string, unknown> | null }): { number: string; link?: string; sysId?: string } | undefined {
  const t = readFindings(inc.data).ticket;
  return t?.number ? { number: t.number, link: t.link, sysId: t.sysId } : undefined;
}

/**
 * The network facts for the CISO, one line each and only when there is something to say: where the
 * user's device is plugged in (the switch-ports step) and the firewall rule that let the attacker's
 * IP in (the firewall-rule step). The report holds every port and every lookup with its transcript.
 */
export function networkLines(f: IncidentFindings): string[] {
  const out: string[] = [];
  const ports = (f.switchPorts ?? []).filter((p) => !p.startsWith('refused:'));
  if (ports.length) out.push(line(`Switch port: ${ports[0]}${ports.length > 1 ? ` (and ${ports.length - 1} more in the report)` : ''}.`));
  const letIn = (f.matchedRules ?? []).filter((r) => r.allows);
  if (letIn.length) {
    const r = letIn[0];
    const ip = (r as { query?: { src?: unknown } }).query?.src;
    const rule = r.implicit ? `the default rule${r.policyName ? ` "${r.policyName}"` : ''}` : `rule ${r.policyId ?? '?'}${r.policyName ? ` "${r.policyName}"` : ''}`;
    out.push(line(`Firewall rule: ${typeof ip === 'string' ? `${ip} came in through` : 'the attacker came in through'} ${rule} on ${r.firewallId} (${r.action})${letIn.length > 1 ? `; ${letIn.length - 1} more in the report` : ''}.`));
  }
  return out;
}

export function draftCisoEmail(s: CisoSnapshot): EmailDraft {
  const { incident: inc, findings, actions, alerts } = s.snapshot;
  const ticket = ticketOf(inc);
  const alert = alerts[0]?.alert as { title?: unknown; createdDateTime?: unknown } | undefined;
  const detected = typeof alert?.createdDateTime === 'string' && !Number.isNaN(Date.parse(alert.createdDateTime)) ? new Date(alert.createdDateTime) : new Date(inc.createdAt);
  const next = new Date(s.now.getTime() + (s.nextUpdateMinutes ?? 120) * 60_000);
  const runs = stepRuns(actions);

  // What we did: the containment actions only, in the order they ran, every one of them.
  const done = whatWeDid(findings, runs).map((d) => wrap(`- ${d}.`, '  ')).flat();
  const left: string[] = [];
  left.push(...containmentNotDoneLines(findings, runs));
  left.push('- Please confirm the sign-ins were not your user, and tell us of any business impact.');

  const subject = line(inc.subjectUpn, 80);
  const what = [
    `Microsoft Defender raised "${line(alert?.title ?? inc.title, 90)}" for ${subject} on ${dayUtc(detected)} at ${hhmmUtc(detected)}.`,
    ...whatHappened(findings, 'The account').map((x) => line(x, 400)),
  ].join(' ');
  const body = [
    `Dear ${line(s.customer.contacts.ciso.name, 60)},`,
    '',
    ...wrap(`What happened: ${what}`),
    ...networkLines(findings),
    '',
    'What we did:',
    ...(done.length ? done : ['- Investigation started; no change made yet.']),
    '',
    'What is left:',
    ...left,
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
    body: body.join('\n'),
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

/** "- <step> (<why>)" for each containment step not done yet: the single and the storm email both say it so. */
export function containmentNotDoneLines(findings: Parameters<typeof containmentNotDone>[0], runs: Parameters<typeof containmentNotDone>[1]): string[] {
  return containmentNotDone(findings, runs).map((c) => {
    const why = c.status === 'awaiting_approval' ? 'awaiting our approval'
      : c.status === 'failed' ? 'failed; we are on it'
      : ['waiting', 'ready', 'running'].includes(c.status) ? 'in progress'
      : c.status === 'skipped' ? `not needed: ${line(findings.steps.find((x) => x.id === c.stepId)?.error ?? 'nothing to act on', 80)}`
      : `not done: ${c.status}`;
    return `- ${line(c.title, 80)} (${why})`;
  });
}
