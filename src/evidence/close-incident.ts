import type { CustomerConfig } from '../config/customers';
import type { RunAdHoc } from '../connectors/types';
import { NotFoundError } from '../store/errors';
import type { Store } from '../store/store';
import { ticketOf } from './ciso-email';
import { latestReport } from './report';

/**
 * Closes an incident: the store first (status closed + a timeline event naming who and why), then
 * the engine runs `alerts.resolve` for the incident's alerts (an action row with its evidence and
 * timeline, like any step). A failure to resolve does not undo the close: it is in that action's
 * result and said in the summary, so someone can resolve it by hand.
 */

export interface CloseDeps {
  customers: (customerId: string) => CustomerConfig | undefined;
  /** the engine's runAdHoc: every side effect of the close is an action it runs */
  runAdHoc: RunAdHoc;
}

/** The ad-hoc step that resolves the alerts of a closed incident (once per incident). */
export const RESOLVE_ALERTS_STEP = 'close/resolve-alerts';

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
  let resolved: string[] = [];
  let failed: Array<{ alertId: string; error: string }> = [];
  if (customer && alerts.length) {
    try {
      const r = await deps.runAdHoc(incidentId, { stepId: RESOLVE_ALERTS_STEP, action: 'alerts.resolve', input: { alertIds: alerts.map((a) => a.id) }, title: 'Resolve the alerts on close' });
      const out = r.output as { resolved?: string[]; failed?: Array<{ alertId: string; error: string }> } | null;
      if (r.status === 'succeeded' && out) {
        resolved = out.resolved ?? [];
        failed = out.failed ?? [];
      } else {
        failed = alerts.map((a) => ({ alertId: a.id, error: r.error ?? `the resolution is ${r.status}` }));
      }
    } catch (e) {
      failed = alerts.map((a) => ({ alertId: a.id, error: (e as Error).message.slice(0, 300) }));
    }
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
