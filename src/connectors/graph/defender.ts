import type { RawPayload } from '../types';
import { segment, type GraphSession, type GraphPage } from './graph-session';

/** Defender XDR alerts (alerts_v2). Alert bodies are returned raw: the intake normalises them. */

const read = ['SecurityAlert.Read.All', 'SecurityAlert.ReadWrite.All'];
const write = ['SecurityAlert.ReadWrite.All'];

export const ALERT_STATUSES = ['new', 'inProgress', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export async function getAlert(s: GraphSession, alertId: string): Promise<{ alert: Record<string, unknown>; raw: RawPayload[] }> {
  const r = await s.get<Record<string, unknown>>(`/v1.0/security/alerts_v2/${segment(alertId)}`, {
    source: 'graph.alert', op: { does: 'read the Defender alert', permissions: read, object: `alert ${alertId}` },
  });
  return { alert: r.data, raw: r.raw };
}

/** Alerts whose lastUpdateDateTime is at or after `since` (oldest first), every page. */
export async function listAlertsUpdatedSince(s: GraphSession, since: Date, pageSize = 100): Promise<GraphPage<Record<string, unknown>>> {
  return s.getAllPages<Record<string, unknown>>('/v1.0/security/alerts_v2', {
    source: 'graph.alerts', op: { does: 'list Defender alerts', permissions: read },
    // lastUpdateDateTime keeps its sub-second precision: the watermark is compared exactly.
    query: { $filter: `lastUpdateDateTime ge ${since.toISOString()}`, $top: pageSize },
    maxPages: 100,
  });
}

export async function setAlertStatus(s: GraphSession, alertId: string, patch: { status?: AlertStatus; assignedTo?: string }): Promise<{ alert: Record<string, unknown>; raw: RawPayload[] }> {
  const r = await s.call<Record<string, unknown>>('PATCH', `/v1.0/security/alerts_v2/${segment(alertId)}`, {
    source: 'graph.alertUpdate', body: patch, op: { does: 'update the Defender alert', permissions: write, object: `alert ${alertId}` },
  });
  return { alert: r.data, raw: r.raw };
}

export async function addAlertComment(s: GraphSession, alertId: string, comment: string): Promise<{ raw: RawPayload[] }> {
  const r = await s.call('POST', `/v1.0/security/alerts_v2/${segment(alertId)}/comments`, {
    source: 'graph.alertComment', body: { '@odata.type': 'microsoft.graph.security.alertComment', comment },
    op: { does: 'comment on the Defender alert', permissions: write, object: `alert ${alertId}` },
  });
  return { raw: r.raw };
}
