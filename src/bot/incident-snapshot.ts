import type { Store } from '../store/store';
import type { IncidentSnapshot } from './render-cards';

/** Everything the timeline card shows, read from the store in one go. */
export async function loadSnapshot(store: Store, incidentId: string, customerName: (id: string) => string): Promise<IncidentSnapshot | undefined> {
  const incident = await store.getIncident(incidentId);
  if (!incident) return undefined;
  const [actions, approvals, timeline, alerts] = await Promise.all([
    store.listActions(incidentId),
    store.listApprovals({ incidentId }),
    store.listTimeline(incidentId),
    store.listAlerts(incidentId),
  ]);
  return { incident, customerName: customerName(incident.customerId), actions, approvals, timeline, alertCount: alerts.length };
}
