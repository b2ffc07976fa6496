import type { ActionRecord, ApprovalRecord, IncidentRecord, TimelineEvent } from '../store/store';
import { expandCard } from './card-templates';
import { inert, hhmm, utc } from './inert-text';
import { STATE_DISPLAY, stepTitle } from './step-display';

export interface IncidentSnapshot {
  incident: IncidentRecord;
  customerName: string;
  actions: ActionRecord[];
  approvals: ApprovalRecord[];
  timeline: TimelineEvent[];
  alertCount: number;
}

const STATUS_STYLE: Record<string, string> = {
  open: 'attention', containing: 'warning', contained: 'good', closed: 'default', cancelled: 'default',
};

const TIMELINE_ROWS = 15;

type Data = Record<string, unknown>;
const dataOf = (inc: IncidentRecord): Data => inc.data ?? {};

/** Steps' titles as the procedure named them (the engine keeps them in incident.data.steps). */
export function titleOfStep(inc: IncidentRecord, stepId: string): string {
  const steps = (dataOf(inc).steps ?? {}) as Record<string, { title?: string }>;
  return stepTitle(stepId, steps[stepId]?.title);
}

function findingsOf(inc: IncidentRecord): string[] {
  const d = dataOf(inc);
  const out: string[] = [];
  const num = (k: string) => (typeof d[k] === 'number' ? (d[k] as number) : undefined);
  if (Array.isArray(d.subjectPrivilegedRoles) && d.subjectPrivilegedRoles.length) out.push(`Privileged account: ${(d.subjectPrivilegedRoles as unknown[]).map(String).join(', ')}`);
  for (const t of Array.isArray(d.impossibleTravel) ? d.impossibleTravel : typeof d.impossibleTravel === 'string' ? [d.impossibleTravel] : []) out.push(`Impossible travel: ${String(t)}`);
  if (num('signIns24h') !== undefined) {
    const countries = Array.isArray(d.countries) ? ` from ${(d.countries as unknown[]).map(String).join(', ')}` : '';
    out.push(`${num('signIns24h')} sign-ins in 24 h${countries}`);
  }
  if (num('sensitiveOperations6h') !== undefined) out.push(`${num('sensitiveOperations6h')} sensitive Microsoft 365 operations in 6 h`);
  if (num('directoryAudits6h') !== undefined) out.push(`${num('directoryAudits6h')} directory changes in 6 h`);
  if (num('sessionsFound') !== undefined) out.push(`RADIUS sessions found: ${num('sessionsFound')}${num('sessionsDisconnected') !== undefined ? `, disconnected: ${num('sessionsDisconnected')}` : ''}`);
  if (num('vpnSessionsFound') !== undefined) out.push(`VPN sessions found: ${num('vpnSessionsFound')}${num('vpnSessionsRevoked') !== undefined ? `, revoked: ${num('vpnSessionsRevoked')}` : ''}`);
  if (typeof d.entraContainment === 'string') out.push(`Entra: ${d.entraContainment}`);
  if (Array.isArray(d.ipsBlocked) && d.ipsBlocked.length) out.push(`IPs blocked: ${(d.ipsBlocked as unknown[]).map(String).join(', ')}`);
  if (Array.isArray(d.findings)) for (const f of d.findings) out.push(String(f));
  return out.map((f) => inert(f, 400));
}

export function renderTimelineCard(s: IncidentSnapshot, notice = ''): Record<string, unknown> {
  const inc = s.incident;
  const d = dataOf(inc);
  const ticket = d.ticket as { number?: string; link?: string } | undefined;
  const pending = s.approvals.filter((a) => a.status === 'pending');
  const facts = [
    { label: 'Customer', value: inert(`${s.customerName} (tenant ${inc.tenantId})`) },
    { label: 'Account', value: inert(inc.subjectUpn) },
    { label: 'Severity', value: inc.severity },
    { label: 'Status', value: inc.status },
    { label: 'Opened', value: utc(inc.createdAt) },
    { label: 'Alerts', value: String(s.alertCount) },
    ...(pending.length ? [{ label: 'Awaiting approval', value: pending.map((p) => inert(titleOfStep(inc, p.actionId.split(':').pop() ?? ''))).join(', ') }] : []),
    ...(ticket?.number ? [{ label: 'ServiceNow', value: inert(ticket.number) }] : []),
    ...(inc.procedure ? [{ label: 'Procedure', value: inert(inc.procedure) }] : []),
  ];
  // In the procedure's order (the engine records its steps in that order), not the store's.
  const order = Object.keys((d.steps ?? {}) as Record<string, unknown>);
  const rank = (stepId: string) => { const i = order.indexOf(stepId); return i < 0 ? order.length : i; };
  const steps = [...s.actions].sort((a, b) => rank(a.stepId) - rank(b.stepId)).map((a) => {
    const disp = STATE_DISPLAY[a.status];
    const result = a.result as { summary?: string } | null;
    const summary = a.status === 'failed' ? `Error: ${a.error ?? 'unknown'}` : result?.summary ?? (a.status === 'skipped' || a.status === 'rejected' ? a.error ?? '' : '');
    return { icon: disp.icon, title: inert(titleOfStep(inc, a.stepId), 120), state: disp.label, color: disp.color, summary: inert(summary, 400) };
  });
  // A failed step offers Retry on the card (the engine lets approvers only); at most five buttons.
  const retries = s.actions.filter((a) => a.status === 'failed').slice(0, 5)
    .map((a) => ({ title: inert(titleOfStep(inc, a.stepId), 60), incidentId: inc.id, stepId: a.stepId }));
  const tl = s.timeline.slice(-TIMELINE_ROWS);
  const updated = s.timeline.at(-1)?.at ?? inc.updatedAt;
  return expandCard('timeline', {
    notice: inert(notice, 400),
    headerStyle: STATUS_STYLE[inc.status] ?? 'default',
    heading: inert(`${inc.id} · ${s.customerName} · ${inc.severity.toUpperCase()} · ${inc.status}`),
    title: inert(inc.title, 300),
    facts,
    steps,
    findings: findingsOf(inc),
    timelineHeading: `Timeline (UTC, latest ${tl.length} of ${s.timeline.length})`,
    timeline: tl.map((e) => ({ time: hhmm(e.at), source: inert(e.source, 30), summary: inert(e.summary, 300) })),
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
