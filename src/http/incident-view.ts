import { stepTitle } from '../domain/incident-findings';
import { loadIncidentSnapshot } from '../read-model/incident-snapshot';
import type { Store, IncidentRecord } from '../store/store';
import { stormAccounts } from '../intake/storm';

/**
 * The operator API's JSON for one incident: the same facts the timeline card shows, read through
 * the one snapshot loader; the findings are IncidentFindings (typed), not the raw incident data.
 */
export async function incidentView(store: Store, inc: IncidentRecord, opts: { timeline: boolean }) {
  const s = await loadIncidentSnapshot(store, inc.id, { timeline: opts.timeline });
  // Deleted between the listing and this read: answer with what the listing saw.
  const incident = s?.incident ?? inc;
  const { steps, unreadable: _unreadable, ...findings } = s?.findings ?? { steps: [], unreadable: [] };
  const view: Record<string, unknown> = {
    id: incident.id,
    status: incident.status,
    customer: incident.customerId,
    tenantId: incident.tenantId,
    user: { upn: incident.subjectUpn, objectId: incident.subjectObjectId },
    severity: incident.severity,
    title: incident.title,
    procedure: incident.procedure,
    createdAt: incident.createdAt,
    updatedAt: incident.updatedAt,
    closedAt: incident.closedAt,
    alerts: (s?.alerts ?? []).map((a) => ({ id: a.id, receivedAt: a.receivedAt, source: a.source })),
    // `changes`: the exact list an approval card may only count when it is too long to show (src/bot/card-budget.ts)
    actions: (s?.actions ?? []).map((a) => ({ step: a.stepId, title: stepTitle({ steps }, a.stepId), name: a.name, status: a.status, attempts: a.attempts, error: a.error, updatedAt: a.updatedAt, ...changesOf(a.preview) })),
    approvals: (s?.approvals ?? []).map((p) => ({ id: p.id, action: p.actionId, status: p.status, requestedAt: p.requestedAt, expiresAt: p.expiresAt, decidedAt: p.decidedAt, decidedBy: p.decidedBy })),
    findings,
    // a storm incident's accounts, which its card lists only the first of
    ...(findings.storm ? { accounts: stormAccounts(s?.alerts ?? []) } : {}),
  };
  if (opts.timeline) {
    view.timeline = (s?.timeline ?? []).map((e) => ({ seq: e.seq, at: e.at, source: e.source, kind: e.kind, summary: e.summary, sourceTime: e.sourceTime, actor: e.actor, hash: e.hash }));
  }
  return view;
}

function changesOf(preview: unknown): { changes?: string[] } {
  const c = (preview as { changes?: unknown } | null)?.changes;
  return Array.isArray(c) ? { changes: c.filter((x): x is string => typeof x === 'string') } : {};
}
