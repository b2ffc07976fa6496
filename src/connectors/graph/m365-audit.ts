import type { Upn } from '../../domain/identity';
import { ConnectorError, type RawPayload } from '../types';
import { segment, type GraphSession } from './graph-session';

/**
 * The user's sensitive operations through the Graph audit-log query API: create a query, poll it
 * until it succeeds (bounded), then read its records page by page. The path is configurable
 * (graph.auditQueryPath) because the API is published under beta.
 */
export const SENSITIVE_OPERATIONS = [
  'New-InboxRule', 'Set-InboxRule', 'UpdateInboxRules', 'Set-Mailbox', 'Add-MailboxPermission', 'Add-RecipientPermission',
  'Consent to application.', 'Add app role assignment grant to user.', 'Add delegated permission grant.',
  'Add member to role.', 'Add eligible member to role.', 'User registered security info.', 'User deleted security info.',
  'Update user.', 'Reset user password.', 'Change user password.',
];

export interface AuditSearchOptions {
  now: Date;
  hours: number;
  /** total wait for the query to succeed */
  maxWaitMs?: number;
  pollIntervalMs?: number;
  /** the wait between polls (the engine's, which frees the action's slot meanwhile); a timer without it */
  wait?: (ms: number) => Promise<void>;
}

export interface AuditFinding {
  at: string;
  operation: string;
  clientIp: string | null;
  /** e.g. 'forwards to adele.backup@mail-forward.example' */
  detail: string | null;
}

export async function searchSensitiveOperations(s: GraphSession, upn: Upn, o: AuditSearchOptions): Promise<{ records: Record<string, unknown>[]; findings: AuditFinding[]; raw: RawPayload[] }> {
  const path = s.customer.graph.auditQueryPath;
  const op = { does: `search the Microsoft 365 audit log for ${upn}`, permissions: ['AuditLogsQuery.Read.All'] };
  const start = new Date(o.now.getTime() - o.hours * 3600_000);
  const created = await s.call<{ id?: string; status?: string }>('POST', path, {
    source: 'graph.auditQuery', op,
    body: {
      '@odata.type': '#microsoft.graph.security.auditLogQuery',
      displayName: `IR ${upn} ${start.toISOString()}`,
      filterStartDateTime: start.toISOString(), filterEndDateTime: o.now.toISOString(),
      userPrincipalNameFilters: [upn], operationFilters: SENSITIVE_OPERATIONS,
    },
  });
  const id = created.data?.id;
  if (typeof id !== 'string' || !id) throw new ConnectorError(`${s.customerName}: the audit query was created but Graph returned no id`, { source: 'graph' });
  const raw: RawPayload[] = [...created.raw];
  const deadline = Date.now() + (o.maxWaitMs ?? 120_000);
  const interval = o.pollIntervalMs ?? 2000;
  let status = created.data.status ?? 'notStarted';
  while (status !== 'succeeded') {
    if (status === 'failed' || status === 'cancelled') {
      throw new ConnectorError(`${s.customerName}: the Microsoft 365 audit query ${id} ended as ${status}`, { source: 'graph', retryable: status === 'failed' });
    }
    if (Date.now() >= deadline) {
      throw new ConnectorError(`${s.customerName}: the Microsoft 365 audit query ${id} did not finish within ${Math.round((o.maxWaitMs ?? 120_000) / 1000)} s (last status ${status}); try again later`, { source: 'graph', retryable: true });
    }
    await (o.wait ? o.wait(interval) : new Promise((r) => setTimeout(r, interval)));
    const q = await s.get<{ status?: string }>(`${path}/${segment(id)}`, { source: 'graph.auditQueryStatus', op });
    status = q.data?.status ?? 'unknown';
    if (status === 'succeeded') raw.push(...q.raw);
  }
  const rec = await s.getAllPages<Record<string, unknown>>(`${path}/${segment(id)}/records`, { source: 'graph.auditRecords', op, maxPages: 100 });
  const rangeFrom = start.toISOString();
  const rangeTo = o.now.toISOString();
  raw.push(...rec.raw.map((p) => ({ ...p, rangeFrom, rangeTo })));
  const wanted = new Set(SENSITIVE_OPERATIONS.map((x) => x.toLowerCase()));
  const records = rec.items.filter((r) => wanted.has(String(r.operation ?? '').toLowerCase()));
  return { records, findings: records.map(describeRecord), raw };
}

function describeRecord(r: Record<string, unknown>): AuditFinding {
  const data = (r.auditData ?? {}) as { Parameters?: Array<{ Name?: unknown; Value?: unknown }> };
  const params = new Map((Array.isArray(data.Parameters) ? data.Parameters : []).map((p) => [String(p.Name), String(p.Value ?? '')]));
  const forward = params.get('ForwardTo') ?? params.get('ForwardAsAttachmentTo') ?? params.get('RedirectTo') ?? params.get('ForwardingSmtpAddress');
  return {
    at: String(r.createdDateTime ?? ''),
    operation: String(r.operation ?? ''),
    clientIp: typeof r.clientIp === 'string' ? r.clientIp : null,
    detail: forward ? `forwards to ${forward}` : null,
  };
}
