import { readFindings, type IncidentFindings } from '../domain/incident-findings';
import type { StepRun } from '../domain/incident-narrative';
import type { ActionRecord, AlertRecord, ApprovalRecord, IncidentRecord, Store, TimelineEvent } from '../store/store';

/**
 * The one loader of an incident for its readers (timeline card, report, CISO email, handoff,
 * operator API): the incident, its alerts, actions and approvals, and its findings read through
 * IncidentFindings. It lives here, apart from src/domain/, because it does I/O and knows the
 * store's record types, which the domain must not import; src/evidence/ would have made the bot
 * and the HTTP API depend on the evidence package for a plain read.
 */
export interface IncidentSnapshot {
  incident: IncidentRecord;
  findings: IncidentFindings;
  alerts: AlertRecord[];
  actions: ActionRecord[];
  approvals: ApprovalRecord[];
  /** only when asked for (the card and the report show it; the email and the handoff do not) */
  timeline: TimelineEvent[];
}

export async function loadIncidentSnapshot(store: Store, incidentId: string, opts: { timeline?: boolean } = {}): Promise<IncidentSnapshot | undefined> {
  const incident = await store.getIncident(incidentId);
  if (!incident) return undefined;
  const [alerts, actions, approvals, timeline] = await Promise.all([
    store.listAlerts(incidentId),
    store.listActions(incidentId),
    store.listApprovals({ incidentId }),
    opts.timeline ? store.listTimeline(incidentId) : Promise.resolve([] as TimelineEvent[]),
  ]);
  return { incident, findings: readFindings(incident.data), alerts, actions, approvals, timeline };
}

/** When each step's action last changed: the order in which the steps ended. */
export function stepRuns(actions: readonly ActionRecord[]): StepRun[] {
  return actions.map((a) => ({ stepId: a.stepId, status: a.status, endedAt: a.updatedAt }));
}
