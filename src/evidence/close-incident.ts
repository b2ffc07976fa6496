import type { CustomerConfig } from '../config/customers';
import type { SecretStore } from '../config/secrets';
import { setAlertStatus } from '../connectors/graph/defender';
import { GraphSession } from '../connectors/graph/graph-session';
import type { RawPayload } from '../connectors/types';
import { NotFoundError } from '../store/errors';
import type { Store } from '../store/store';
import { ticketOf } from './ciso-email';
import { latestReport } from './report';

/**
 * Closes an incident: the store first (status closed + a timeline event naming who and why), then
 * each Defender alert of the incident is set to resolved. A Defender failure does not undo the
 * close: it is recorded on the timeline and said in the summary, so someone can resolve it by hand.
 */

export interface CloseDeps {
  customers: (customerId: string) => CustomerConfig | undefined;
  secrets: SecretStore;
  now?: () => Date;
  /** for tests: a Graph session factory */
  graph?: (customer: CustomerConfig) => GraphSession;
}

export interface CloseResult {
  alreadyClosed: boolean;
  alertsResolved: string[];
  alertsFailed: Array<{ alertId: string; error: string }>;
  /** the text the bot posts in the incident's thread */
  summary: string;
}

export async function closeIncident(
  store: Store, incidentId: string, reason: string, by: { name: string; aadObjectId: string }, deps: CloseDeps,
): Promise<CloseResult> {
  const now = deps.now ?? (() => new Date());
  const incident = await store.getIncident(incidentId);
  if (!incident) throw new NotFoundError('incident', incidentId);
  const why = reason.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 500);
  if (!why) throw new Error('a reason is needed to close an incident (it goes on the timeline)');
  if (incident.status === 'closed' || incident.status === 'cancelled') {
    return { alreadyClosed: true, alertsResolved: [], alertsFailed: [], summary: `${incident.id} is already ${incident.status} (since ${incident.closedAt ?? incident.updatedAt}).` };
  }
  const closed = await store.updateIncident(incidentId, { status: 'closed' }, [
    { source: 'bot', kind: 'incident.closed', summary: `Closed by ${by.name}: ${why}`, actor: by.aadObjectId, data: { reason: why } },
  ]);

  const customer = deps.customers(incident.customerId);
  const alerts = await store.listAlerts(incidentId);
  const resolved: string[] = [];
  const failed: Array<{ alertId: string; error: string }> = [];
  if (customer && alerts.length) {
    const graph = deps.graph?.(customer) ?? new GraphSession(customer, deps.secrets, { now });
    for (const a of alerts) {
      let raw: RawPayload[] = [];
      try {
        const r = await setAlertStatus(graph, a.id, { status: 'resolved' });
        raw = r.raw;
        resolved.push(a.id);
      } catch (e) {
        raw = (e as { opts?: { raw?: RawPayload[] } }).opts?.raw ?? [];
        failed.push({ alertId: a.id, error: (e as Error).message });
      }
      for (const p of raw) {
        await store.putEvidence({
          incidentId, actionId: null, source: p.source, contentType: p.contentType, collectedAt: p.collectedAt,
          rangeFrom: p.rangeFrom ?? null, rangeTo: p.rangeTo ?? null, recordCount: p.recordCount ?? null, note: p.note ?? null, body: p.body,
        });
      }
    }
    await store.appendTimeline(incidentId, [
      ...resolved.map((id) => ({ source: 'defender', kind: 'alert.resolved', summary: `Defender alert ${id} set to resolved`, data: { alertId: id } })),
      ...failed.map((f) => ({ source: 'defender', kind: 'alert.resolveFailed', summary: `Defender alert ${f.alertId} could not be resolved: ${f.error}`.slice(0, 1000), data: { alertId: f.alertId } })),
    ]);
  }

  const ticket = ticketOf(closed);
  const report = await latestReport(store, incidentId);
  const head = (await store.listTimeline(incidentId)).at(-1);
  const lines = [
    `${incident.id} closed by ${by.name}: ${why}`,
    `Account ${incident.subjectUpn} (${customer?.name ?? incident.customerId}), opened ${incident.createdAt.slice(0, 16).replace('T', ' ')} UTC, closed ${closed.closedAt?.slice(0, 16).replace('T', ' ')} UTC.`,
    alerts.length === 0 ? 'No Defender alert to resolve.'
      : failed.length === 0 ? `Defender: ${resolved.length} alert(s) set to resolved.`
      : `Defender: ${resolved.length} of ${alerts.length} alert(s) resolved; NOT resolved: ${failed.map((f) => `${f.alertId} (${f.error})`).join('; ')}. Resolve them in the Defender portal.`,
    ticket ? `ServiceNow: ${ticket.number} (close it there when the customer agrees).` : 'No ServiceNow ticket was opened.',
    report ? `Forensic report: evidence #${report.id}, SHA-256 ${report.sha256}.` : 'No forensic report was generated: @ir report before archiving.',
    head ? `Timeline: ${head.seq} events, chain head ${head.hash}.` : '',
  ].filter(Boolean);
  return { alreadyClosed: false, alertsResolved: resolved, alertsFailed: failed, summary: lines.join('\n') };
}
