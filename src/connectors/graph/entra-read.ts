import { odataString, type Upn } from '../../domain/identity';
import { ConnectorError, type RawPayload } from '../types';
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
  /** null for a cloud-only account; set when Entra Connect syncs it from on-premises AD */
  onPremises: EntraOnPremises | null;
}

export interface EntraOnPremises {
  syncEnabled: boolean;
  securityIdentifier: string | null;
  samAccountName: string | null;
  domainName: string | null;
  distinguishedName: string | null;
  lastSyncDateTime: string | null;
}

const USER_SELECT = 'id,userPrincipalName,displayName,accountEnabled,signInSessionsValidFromDateTime,onPremisesSyncEnabled,onPremisesSecurityIdentifier,onPremisesSamAccountName,onPremisesDomainName,onPremisesDistinguishedName,onPremisesLastSyncDateTime';

function onPremisesOf(d: Record<string, unknown>): EntraOnPremises | null {
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  if (d.onPremisesSyncEnabled !== true && !str(d.onPremisesSecurityIdentifier)) return null;
  return {
    syncEnabled: d.onPremisesSyncEnabled === true,
    securityIdentifier: str(d.onPremisesSecurityIdentifier),
    samAccountName: str(d.onPremisesSamAccountName),
    domainName: str(d.onPremisesDomainName),
    distinguishedName: str(d.onPremisesDistinguishedName),
    lastSyncDateTime: str(d.onPremisesLastSyncDateTime),
  };
}

/** What an alert gave for the account: any one finds it. */
export interface EntraUserKey {
  objectId?: string | null;
  upn?: string | null;
  sid?: string | null;
  samAccountName?: string | null;
  /** the on-premises DNS domain (contoso.local), with samAccountName */
  dnsDomain?: string | null;
}

/**
 * Finds the Entra user of an account by object id, UPN, on-premises SID or sAMAccountName + domain,
 * in that order; null when Entra has none (an on-premises-only account). Filter values are OData
 * string literals (quotes doubled), and each was validated at intake.
 */
export async function findEntraUser(s: GraphSession, key: EntraUserKey): Promise<{ user: EntraUser | null; foundBy: string | null; raw: RawPayload[] }> {
  const raw: RawPayload[] = [];
  const direct = key.objectId ?? key.upn;
  if (direct) {
    try {
      const r = await getUser(s, direct);
      return { user: r.user, foundBy: key.objectId ? 'object id' : 'UPN', raw: r.raw };
    } catch (e) {
      if (!(e instanceof ConnectorError && e.opts.status === 404)) throw e;
    }
  }
  const filters: Array<[string, string]> = [];
  if (key.sid) filters.push([`onPremisesSecurityIdentifier eq ${odataString(key.sid)}`, 'on-premises SID']);
  if (key.samAccountName) {
    filters.push([`onPremisesSamAccountName eq ${odataString(key.samAccountName)}${key.dnsDomain ? ` and onPremisesDomainName eq ${odataString(key.dnsDomain)}` : ''}`, 'sAMAccountName and domain']);
  }
  for (const [filter, how] of filters) {
    const r = await s.getAllPages<Record<string, unknown>>('/v1.0/users', {
      source: 'graph.users', op: { does: `find the Entra user by ${how}`, permissions: ['User.Read.All', 'Directory.Read.All'] },
      query: { $filter: filter, $select: 'id,userPrincipalName', $count: 'true' }, headers: { ConsistencyLevel: 'eventual' }, maxPages: 1,
    });
    raw.push(...r.raw);
    if (r.items.length > 1) throw new ConnectorError(`${r.items.length} Entra users match ${how} (${filter}): the account is ambiguous, nothing was changed`, { source: 'graph' });
    if (r.items.length === 1) {
      const g = await getUser(s, String(r.items[0].id));
      return { user: g.user, foundBy: how, raw: [...raw, ...g.raw] };
    }
  }
  return { user: null, foundBy: null, raw };
}

const userOp = (upn: string, does: string) => ({ does, permissions: ['User.Read.All', 'Directory.Read.All'], object: `user ${upn}` });

export async function getUser(s: GraphSession, upnOrId: Upn | string): Promise<{ user: EntraUser; raw: RawPayload[] }> {
  const u = await s.get<Record<string, unknown>>(`/v1.0/users/${segment(upnOrId)}`, {
    source: 'graph.user', op: userOp(upnOrId, 'read the user'),
    query: { $select: USER_SELECT },
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
      onPremises: onPremisesOf(d),
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
