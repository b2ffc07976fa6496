import { loadIncidentSnapshot } from '../read-model/incident-snapshot';
import type { Store } from '../store/store';
import type { IncidentSnapshot } from './render-cards';

/** The timeline card's snapshot: the incident's read model with its timeline, and the customer's name. */
export async function loadSnapshot(store: Store, incidentId: string, customerName: (id: string) => string): Promise<IncidentSnapshot | undefined> {
  const s = await loadIncidentSnapshot(store, incidentId, { timeline: true });
  return s && { ...s, customerName: customerName(s.incident.customerId) };
}
