import { odataString, type Upn } from '../../domain/identity';
import type { RawPayload } from '../types';
import { segment, type GraphSession } from './graph-session';

/** Directory roles that make an account privileged: containment needs a higher admin and the card warns. */
export const PRIVILEGED_ROLES = new Set([
  'Global Administrator', 'Privileged Role Administrator', 'Privileged Authentication Administrator',
  'Security Administrator', 'Exchange Administrator', 'SharePoint Administrator', 'User Administrator',
  'Application Administrator', 'Cloud Application Administrator', 'Authentication Administrator',
  'Conditional Access Administrator', 'Helpdesk Administrator', 'Hybrid Identity Administrator',
  'Intune Administrator', 'Billing Administrator', 'Teams Administrator',
]);

export interface EntraUser {
  objectId: string;
  userPrincipalName: string;
  displayName: string;
  accountEnabled: boolean;
  signInSessionsValidFromDateTime: string | null;
  directoryRoles: string[];
  privilegedRoles: string[];
}

const userOp = (upn: string, does: string) => ({ does, permissions: ['User.Read.All', 'Directory.Read.All'], object: `user ${upn}` });

export async function getUser(s: GraphSession, upnOrId: Upn | string): Promise<{ user: EntraUser; raw: RawPayload[] }> {
  const u = await s.get<Record<string, unknown>>(`/v1.0/users/${segment(upnOrId)}`, {
    source: 'graph.user', op: userOp(upnOrId, 'read the user'),
    query: { $select: 'id,userPrincipalName,displayName,accountEnabled,signInSessionsValidFromDateTime' },
  });
  // directory roles, including through role-assignable groups
  const roles = await s.getAllPages<Record<string, unknown>>(`/v1.0/users/${segment(upnOrId)}/transitiveMemberOf/microsoft.graph.directoryRole`, {
    source: 'graph.memberOf', op: { does: "read the user's directory roles", permissions: ['RoleManagement.Read.Directory', 'Directory.Read.All'], object: `user ${upnOrId}` },
    query: { $select: 'id,displayName,roleTemplateId' }, maxPages: 10,
  });
  const directoryRoles = roles.items
    .filter((r) => r['@odata.type'] === undefined || r['@odata.type'] === '#microsoft.graph.directoryRole')
    .map((r) => String(r.displayName ?? ''))
    .filter(Boolean);
  const d = u.data;
  return {
    user: {
      objectId: String(d.id),
      userPrincipalName: String(d.userPrincipalName),
      displayName: String(d.displayName ?? ''),
      accountEnabled: d.accountEnabled !== false,
      signInSessionsValidFromDateTime: typeof d.signInSessionsValidFromDateTime === 'string' ? d.signInSessionsValidFromDateTime : null,
      directoryRoles,
      privilegedRoles: directoryRoles.filter((r) => PRIVILEGED_ROLES.has(r)),
    },
    raw: [...u.raw, ...roles.raw],
  };
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Sign-ins of one user since `since` (newest first, all pages). */
export async function listSignIns(s: GraphSession, upn: Upn, since: Date, until?: Date, o: { pageSize?: number } = {}): Promise<{ signIns: Record<string, unknown>[]; raw: RawPayload[]; pages: number }> {
  const filter = `userPrincipalName eq ${odataString(upn)} and createdDateTime ge ${isoSeconds(since)}${until ? ` and createdDateTime le ${isoSeconds(until)}` : ''}`;
  const r = await s.getAllPages<Record<string, unknown>>('/v1.0/auditLogs/signIns', {
    source: 'graph.signIns', op: { does: `read the sign-in logs of ${upn}`, permissions: ['AuditLog.Read.All'], roleHint: 'sign-in logs need Entra ID P1 or P2' },
    query: { $filter: filter, $top: o.pageSize ?? 1000 },
  });
  const rangeFrom = since.toISOString();
  const rangeTo = (until ?? new Date()).toISOString();
  return { signIns: r.items, raw: r.raw.map((p) => ({ ...p, rangeFrom, rangeTo })), pages: r.pages };
}

/**
 * Directory audits where the user acted or was the target since `since`. Graph does not combine the
 * two conditions with `or`, so this asks twice and merges by id.
 */
export async function listDirectoryAudits(s: GraphSession, upn: Upn, since: Date, o: { pageSize?: number } = {}): Promise<{ audits: Record<string, unknown>[]; raw: RawPayload[] }> {
  const op = { does: `read the directory audit log of ${upn}`, permissions: ['AuditLog.Read.All'] };
  const at = `activityDateTime ge ${isoSeconds(since)}`;
  const [byUser, onUser] = await Promise.all([
    s.getAllPages<Record<string, unknown>>('/v1.0/auditLogs/directoryAudits', { source: 'graph.directoryAudits', op, query: { $filter: `${at} and initiatedBy/user/userPrincipalName eq ${odataString(upn)}`, $top: o.pageSize } }),
    s.getAllPages<Record<string, unknown>>('/v1.0/auditLogs/directoryAudits', { source: 'graph.directoryAudits', op, query: { $filter: `${at} and targetResources/any(t:t/userPrincipalName eq ${odataString(upn)})`, $top: o.pageSize } }),
  ]);
  const seen = new Map<string, Record<string, unknown>>();
  for (const a of [...byUser.items, ...onUser.items]) seen.set(String(a.id), a);
  const audits = [...seen.values()].sort((a, b) => String(b.activityDateTime).localeCompare(String(a.activityDateTime)));
  const rangeFrom = since.toISOString();
  return { audits, raw: [...byUser.raw, ...onUser.raw].map((p) => ({ ...p, rangeFrom, rangeTo: new Date().toISOString() })) };
}
