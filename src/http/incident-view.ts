import type { Store, IncidentRecord } from '../store/store';

/** The operator API's JSON for one incident: the same facts the timeline card shows. */
export async function incidentView(store: Store, inc: IncidentRecord, opts: { timeline: boolean }) {
  const [alerts, actions, approvals] = await Promise.all([
    store.listAlerts(inc.id),
    store.listActions(inc.id),
    store.listApprovals({ incidentId: inc.id }),
  ]);
  const view: Record<string, unknown> = {
    id: inc.id,
    status: inc.status,
    customer: inc.customerId,
    tenantId: inc.tenantId,
    user: { upn: inc.subjectUpn, objectId: inc.subjectObjectId },
    severity: inc.severity,
    title: inc.title,
    procedure: inc.procedure,
    createdAt: inc.createdAt,
    updatedAt: inc.updatedAt,
    closedAt: inc.closedAt,
    alerts: alerts.map((a) => ({ id: a.id, receivedAt: a.receivedAt, source: a.source })),
    actions: actions.map((a) => ({ step: a.stepId, name: a.name, status: a.status, attempts: a.attempts, error: a.error, updatedAt: a.updatedAt })),
    approvals: approvals.map((p) => ({ id: p.id, action: p.actionId, status: p.status, requestedAt: p.requestedAt, expiresAt: p.expiresAt, decidedAt: p.decidedAt, decidedBy: p.decidedBy })),
    data: inc.data,
  };
  if (opts.timeline) {
    const tl = await store.listTimeline(inc.id);
    view.timeline = tl.map((e) => ({ seq: e.seq, at: e.at, source: e.source, kind: e.kind, summary: e.summary, sourceTime: e.sourceTime, actor: e.actor, hash: e.hash }));
  }
  return view;
}
