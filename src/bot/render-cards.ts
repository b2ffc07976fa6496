import { forwardingRules, readFindings, stepRank, stepTitle, type IncidentFindings } from '../domain/incident-findings';
import { stepIdOf } from '../domain/incident-id';
import { accountFacts, deviceText } from '../domain/account-facts';
import type { IncidentSnapshot as IncidentReadModel } from '../read-model/incident-snapshot';
import type { ActionRecord, ApprovalRecord, IncidentRecord } from '../store/store';
import { expandCard } from './card-templates';
import { inert, hhmm, utc } from './inert-text';
import { STATE_DISPLAY } from './step-display';
import { timelineText } from './refusal-text';

/** What the timeline card shows: the incident's read model (src/read-model/) and the customer's name. */
export interface IncidentSnapshot extends IncidentReadModel {
  customerName: string;
}

const STATUS_STYLE: Record<string, string> = {
  open: 'attention', containing: 'warning', contained: 'good', closed: 'default', cancelled: 'default',
};

const TIMELINE_ROWS = 15;

/** Steps' titles as the procedure named them (the one lookup, src/domain/incident-findings.ts). */
export function titleOfStep(inc: IncidentRecord, stepId: string): string {
  return stepTitle(readFindings(inc.data), stepId);
}

function findingsOf(f: IncidentFindings): string[] {
  const out: string[] = [];
  if (f.subjectPrivilegedRoles?.length) out.push(`Privileged account: ${f.subjectPrivilegedRoles.join(', ')}`);
  for (const t of f.impossibleTravel ?? []) out.push(`Impossible travel: ${t.summary}`);
  if (f.signIns24h !== undefined) out.push(`${f.signIns24h} sign-ins in 24 h${f.countries?.length ? ` from ${f.countries.join(', ')}` : ''}`);
  if (f.sensitiveOperations6h !== undefined) out.push(`${f.sensitiveOperations6h} sensitive Microsoft 365 operations in 6 h`);
  for (const r of forwardingRules(f)) out.push(`${r.operation}: ${r.detail}`);
  if (f.directoryAudits6h !== undefined) out.push(`${f.directoryAudits6h} directory changes in 6 h`);
  if (f.sessionsFound !== undefined) out.push(`RADIUS sessions found: ${f.sessionsFound}${f.sessionsDisconnected !== undefined ? `, disconnected: ${f.sessionsDisconnected}` : ''}`);
  for (const p of (f.switchPorts ?? []).slice(0, 5)) out.push(`Switch port: ${p}`);
  for (const r of (f.matchedRules ?? []).slice(0, 5)) {
    out.push(`Rule the attacker IP matches on ${r.firewallId}: ${r.implicit ? `the default rule${r.policyName ? ` (${r.policyName})` : ''}` : `rule ${r.policyId ?? '?'}${r.policyName ? ` "${r.policyName}"` : ''}`} (${r.action})`);
  }
  if (f.vpnSessionsFound !== undefined) out.push(`VPN sessions found: ${f.vpnSessionsFound}${f.vpnSessionsRevoked !== undefined ? `, revoked: ${f.vpnSessionsRevoked}` : ''}`);
  if (f.entraContainment !== undefined) out.push(`Entra: ${f.entraContainment}`);
  if (f.ipsBlocked?.length) out.push(`IPs blocked: ${f.ipsBlocked.join(', ')}`);
  return out.map((x) => inert(x, 400));
}

const DEVICE_ROWS = 10;

/** The account in both directories and its devices, each value inert (DNs, device names come from outside). */
function accountSections(f: IncidentFindings): { adFacts: Array<{ label: string; value: string }>; entraFacts: Array<{ label: string; value: string }>; devices: string[] } {
  const facts = accountFacts(f);
  const pick = (dir: string) => facts.filter((x) => x.directory === dir).map((x) => ({ label: inert(x.label, 80), value: inert(x.value, 400) }));
  const all = f.subjectDevices ?? [];
  const devices = all.slice(0, DEVICE_ROWS).map((d) => inert(deviceText(d), 400));
  if (all.length > DEVICE_ROWS) devices.push(`… and ${all.length - DEVICE_ROWS} more (in the report)`);
  return { adFacts: pick('Active Directory'), entraFacts: pick('Entra'), devices };
}

export function renderTimelineCard(s: IncidentSnapshot, notice = '', botName = 'ir'): Record<string, unknown> {
  const inc = s.incident;
  const f = s.findings;
  const ticket = f.ticket;
  const pending = s.approvals.filter((a) => a.status === 'pending');
  const facts = [
    { label: 'Customer', value: inert(`${s.customerName} (tenant ${inc.tenantId})`) },
    { label: 'Account', value: inert(inc.subjectUpn) },
    { label: 'Severity', value: inc.severity },
    { label: 'Status', value: inc.status },
    { label: 'Opened', value: utc(inc.createdAt) },
    { label: 'Alerts', value: String(s.alerts.length) },
    ...(pending.length ? [{ label: 'Awaiting approval', value: pending.map((p) => inert(stepTitle(f, stepIdOf(p.actionId)))).join(', ') }] : []),
    ...(ticket?.number ? [{ label: 'ServiceNow', value: inert(ticket.number) }] : []),
    ...(inc.procedure ? [{ label: 'Procedure', value: inert(inc.procedure) }] : []),
  ];
  // In the procedure's order (the engine records its steps in that order), not the store's.
  const steps = [...s.actions].sort((a, b) => stepRank(f, a.stepId) - stepRank(f, b.stepId)).map((a) => {
    const disp = STATE_DISPLAY[a.status];
    const result = a.result as { summary?: string } | null;
    const summary = a.status === 'failed' ? `Error: ${a.error ?? 'unknown'}` : result?.summary ?? (a.status === 'skipped' || a.status === 'rejected' ? a.error ?? '' : '');
    return { icon: disp.icon, title: inert(stepTitle(f, a.stepId), 120), state: disp.label, color: disp.color, summary: inert(summary, 400) };
  });
  // A failed step offers Retry on the card (the engine lets approvers only); at most five buttons.
  const retries = s.actions.filter((a) => a.status === 'failed').slice(0, 5)
    .map((a) => ({ title: inert(stepTitle(f, a.stepId), 60), incidentId: inc.id, stepId: a.stepId }));
  const tl = s.timeline.slice(-TIMELINE_ROWS);
  const updated = s.timeline.at(-1)?.at ?? inc.updatedAt;
  return expandCard('timeline', {
    notice: inert(notice, 400),
    headerStyle: STATUS_STYLE[inc.status] ?? 'default',
    heading: inert(`${inc.id} · ${s.customerName} · ${inc.severity.toUpperCase()} · ${inc.status}`),
    title: inert(inc.title, 300),
    facts,
    steps,
    findings: findingsOf(f),
    ...accountSections(f),
    timelineHeading: `Timeline (UTC, latest ${tl.length} of ${s.timeline.length})`,
    timeline: tl.map((e) => ({ time: hhmm(e.at), source: inert(e.source, 30), summary: inert(timelineText(e, inc.id, botName), 300) })),
    retries,
    footer: `Updated ${utc(updated)} · chain head ${s.timeline.at(-1)?.hash.slice(0, 12) ?? '—'} · @ir status ${inc.id}`,
  });
}

export interface ApprovalView {
  approval: ApprovalRecord;
  incident: IncidentRecord;
  customerName: string;
  action: ActionRecord;
  /** shown above the card to the person who clicked, when their click was refused */
  notice?: string;
}

interface PreviewShape {
  title?: string;
  facts?: Array<{ label: string; value: string }>;
  changes?: string[];
  warnings?: string[];
  notChanged?: Array<{ item: string; reason: string }>;
}

/**
 * What a pending approval still needs, for every approval card: the votes so far of a two-person
 * step, and, when an approver changed the proposal, that the earlier approvals were reset.
 */
export function pendingApprovalLine(a: ApprovalRecord): string {
  const votes = a.votes.filter((x) => x.vote === 'approve');
  const needs = a.requiredApprovers > 1
    ? `Needs ${a.requiredApprovers} different approvers; approved so far by: ${votes.map((x) => x.approverName).join(', ') || 'nobody'}`
    : '';
  return [a.reason ?? '', needs].filter(Boolean).join(' ');
}

export function renderApprovalCard(v: ApprovalView): Record<string, unknown> {
  const { approval: a, incident: inc, action } = v;
  const p = (action.preview ?? {}) as PreviewShape;
  const open = a.status === 'pending';
  const stepName = titleOfStep(inc, action.stepId);
  const result = action.result as { summary?: string } | null;
  let outcome = '';
  let outcomeColor = 'Default';
  if (a.status === 'approved') { outcome = `Approved by ${a.decidedBy} at ${utc(a.decidedAt)}`; outcomeColor = 'Good'; }
  if (a.status === 'rejected') { outcome = `Rejected by ${a.decidedBy} at ${utc(a.decidedAt)}${a.reason ? `: ${a.reason}` : ''}`; outcomeColor = 'Attention'; }
  if (a.status === 'expired') { outcome = `Expired at ${utc(a.expiresAt)} without an answer. Ask again: @ir retry ${inc.id} ${action.stepId}`; outcomeColor = 'Warning'; }
  if (a.status === 'superseded') { outcome = 'Superseded: this request is no longer current.'; }
  const votes = a.votes.filter((x) => x.vote === 'approve');
  if (open) outcome = pendingApprovalLine(a);
  let resultLine = '';
  if (a.status === 'approved') {
    const disp = STATE_DISPLAY[action.status];
    resultLine = action.status === 'failed' ? `${disp.icon} Failed: ${action.error ?? ''}` : `${disp.icon} ${disp.label}${result?.summary ? `: ${result.summary}` : ''}`;
  }
  return expandCard('approval', {
    notice: inert(v.notice ?? '', 400),
    headerStyle: open ? 'warning' : a.status === 'approved' ? 'good' : 'default',
    heading: inert(`${open ? 'Approval needed' : 'Approval'}: ${stepName} · ${inc.id}`),
    title: inert(p.title ?? `${action.name} for ${inc.subjectUpn}`, 300),
    // The customer and its tenant are always on the card; the preview may name them itself.
    facts: [
      ...((p.facts ?? []).some((f) => /^customer$/i.test(f.label)) ? [] : [{ label: 'Customer', value: inert(v.customerName) }]),
      ...((p.facts ?? []).some((f) => /^tenant/i.test(f.label)) ? [] : [{ label: 'Tenant id', value: inert(inc.tenantId) }]),
      ...(p.facts ?? []).map((f) => ({ label: inert(f.label, 60), value: inert(f.value, 300) })),
    ],
    warnings: (p.warnings ?? []).map((w) => inert(w, 300)),
    changesHeading: open ? 'What will change' : 'What this changes',
    changes: (p.changes ?? []).map((c) => inert(c, 400)),
    notChanged: (p.notChanged ?? []).map((n) => ({ item: inert(n.item, 100), reason: inert(n.reason, 200) })),
    outcome: inert(outcome, 400),
    outcomeColor,
    result: inert(resultLine, 600),
    footer: `Requested ${utc(a.requestedAt)} · expires ${utc(a.expiresAt)} · step ${action.stepId}`,
    open,
    approveTitle: a.requiredApprovers > 1 ? `Approve (${votes.length}/${a.requiredApprovers})` : 'Approve',
    approvalId: a.id,
    incidentId: inc.id,
    stepId: action.stepId,
    retryable: !open && (action.status === 'failed' || action.status === 'expired' || a.status === 'expired'),
  });
}

export interface StatusRow { incident: IncidentRecord; customerName: string; current: string; pending: string[] }

export function renderStatusCard(rows: StatusRow[], heading: string, now: Date): Record<string, unknown> {
  return expandCard('status', {
    heading: inert(heading),
    empty: 'No open incidents.',
    incidents: rows.map((r) => ({
      id: r.incident.id,
      customer: inert(r.customerName, 60),
      severity: r.incident.severity,
      status: r.incident.status,
      user: inert(r.incident.subjectUpn),
      title: inert(r.incident.title, 200),
      current: inert(r.current, 200),
      pending: inert(r.pending.join(', '), 300),
    })),
    footer: `As of ${utc(now.toISOString())}`,
  });
}
