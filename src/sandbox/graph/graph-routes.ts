import { randomUUID } from 'node:crypto';
import { FilterError, evaluate, filterPaths, parseFilter } from './odata-filter';
import { findUser, type EmulatorIdentityAccount, type EmulatorState, type EmulatorTenant, type EmulatorUser } from './state';

/** One Graph request, after the token was checked: the tenant is the token's. */
export interface RouteRequest {
  method: string;
  /** the path without the version prefix, e.g. '/users/adele.vance@contoso.com' (decoded) */
  path: string;
  version: string;
  params: string[];
  query: URLSearchParams;
  body: unknown;
  tenant: EmulatorTenant;
  state: EmulatorState;
  now: Date;
  /** the absolute URL of this request without its query, for nextLinks */
  selfUrl: string;
  baseUrl: string;
  /** the application permissions in the token */
  roles: Set<string>;
}

export interface RouteReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: string;
  pattern: RegExp;
  /** any one of these application permissions allows the call */
  permissions: string[];
  handle(r: RouteRequest): RouteReply;
}

export class GraphHttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

const notFound = (what: string) => new GraphHttpError(404, 'Request_ResourceNotFound', `Resource '${what}' does not exist or one of its queried reference-property objects are not present.`);
const badRequest = (msg: string, code = 'BadRequest') => new GraphHttpError(400, code, msg);

function page<T>(r: RouteRequest, items: T[], defaultTop: number, maxTop: number, context: string): RouteReply {
  const top = r.query.has('$top') ? Number(r.query.get('$top')) : defaultTop;
  if (!Number.isInteger(top) || top < 1 || top > maxTop) throw badRequest(`Invalid page size specified: '${r.query.get('$top')}'. Must be between 1 and ${maxTop} inclusive.`, 'Request_UnsupportedQuery');
  let offset = 0;
  const token = r.query.get('$skiptoken');
  if (token) {
    try { offset = Number(JSON.parse(Buffer.from(token, 'base64url').toString()).o); } catch { throw badRequest('Invalid $skiptoken', 'Request_UnsupportedQuery'); }
  }
  const slice = items.slice(offset, offset + top);
  const body: Record<string, unknown> = { '@odata.context': `${r.baseUrl}/${r.version}/$metadata#${context}`, value: slice };
  if (offset + top < items.length) {
    const q = new URLSearchParams(r.query);
    q.set('$skiptoken', Buffer.from(JSON.stringify({ o: offset + top })).toString('base64url'));
    body['@odata.nextLink'] = `${r.selfUrl}?${q.toString().replace(/\+/g, '%20')}`;
  }
  return { status: 200, body };
}

function filtered<T>(r: RouteRequest, items: T[], allowed: RegExp): T[] {
  const f = r.query.get('$filter');
  if (!f) return items;
  try {
    const ast = parseFilter(f);
    const bad = filterPaths(ast).find((p) => !allowed.test(p) && !/^[a-z]$/.test(p.split('/')[0]));
    if (bad) throw badRequest(`Invalid filter clause: filtering on '${bad}' is not supported.`);
    return items.filter((it) => evaluate(ast, it));
  } catch (e) {
    if (e instanceof FilterError) throw badRequest(e.message);
    throw e;
  }
}

function userOr404(r: RouteRequest, idOrUpn: string): EmulatorUser {
  const u = findUser(r.tenant, idOrUpn);
  if (u) return u;
  // An object of another tenant: Graph's tenant is the token's, so the caller is not allowed to see it.
  for (const other of r.state.tenants.values()) {
    if (other.id !== r.tenant.id && findUser(other, idOrUpn)) {
      throw new GraphHttpError(403, 'Authorization_RequestDenied', `Insufficient privileges to complete the operation. The object '${idOrUpn}' belongs to another tenant than the access token's (${r.tenant.id}).`);
    }
  }
  throw notFound(idOrUpn);
}

function userJson(r: RouteRequest, u: EmulatorUser): Record<string, unknown> {
  return {
    '@odata.context': `${r.baseUrl}/${r.version}/$metadata#users/$entity`,
    id: u.id, userPrincipalName: u.userPrincipalName, displayName: u.displayName, mail: u.mail,
    accountEnabled: u.accountEnabled, signInSessionsValidFromDateTime: u.signInSessionsValidFromDateTime,
    lastPasswordChangeDateTime: u.lastPasswordChangeDateTime, userType: 'Member',
    onPremisesSyncEnabled: u.onPremises ? u.onPremises.syncEnabled : null,
    onPremisesSecurityIdentifier: u.onPremises?.securityIdentifier ?? null,
    onPremisesSamAccountName: u.onPremises?.samAccountName ?? null,
    onPremisesDomainName: u.onPremises?.domainName ?? null,
    onPremisesDistinguishedName: u.onPremises?.distinguishedName ?? null,
    onPremisesLastSyncDateTime: u.onPremises?.lastSyncDateTime ?? null,
  };
}

function select(obj: Record<string, unknown>, r: RouteRequest): Record<string, unknown> {
  const s = r.query.get('$select');
  if (!s) return obj;
  const keep = new Set(s.split(',').map((x) => x.trim()));
  return Object.fromEntries(Object.entries(obj).filter(([k]) => k.startsWith('@odata') || keep.has(k)));
}

function alertOr404(r: RouteRequest, id: string): Record<string, unknown> {
  const a = r.tenant.alerts.get(id);
  if (!a) throw new GraphHttpError(404, 'NotFound', `Alert '${id}' was not found.`);
  return a;
}

const MDI_ACTIONS = new Set(['disable', 'enable', 'forcePasswordReset', 'revokeAllSessions', 'requireUserToSignInAgain', 'markUserAsCompromised']);
const MDI_PROVIDERS = new Set(['entraID', 'activeDirectory', 'okta']);
/** resources/security-account: the identity providers each action is supported for */
const MDI_ACTION_PROVIDERS: Record<string, string[]> = {
  disable: ['activeDirectory', 'entraID', 'okta'], enable: ['activeDirectory', 'entraID', 'okta'],
  forcePasswordReset: ['activeDirectory'], revokeAllSessions: ['entraID', 'okta'],
  requireUserToSignInAgain: ['entraID'], markUserAsCompromised: ['entraID'],
};

function identityAccountOr404(r: RouteRequest, id: string): EmulatorIdentityAccount {
  const ia = r.tenant.identityAccounts?.get(id.toLowerCase()) ?? [...(r.tenant.identityAccounts?.values() ?? [])].find((a) => a.id.toLowerCase() === id.toLowerCase());
  if (!ia) throw new GraphHttpError(404, 'NotFound', `Identity account '${id}' was not found.`);
  return ia;
}

function identityAccountJson(ia: EmulatorIdentityAccount): Record<string, unknown> {
  return {
    id: ia.id, displayName: ia.displayName, domain: ia.domain, onPremisesSecurityIdentifier: ia.onPremisesSecurityIdentifier,
    cloudSecurityIdentifier: ia.cloudSecurityIdentifier, isEnabled: ia.isEnabled,
    accounts: ia.accounts.map((a) => ({ identifier: a.identifier, identityProvider: a.identityProvider, actions: [...a.actions] })),
  };
}

/** What the action does to the emulated directories (the AD side lives in the identity account itself). */
function applyIdentityAction(r: RouteRequest, ia: EmulatorIdentityAccount, action: string, provider: string, accountId: string): void {
  if (provider === 'activeDirectory') {
    if (action === 'disable') ia.isEnabled = false;
    if (action === 'enable') ia.isEnabled = true;
    if (action === 'forcePasswordReset') ia.mustChangePassword = true;
    return;
  }
  if (provider !== 'entraID') return;
  const u = userOr404(r, accountId);
  if (action === 'disable') u.accountEnabled = false;
  if (action === 'enable') u.accountEnabled = true;
  if (action === 'revokeAllSessions' || action === 'requireUserToSignInAgain') {
    u.signInSessionsValidFromDateTime = r.now.toISOString();
    r.state.revocations.push({ tenantId: r.tenant.id, userId: u.id, at: r.now.toISOString() });
  }
  if (action === 'markUserAsCompromised') r.tenant.riskyUsers.set(u.id, { riskLevel: 'high', riskState: 'confirmedCompromised', riskDetail: 'adminConfirmedUserCompromised' });
}

const SIGNIN_FILTER_V1 = /^(userPrincipalName|userId|createdDateTime|ipAddress|appId|appDisplayName|status\/errorCode|isInteractive|correlationId|location\/city|location\/countryOrRegion)$/;
const SIGNIN_FILTER_BETA = /^(userPrincipalName|userId|createdDateTime|ipAddress|appId|appDisplayName|status\/errorCode|isInteractive|correlationId|location\/city|location\/countryOrRegion|signInEventTypes\/any)$/;

const ALERT_STATUS = new Set(['new', 'inProgress', 'resolved', 'unknownFutureValue']);

export const routes: Route[] = [
  // ---- Defender alerts_v2 -------------------------------------------------------------
  {
    method: 'GET', pattern: /^\/security\/alerts_v2$/, permissions: ['SecurityAlert.Read.All', 'SecurityAlert.ReadWrite.All'],
    handle: (r) => {
      const all = [...r.tenant.alerts.values()].sort((a, b) => String(a.lastUpdateDateTime).localeCompare(String(b.lastUpdateDateTime)) || String(a.id).localeCompare(String(b.id)));
      const items = filtered(r, all, /^(assignedTo|classification|determination|createdDateTime|lastUpdateDateTime|severity|serviceSource|status)$/);
      return page(r, items, 50, 2000, 'security/alerts_v2');
    },
  },
  {
    method: 'GET', pattern: /^\/security\/alerts_v2\/([^/]+)$/, permissions: ['SecurityAlert.Read.All', 'SecurityAlert.ReadWrite.All'],
    handle: (r) => ({ status: 200, body: { '@odata.context': `${r.baseUrl}/${r.version}/$metadata#security/alerts_v2/$entity`, ...alertOr404(r, r.params[0]) } }),
  },
  {
    method: 'PATCH', pattern: /^\/security\/alerts_v2\/([^/]+)$/, permissions: ['SecurityAlert.ReadWrite.All'],
    handle: (r) => {
      const a = alertOr404(r, r.params[0]);
      const b = (r.body ?? {}) as Record<string, unknown>;
      const allowed = ['status', 'assignedTo', 'classification', 'determination', 'customDetails'];
      for (const k of Object.keys(b)) if (!allowed.includes(k)) throw badRequest(`Property '${k}' cannot be updated.`);
      if (b.status !== undefined && !ALERT_STATUS.has(String(b.status))) throw badRequest(`Invalid value '${String(b.status)}' for property 'status'.`);
      Object.assign(a, b, { lastUpdateDateTime: r.now.toISOString() });
      if (b.status === 'resolved') a.resolvedDateTime = r.now.toISOString();
      return { status: 200, body: { '@odata.context': `${r.baseUrl}/${r.version}/$metadata#security/alerts_v2/$entity`, ...a } };
    },
  },
  {
    method: 'POST', pattern: /^\/security\/alerts_v2\/([^/]+)\/comments$/, permissions: ['SecurityAlert.ReadWrite.All'],
    handle: (r) => {
      const a = alertOr404(r, r.params[0]);
      const b = (r.body ?? {}) as Record<string, unknown>;
      if (typeof b.comment !== 'string' || !b.comment) throw badRequest("The 'comment' property is required.");
      const comments = (a.comments as unknown[] | undefined) ?? [];
      comments.push({ comment: b.comment, createdByDisplayName: 'Automation', createdDateTime: r.now.toISOString() });
      a.comments = comments;
      a.lastUpdateDateTime = r.now.toISOString();
      return { status: 200, body: { '@odata.context': `${r.baseUrl}/${r.version}/$metadata#Collection(microsoft.graph.security.alertComment)`, value: comments } };
    },
  },
  // ---- users ------------------------------------------------------------------------------
  {
    // the forms the connector uses: onPremisesSecurityIdentifier eq '<sid>', onPremisesSamAccountName + onPremisesDomainName, userPrincipalName
    method: 'GET', pattern: /^\/users$/, permissions: ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All'],
    handle: (r) => {
      const all = [...r.tenant.users.values()].map((u) => { const { '@odata.context': _c, ...j } = userJson(r, u); return j; });
      const items = filtered(r, all, /^(id|userPrincipalName|mail|displayName|accountEnabled|onPremisesSecurityIdentifier|onPremisesSamAccountName|onPremisesDomainName|onPremisesSyncEnabled)$/);
      return page(r, items.map((x) => select(x, r)), 100, 999, 'users');
    },
  },
  {
    method: 'GET', pattern: /^\/users\/([^/]+)$/, permissions: ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All'],
    handle: (r) => ({ status: 200, body: select(userJson(r, userOr404(r, r.params[0])), r) }),
  },
  {
    method: 'PATCH', pattern: /^\/users\/([^/]+)$/, permissions: ['User.ReadWrite.All', 'User.EnableDisableAccount.All', 'User-PasswordProfile.ReadWrite.All'],
    handle: (r) => {
      const u = userOr404(r, r.params[0]);
      const b = (r.body ?? {}) as Record<string, unknown>;
      const perms = r.roles;
      // Each property has its own least-privileged permission; User.ReadWrite.All covers them all.
      if ('passwordProfile' in b && !perms.has('User-PasswordProfile.ReadWrite.All') && !perms.has('User.ReadWrite.All')) {
        throw new GraphHttpError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation. Missing application permission: User-PasswordProfile.ReadWrite.All or User.ReadWrite.All');
      }
      if ('accountEnabled' in b && !perms.has('User.EnableDisableAccount.All') && !perms.has('User.ReadWrite.All')) {
        throw new GraphHttpError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation. Missing application permission: User.EnableDisableAccount.All or User.ReadWrite.All');
      }
      for (const k of Object.keys(b)) if (!['accountEnabled', 'passwordProfile', 'displayName'].includes(k)) throw badRequest(`Property '${k}' is not supported by the emulator.`);
      // Graph's answer for an account mastered on-premises (protocols.md §10): the change belongs in AD.
      if (u.onPremises?.syncEnabled && ('accountEnabled' in b || 'passwordProfile' in b)) {
        throw badRequest('Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.', 'Request_BadRequest');
      }
      if ('accountEnabled' in b) {
        if (typeof b.accountEnabled !== 'boolean') throw badRequest("Invalid value for property 'accountEnabled'.");
        u.accountEnabled = b.accountEnabled;
      }
      if ('passwordProfile' in b) {
        const p = b.passwordProfile as { password?: unknown; forceChangePasswordNextSignIn?: unknown };
        if (typeof p?.password !== 'string' || p.password.length < 8 || !complex(p.password)) {
          throw badRequest('The specified password does not comply with password complexity requirements. Please provide a different password.', 'Request_BadRequest');
        }
        u.passwordProfile = { forceChangePasswordNextSignIn: p.forceChangePasswordNextSignIn === true, passwordSet: true };
        u.lastPasswordChangeDateTime = r.now.toISOString();
      }
      if (typeof b.displayName === 'string') u.displayName = b.displayName;
      return { status: 204 };
    },
  },
  {
    method: 'GET', pattern: /^\/users\/([^/]+)\/(memberOf|transitiveMemberOf)(\/microsoft\.graph\.directoryRole)?$/, permissions: ['Directory.Read.All', 'RoleManagement.Read.Directory', 'User.Read.All'],
    handle: (r) => {
      const u = userOr404(r, r.params[0]);
      const roles = u.roles.map((name) => ({
        '@odata.type': '#microsoft.graph.directoryRole', id: `role-${(r.tenant.roleTemplates[name] ?? name).slice(0, 8)}`,
        deletedDateTime: null, description: `${name} role`, displayName: name, roleTemplateId: r.tenant.roleTemplates[name] ?? randomUUID(),
      }));
      const groups = r.params[2] ? [] : u.groups.map((g) => ({ '@odata.type': '#microsoft.graph.group', id: `group-${g.replace(/\W/g, '').toLowerCase()}`, displayName: g, securityEnabled: true, mailEnabled: false }));
      return page(r, [...roles, ...groups], 100, 999, 'directoryObjects');
    },
  },
  {
    // directoryObject collections; the cast segment keeps the devices only (all there are here)
    method: 'GET', pattern: /^\/users\/([^/]+)\/(registeredDevices|ownedDevices)(\/microsoft\.graph\.device)?$/, permissions: ['Directory.Read.All', 'Device.Read.All', 'User.Read.All'],
    handle: (r) => {
      const u = userOr404(r, r.params[0]);
      const list = (r.params[1] === 'registeredDevices' ? u.registeredDevices : u.ownedDevices) ?? [];
      return page(r, list.map((d) => select({ '@odata.type': '#microsoft.graph.device', deletedDateTime: null, ...d }, r)), 100, 999, 'directoryObjects');
    },
  },
  {
    method: 'POST', pattern: /^\/users\/([^/]+)\/revokeSignInSessions$/, permissions: ['User.RevokeSessions.All', 'User.ReadWrite.All'],
    handle: (r) => {
      const u = userOr404(r, r.params[0]);
      u.signInSessionsValidFromDateTime = r.now.toISOString();
      r.state.revocations.push({ tenantId: r.tenant.id, userId: u.id, at: r.now.toISOString() });
      return { status: 200, body: { '@odata.context': `${r.baseUrl}/${r.version}/$metadata#Edm.Boolean`, value: true } };
    },
  },
  {
    // transitive membership, answered with the subset of the ids asked about (at most 20)
    method: 'POST', pattern: /^\/users\/([^/]+)\/checkMemberGroups$/, permissions: ['GroupMember.Read.All', 'Directory.Read.All'],
    handle: (r) => {
      const u = userOr404(r, r.params[0]);
      const ids = (r.body as { groupIds?: unknown } | undefined)?.groupIds;
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > 20 || !ids.every((g) => typeof g === 'string' && /^[0-9a-f-]{36}$/i.test(g))) {
        throw badRequest("Invalid value specified for property 'groupIds' of resource 'checkMemberGroups': 1 to 20 group object ids.");
      }
      const mine = new Set((u.memberOfGroupIds ?? []).map((g) => g.toLowerCase()));
      return { status: 200, body: { '@odata.context': `${r.baseUrl}/${r.version}/$metadata#Collection(Edm.String)`, value: ids.filter((g) => mine.has(String(g).toLowerCase())) } };
    },
  },
  {
    method: 'POST', pattern: /^\/users\/([^/]+)\/sendMail$/, permissions: ['Mail.Send'],
    handle: (r) => {
      const u = userOr404(r, r.params[0]);
      const b = (r.body ?? {}) as { message?: Record<string, unknown>; saveToSentItems?: unknown };
      const m = b.message;
      if (!m || typeof m.subject !== 'string' || !Array.isArray(m.toRecipients) || m.toRecipients.length === 0) {
        throw badRequest('Empty Payload. JSON content expected with message.subject and message.toRecipients.', 'ErrorInvalidRecipients');
      }
      r.state.outbox.push({ tenantId: r.tenant.id, mailbox: u.userPrincipalName, at: r.now.toISOString(), message: m, saveToSentItems: b.saveToSentItems });
      return { status: 202 };
    },
  },
  // ---- Defender for Identity: security/identities/identityAccounts (v1.0) ----------------------
  // Paths, permissions, fields and the actions each provider takes as Microsoft documents them
  // (security-identitycontainer-list-identityaccounts, security-identityaccounts-get,
  // security-identityaccounts-invokeaction, resources/security-account).
  {
    method: 'GET', pattern: /^\/security\/identities\/identityAccounts$/, permissions: ['SecurityIdentitiesAccount.Read.All'],
    handle: (r) => {
      const all = [...(r.tenant.identityAccounts?.values() ?? [])].map(identityAccountJson);
      const items = filtered(r, all, /^(id|displayName|domain|onPremisesSecurityIdentifier|cloudSecurityIdentifier|isEnabled)$/);
      return page(r, items.map((i) => select(i, r)), 100, 1000, 'security/identities/identityAccounts');
    },
  },
  {
    method: 'GET', pattern: /^\/security\/identities\/identityAccounts\/([^/]+)$/, permissions: ['SecurityIdentitiesAccount.Read.All'],
    handle: (r) => ({ status: 200, body: select({ '@odata.context': `${r.baseUrl}/${r.version}/$metadata#security/identities/identityAccounts/$entity`, ...identityAccountJson(identityAccountOr404(r, r.params[0])) }, r) }),
  },
  {
    method: 'POST', pattern: /^\/security\/identities\/identityAccounts\/([^/]+)\/invokeAction$/, permissions: ['SecurityIdentitiesActions.ReadWrite.All'],
    handle: (r) => {
      const ia = identityAccountOr404(r, r.params[0]);
      const b = (r.body ?? {}) as { accountId?: unknown; action?: unknown; identityProvider?: unknown };
      for (const k of ['accountId', 'action', 'identityProvider'] as const) {
        if (typeof b[k] !== 'string' || !b[k]) throw badRequest(`The parameter '${k}' is required.`);
      }
      const action = String(b.action);
      const provider = String(b.identityProvider);
      if (!MDI_ACTIONS.has(action)) throw badRequest(`The value '${action}' is not a valid microsoft.graph.security.action (disable, enable, forcePasswordReset, revokeAllSessions, requireUserToSignInAgain, markUserAsCompromised).`);
      if (!MDI_PROVIDERS.has(provider)) throw badRequest(`The value '${provider}' is not a valid microsoft.graph.security.identityProvider (entraID, activeDirectory, okta).`);
      const account = ia.accounts.find((a) => a.identityProvider === provider && a.identifier === b.accountId);
      if (!account) throw badRequest(`Account '${String(b.accountId)}' at ${provider} is not an account of identity '${ia.id}'.`);
      if (!MDI_ACTION_PROVIDERS[action].includes(provider)) throw badRequest(`Action '${action}' is not supported for identity provider '${provider}'.`);
      applyIdentityAction(r, ia, action, provider, account.identifier);
      const correlationId = randomUUID();
      ia.actionsTaken.push({ at: r.now.toISOString(), action, identityProvider: provider, accountId: account.identifier, correlationId });
      // The shape of Microsoft's example response: the invokeActionResult under `value`.
      return { status: 200, body: { '@odata.context': `${r.baseUrl}/${r.version}/$metadata#microsoft.graph.security.invokeActionResult`, value: { accountId: account.identifier, action, identityProvider: provider, correlationId } } };
    },
  },
  // ---- Identity Protection ------------------------------------------------------------------
  {
    method: 'POST', pattern: /^\/identityProtection\/riskyUsers\/confirmCompromised$/, permissions: ['IdentityRiskyUser.ReadWrite.All'],
    handle: (r) => {
      if (!r.tenant.hasP2) throw new GraphHttpError(403, 'Forbidden', 'Your tenant is not licensed for this feature (Microsoft Entra ID P2 required).');
      const ids = (r.body as { userIds?: unknown })?.userIds;
      if (!Array.isArray(ids) || ids.length === 0) throw badRequest("The 'userIds' property is required.");
      for (const id of ids) {
        const u = userOr404(r, String(id));
        r.tenant.riskyUsers.set(u.id, { riskLevel: 'high', riskState: 'confirmedCompromised', riskDetail: 'adminConfirmedUserCompromised' });
      }
      return { status: 204 };
    },
  },
  {
    // Graph v1.0 riskyUser: dismiss — sets the risk level to none (riskState dismissed); 204 No Content
    method: 'POST', pattern: /^\/identityProtection\/riskyUsers\/dismiss$/, permissions: ['IdentityRiskyUser.ReadWrite.All'],
    handle: (r) => {
      if (!r.tenant.hasP2) throw new GraphHttpError(403, 'Forbidden', 'Your tenant is not licensed for this feature (Microsoft Entra ID P2 required).');
      const ids = (r.body as { userIds?: unknown })?.userIds;
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > 60) throw badRequest("The 'userIds' property is required (at most 60).");
      for (const id of ids) {
        const u = userOr404(r, String(id));
        r.tenant.riskyUsers.set(u.id, { riskLevel: 'none', riskState: 'dismissed', riskDetail: 'adminDismissedAllRiskForUser' });
      }
      return { status: 204 };
    },
  },
  {
    method: 'GET', pattern: /^\/identityProtection\/riskyUsers\/([^/]+)$/, permissions: ['IdentityRiskyUser.Read.All', 'IdentityRiskyUser.ReadWrite.All'],
    handle: (r) => {
      if (!r.tenant.hasP2) throw new GraphHttpError(403, 'Forbidden', 'Your tenant is not licensed for this feature (Microsoft Entra ID P2 required).');
      const u = userOr404(r, r.params[0]);
      // Like Graph: a user Identity Protection never flagged has no riskyUser object at all.
      const risk = r.tenant.riskyUsers.get(u.id);
      if (!risk) throw notFound(u.id);
      return { status: 200, body: { id: u.id, userPrincipalName: u.userPrincipalName, userDisplayName: u.displayName, isDeleted: false, isProcessing: false, riskLastUpdatedDateTime: r.now.toISOString(), ...risk } };
    },
  },
  // ---- audit logs -----------------------------------------------------------------------------
  {
    // v1.0 lists interactive sign-ins only. beta carries signInEventTypes on each sign-in and, like
    // v1.0, lists interactive ones unless the $filter names other types (Graph beta "List signIns").
    method: 'GET', pattern: /^\/auditLogs\/signIns$/, permissions: ['AuditLog.Read.All'],
    handle: (r) => {
      const beta = r.version === 'beta';
      const all = r.tenant.signIns.map((x) => (beta ? { ...x, signInEventTypes: [x.isInteractive === false ? 'nonInteractiveUser' : 'interactiveUser'] } : x));
      const asksTypes = beta && /signInEventTypes\/any\(/.test(r.query.get('$filter') ?? '');
      const kinds = asksTypes ? all : all.filter((x) => x.isInteractive !== false);
      const allowed = beta ? SIGNIN_FILTER_BETA : SIGNIN_FILTER_V1;
      return page(r, filtered(r, kinds, allowed), 1000, 1000, 'auditLogs/signIns');
    },
  },
  {
    method: 'GET', pattern: /^\/auditLogs\/directoryAudits$/, permissions: ['AuditLog.Read.All'],
    handle: (r) => {
      const items = filtered(r, [...r.tenant.directoryAudits].sort((a, b) => String(b.activityDateTime).localeCompare(String(a.activityDateTime))),
        /^(activityDateTime|activityDisplayName|category|correlationId|loggedByService|result|initiatedBy\/user\/id|initiatedBy\/user\/userPrincipalName|initiatedBy\/user\/displayName|initiatedBy\/app\/appId|initiatedBy\/app\/displayName|targetResources\/any)$/);
      return page(r, items, 1000, 1000, 'auditLogs/directoryAudits');
    },
  },
  // ---- the audit-log query API (published under beta; path configurable in the connector) -------
  {
    method: 'POST', pattern: /^\/security\/auditLog\/queries$/, permissions: ['AuditLogsQuery.Read.All'],
    handle: (r) => {
      const b = (r.body ?? {}) as Record<string, unknown>;
      const start = Date.parse(String(b.filterStartDateTime));
      const end = Date.parse(String(b.filterEndDateTime));
      if (Number.isNaN(start) || Number.isNaN(end) || end < start) throw badRequest('filterStartDateTime and filterEndDateTime must be valid and ordered.');
      const lc = (v: unknown) => (Array.isArray(v) ? v.map((x) => String(x).toLowerCase()) : []);
      const upns = lc(b.userPrincipalNameFilters);
      const ops = lc(b.operationFilters);
      const types = lc(b.recordTypeFilters);
      const ips = lc(b.ipAddressFilters);
      const records = r.tenant.m365Records.filter((x) => {
        const at = Date.parse(String(x.createdDateTime));
        return at >= start && at <= end
          && (!upns.length || upns.includes(String(x.userPrincipalName).toLowerCase()))
          && (!ops.length || ops.includes(String(x.operation).toLowerCase()))
          && (!types.length || types.includes(String(x.auditLogRecordType).toLowerCase()))
          && (!ips.length || ips.includes(String(x.clientIp).toLowerCase()));
      }).sort((a, b2) => String(b2.createdDateTime).localeCompare(String(a.createdDateTime)));
      const id = randomUUID();
      r.tenant.auditQueries.set(id, { id, body: b, polls: 0, records });
      return { status: 201, body: { '@odata.context': `${r.baseUrl}/${r.version}/$metadata#security/auditLog/queries/$entity`, id, ...b, status: 'notStarted' } };
    },
  },
  {
    method: 'GET', pattern: /^\/security\/auditLog\/queries\/([^/]+)$/, permissions: ['AuditLogsQuery.Read.All'],
    handle: (r) => {
      const q = r.tenant.auditQueries.get(r.params[0]);
      if (!q) throw notFound(r.params[0]);
      q.polls++;
      // notStarted -> running -> succeeded over a couple of polls, as the real service progresses
      const status = q.polls >= 2 ? 'succeeded' : 'running';
      return { status: 200, body: { id: q.id, ...q.body, status } };
    },
  },
  {
    method: 'GET', pattern: /^\/security\/auditLog\/queries\/([^/]+)\/records$/, permissions: ['AuditLogsQuery.Read.All'],
    handle: (r) => {
      const q = r.tenant.auditQueries.get(r.params[0]);
      if (!q) throw notFound(r.params[0]);
      if (q.polls < 2) throw badRequest('The query has not completed yet.', 'QueryNotCompleted');
      return page(r, q.records, 150, 1000, 'security/auditLog/queries/records');
    },
  },
];

function complex(p: string): boolean {
  return [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((x) => x.test(p)).length >= 3;
}

