import { forwardingRules, readFindings, stepRank, stepTitle, type IncidentFindings } from '../domain/incident-findings';
import { stepIdOf } from '../domain/incident-id';
import { tokenActivityText } from '../domain/incident-narrative';
import { accountFacts, deviceText } from '../domain/account-facts';
import type { IncidentSnapshot as IncidentReadModel } from '../read-model/incident-snapshot';
import type { ActionRecord, ApprovalRecord, IncidentRecord } from '../store/store';
import { expandCard } from './card-templates';
import { charsAt, firstOf, fitCard, rowsAt } from './card-budget';
import { inert, hhmm, utc } from './inert-text';
import { STATE_DISPLAY } from './step-display';
import { timelineText } from './refusal-text';
import { stormAccounts } from '../intake/storm';
import { subjectDisplay } from '../domain/subject-display';
import { stormLines } from './storm-lines';

/** What the timeline card shows: the incident's read model (src/read-model/) and the customer's name. */
export interface IncidentSnapshot extends IncidentReadModel {
  customerName: string;
}

const STATUS_STYLE: Record<string, string> = {
  open: 'attention', containing: 'warning', contained: 'good', releasing: 'warning', released: 'default', closed: 'default', cancelled: 'default',
};

const TIMELINE_ROWS = 15;

/** Steps' titles as the procedure named them (the one lookup, src/domain/incident-findings.ts). */
export function titleOfStep(inc: IncidentRecord, stepId: string): string {
  return stepTitle(readFindings(inc.data), stepId);
}

/** Where the whole incident is when a card shows only part of it. */
export function fullListRef(incidentId: string, botName = 'ir'): string {
  return `the report (@${botName} report ${incidentId}) or the operator API GET /api/incidents/${incidentId}`;
}

function findingsOf(f: IncidentFindings, level = 0, where = 'the report'): string[] {
  const out: string[] = [];
  const cap = rowsAt(level, 5, 1);
  const list = (xs: string[]) => { const r = firstOf(xs, cap * 2, where); return [...r.shown, ...(r.more ? [r.more] : [])]; };
  if (f.subjectPrivilegedRoles?.length) out.push(`Privileged account: ${list(f.subjectPrivilegedRoles).join(', ')}`);
  out.push(...list((f.impossibleTravel ?? []).map((t) => `Impossible travel: ${t.summary}`)));
  if (f.signIns24h !== undefined) out.push(`${f.signIns24h} sign-ins in 24 h${f.countries?.length ? ` from ${list(f.countries).join(', ')}` : ''}`);
  if (f.tokenActivity) out.push(`Token activity: ${tokenActivityText(f.tokenActivity)}`);
  if (f.sensitiveOperations6h !== undefined) out.push(`${f.sensitiveOperations6h} sensitive Microsoft 365 operations in 6 h`);
  out.push(...list(forwardingRules(f).map((r) => `${r.operation}: ${r.detail}`)));
  if (f.directoryAudits6h !== undefined) out.push(`${f.directoryAudits6h} directory changes in 6 h`);
  if (f.sessionsFound !== undefined) out.push(`RADIUS sessions found: ${f.sessionsFound}${f.sessionsDisconnected !== undefined ? `, disconnected: ${f.sessionsDisconnected}` : ''}`);
  const ports = firstOf(f.switchPorts ?? [], cap, where);
  for (const p of ports.shown) out.push(`Switch port: ${p}`);
  if (ports.more) out.push(`Switch ports ${ports.more}`);
  const rules = firstOf(f.matchedRules ?? [], cap, where);
  for (const r of rules.shown) {
    out.push(`Rule the attacker IP matches on ${r.firewallId}: ${r.implicit ? `the default rule${r.policyName ? ` (${r.policyName})` : ''}` : `rule ${r.policyId ?? '?'}${r.policyName ? ` "${r.policyName}"` : ''}`} (${r.action})`);
  }
  if (rules.more) out.push(`Firewall rules ${rules.more}`);
  if (f.vpnSessionsFound !== undefined) out.push(`VPN sessions found: ${f.vpnSessionsFound}${f.vpnSessionsRevoked !== undefined ? `, revoked: ${f.vpnSessionsRevoked}` : ''}`);
  const contained = firstOf(f.switchPortsContained ?? [], cap, where);
  for (const p of contained.shown) out.push(`Switch containment: ${p}`);
  if (contained.more) out.push(`Switch containment ${contained.more}`);
  if (f.entraContainment !== undefined) out.push(`Entra: ${f.entraContainment}`);
  if (f.ipsBlocked?.length) out.push(`IPs blocked: ${list(f.ipsBlocked).join(', ')}`);
  return out.map((x) => inert(x, charsAt(level, 400)));
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
  return fitCard('timeline', (level) => timelineCardAt(s, notice, botName, level));
}

/** The accounts a storm incident covers: those its alerts name (src/intake/storm.ts). */
function accountsOf(s: IncidentSnapshot): string[] {
  return s.findings.storm ? stormAccounts(s.alerts) : [];
}

function timelineCardAt(s: IncidentSnapshot, notice: string, botName: string, level: number): Record<string, unknown> {
  const inc = s.incident;
  const f = s.findings;
  const ticket = f.ticket;
  const where = fullListRef(inc.id, botName);
  const pending = s.approvals.filter((a) => a.status === 'pending');
  const facts = [
    { label: 'Customer', value: inert(`${s.customerName} (tenant ${inc.tenantId})`) },
    { label: f.storm ? 'Accounts' : 'Account', value: inert(subjectDisplay(inc.subjectUpn, f.storm ? accountsOf(s).length : undefined)) },
    { label: 'Severity', value: inc.severity },
    { label: 'Status', value: inc.status },
    { label: 'Opened', value: utc(inc.createdAt) },
    { label: 'Alerts', value: String(s.alerts.length) },
    ...(pending.length ? [{ label: 'Awaiting approval', value: inert(pending.map((p) => stepTitle(f, stepIdOf(p.actionId))).join(', '), charsAt(level, 600)) }] : []),
    ...(ticket?.number ? [{ label: 'ServiceNow', value: inert(ticket.number) }] : []),
    ...(inc.procedure ? [{ label: 'Procedure', value: inert(inc.procedure) }] : []),
    ...(f.partOfStorm ? [{ label: 'Alert storm', value: inert(`part of ${f.partOfStorm}: the same alert reached many accounts`) }] : []),
    ...(f.storm ? [{ label: 'Alert storm', value: inert(`${accountsOf(s).length} accounts; threshold ${f.storm.minUsers} accounts in ${f.storm.windowMinutes} min`) }] : []),
  ];
  // In the procedure's order (the engine records its steps in that order), not the store's. At the
  // last levels the finished steps fold into one line: what still needs someone stays listed.
  const sorted = [...s.actions].sort((a, b) => stepRank(f, a.stepId) - stepRank(f, b.stepId));
  const folded = level >= 4 ? sorted.filter((a) => a.status === 'succeeded' || a.status === 'skipped') : [];
  const steps = sorted.filter((a) => !folded.includes(a)).map((a) => {
    const disp = STATE_DISPLAY[a.status];
    const result = a.result as { summary?: string } | null;
    const summary = a.status === 'failed' ? `Error: ${a.error ?? 'unknown'}` : result?.summary ?? (a.status === 'skipped' || a.status === 'rejected' ? a.error ?? '' : '');
    return { icon: disp.icon, title: inert(stepTitle(f, a.stepId), charsAt(level, 120, 40)), state: disp.label, color: disp.color, summary: inert(summary, charsAt(level, 400)) };
  });
  if (folded.length) steps.push({ icon: STATE_DISPLAY.succeeded.icon, title: `${folded.length} more steps finished or skipped`, state: 'see the report', color: STATE_DISPLAY.succeeded.color, summary: inert(where, 300) });
  // A failed step offers Retry on the card (the engine lets approvers only); at most five buttons.
  const retries = s.actions.filter((a) => a.status === 'failed').slice(0, 5)
    .map((a) => ({ title: inert(stepTitle(f, a.stepId), 60), incidentId: inc.id, stepId: a.stepId }));
  const tl = s.timeline.slice(-rowsAt(level, TIMELINE_ROWS));
  const updated = s.timeline.at(-1)?.at ?? inc.updatedAt;
  const accounts = firstOf(accountsOf(s), rowsAt(level, 40, 5), where);
  return expandCard('timeline', {
    notice: inert(notice, 400),
    headerStyle: STATUS_STYLE[inc.status] ?? 'default',
    heading: inert(`${inc.id} · ${s.customerName} · ${inc.severity.toUpperCase()} · ${inc.status}`),
    title: inert(inc.title, 300),
    facts,
    accountsHeading: `Accounts in this storm: ${accountsOf(s).length}`,
    accounts: [...accounts.shown.map((a) => inert(a, 120)), ...(accounts.more ? [inert(accounts.more, 300)] : [])],
    steps,
    findings: [...stormLines(f, s.actions, accountsOf(s), { customerId: inc.customerId, botName, rows: rowsAt(level, 10, 3), where }).map((x) => inert(x, charsAt(level, 400, 300))), ...findingsOf(f, level, where)],
    ...accountSections(f),
    timelineHeading: `Timeline (UTC, latest ${tl.length} of ${s.timeline.length}${tl.length < s.timeline.length ? `; all of it: ${where}` : ''})`,
    timeline: tl.map((e) => ({ time: hhmm(e.at), source: inert(e.source, 30), summary: inert(timelineText(e, inc.id, botName), charsAt(level, 300)) })),
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
  return fitCard('approval', (level) => approvalCardAt(v, level));
}

/**
 * An approval card at a shrink level. The buttons are always there, and so is the list of what
 * changes: shortened lines first, and only at the last levels the first of them with the count of
 * the rest and where the whole list is. The click binds to the approval, which binds to the stored
 * preview (the action row), never to what the card could show.
 */
function approvalCardAt(v: ApprovalView, level: number): Record<string, unknown> {
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
  const where = `the operator API GET /api/incidents/${inc.id}`;
  const facts = firstOf(p.facts ?? [], rowsAt(level, 24, 4), where);
  const warnings = firstOf(p.warnings ?? [], rowsAt(level, 12, 3), where);
  const notChanged = firstOf(p.notChanged ?? [], rowsAt(level, 24, 3), where);
  // The exact list of changes is kept whole for as long as shorter lines make it fit.
  const allChanges = p.changes ?? [];
  const changes = level < 3 ? { shown: allChanges, more: '' }
    : firstOf(allChanges, rowsAt(level - 2, 40, 5), `${where} (the step's "changes"); this approval applies to all ${allChanges.length} as stored`);
  let resultLine = '';
  if (a.status === 'approved') {
    const disp = STATE_DISPLAY[action.status];
    resultLine = action.status === 'failed' ? `${disp.icon} Failed: ${action.error ?? ''}` : `${disp.icon} ${disp.label}${result?.summary ? `: ${result.summary}` : ''}`;
  }
  return expandCard('approval', {
    notice: inert(v.notice ?? '', 400),
    headerStyle: open ? 'warning' : a.status === 'approved' ? 'good' : 'default',
    heading: inert(`${open ? 'Approval needed' : 'Approval'}: ${stepName} · ${inc.id}`),
    title: inert(p.title ?? `${action.name} for ${subjectDisplay(inc.subjectUpn)}`, 300),
    // The customer and its tenant are always on the card; the preview may name them itself.
    facts: [
      ...((p.facts ?? []).some((f) => /^customer$/i.test(f.label)) ? [] : [{ label: 'Customer', value: inert(v.customerName) }]),
      ...((p.facts ?? []).some((f) => /^tenant/i.test(f.label)) ? [] : [{ label: 'Tenant id', value: inert(inc.tenantId) }]),
      ...facts.shown.map((f) => ({ label: inert(f.label, 60), value: inert(f.value, charsAt(level, 300)) })),
      ...(facts.more ? [{ label: 'More facts', value: inert(facts.more, 300) }] : []),
    ],
    warnings: [...warnings.shown.map((w) => inert(w, charsAt(level, 300))), ...(warnings.more ? [inert(warnings.more, 300)] : [])],
    changesHeading: `${open ? 'What will change' : 'What this changes'}${allChanges.length > 1 ? ` (${allChanges.length})` : ''}`,
    changes: [...changes.shown.map((c) => inert(c, charsAt(level, 400, 120))), ...(changes.more ? [inert(changes.more, 400)] : [])],
    notChanged: [
      ...notChanged.shown.map((n) => ({ item: inert(n.item, 100), reason: inert(n.reason, charsAt(level, 200)) })),
      ...(notChanged.more ? [{ item: 'More', reason: inert(notChanged.more, 300) }] : []),
    ],
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
  return fitCard('status', (level) => {
    const shown = firstOf(rows, rowsAt(level, 50, 5), 'the operator API GET /api/incidents?status=open');
    return expandCard('status', {
      heading: inert(heading),
      empty: 'No open incidents.',
      incidents: shown.shown.map((r) => ({
        id: r.incident.id,
        customer: inert(r.customerName, 60),
        severity: r.incident.severity,
        status: r.incident.status,
        user: inert(subjectDisplay(r.incident.subjectUpn), charsAt(level, 300)),
        title: inert(r.incident.title, charsAt(level, 200)),
        current: inert(r.current, charsAt(level, 200)),
        pending: inert(r.pending.join(', '), charsAt(level, 300)),
      })),
      footer: `As of ${utc(now.toISOString())}${shown.more ? ` · ${shown.more}` : ''}`,
    });
  });
}
