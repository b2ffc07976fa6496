import { ConnectorError } from '../types';

/** What a call does, so a failure can say which permission is missing and which object was not found. */
export interface GraphOperation {
  /** 'disable the account', 'read sign-in logs' */
  does: string;
  /** application permissions that allow it, the least privileged first */
  permissions: string[];
  /** for a 404: the object the call addressed, e.g. 'user o\'brien@contoso.com' */
  object?: string;
  /** an extra hint for a 403 (e.g. the directory role the app needs as well) */
  roleHint?: string;
}

export interface GraphErrorInput {
  status: number;
  body: unknown;
  retryAfter: string | null;
  op: GraphOperation;
  customerName: string;
  tenantId: string;
  clientId: string;
  method: string;
  path: string;
}

/** Graph's error shape: { error: { code, message, innerError: { date, request-id, client-request-id } } } */
export function graphErrorParts(body: unknown): { code: string; message: string; requestId?: string } {
  const e = (body as { error?: { code?: unknown; message?: unknown; innerError?: Record<string, unknown> } } | undefined)?.error;
  const code = typeof e?.code === 'string' ? e.code : 'unknown';
  const message = typeof e?.message === 'string' ? e.message.slice(0, 500) : '';
  const rid = e?.innerError?.['request-id'];
  return { code, message, requestId: typeof rid === 'string' ? rid : undefined };
}

export function graphErrorToConnectorError(i: GraphErrorInput): ConnectorError {
  const { code, message, requestId } = graphErrorParts(i.body);
  const who = `${i.customerName} (tenant ${i.tenantId})`;
  const said = `Graph said ${i.status} ${code}${message ? `: "${message}"` : ''}${requestId ? ` [request-id ${requestId}]` : ''}`;
  const opts = { status: i.status, source: 'graph', cause: i.body };
  switch (true) {
    case i.status === 401:
      return new ConnectorError(
        `${who}: Graph refused the access token to ${i.op.does} (a token for another tenant, or an expired/invalid one). ${said}`,
        { ...opts, retryable: false });
    case i.status === 403: {
      const perms = i.op.permissions.join(' or ');
      const named = i.op.permissions.find((p) => message.includes(p));
      return new ConnectorError(
        `${who}: not allowed to ${i.op.does}. The app registration ${i.clientId} needs the application permission ` +
        `${named ?? perms} with admin consent in this tenant${i.op.roleHint ? `; ${i.op.roleHint}` : ''}. ${said}`,
        { ...opts, retryable: false });
    }
    case i.status === 404:
      return new ConnectorError(
        `${who}: ${i.op.object ?? 'the object'} was not found (it may have been deleted or renamed) while trying to ${i.op.does}. ${said}`,
        { ...opts, retryable: false });
    case i.status === 429 || i.status === 503 || i.status === 504:
      return new ConnectorError(
        `${who}: Graph is throttling or unavailable while trying to ${i.op.does}, still after retries` +
        `${i.retryAfter ? ` (Retry-After ${i.retryAfter} s)` : ''}. ${said}`,
        { ...opts, retryable: true });
    case i.status === 400 && /on-premises mastered Directory Sync objects/i.test(message):
      return new ConnectorError(
        `${who}: the account is synced from on-premises Active Directory, so Graph refuses to ${i.op.does}: it must be done in AD ` +
        `(the bot's containment for a synced account disables and resets it there and only revokes the Entra sessions). ${said}`,
        { ...opts, retryable: false });
    case i.status === 400:
      return new ConnectorError(`${who}: Graph rejected the request to ${i.op.does} (${i.method} ${i.path}). ${said}`, { ...opts, retryable: false });
    default:
      return new ConnectorError(`${who}: Graph failed to ${i.op.does} (${i.method} ${i.path}). ${said}`, { ...opts, retryable: i.status >= 500 });
  }
}
