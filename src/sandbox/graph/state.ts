/** The Graph emulator's state: one entry per tenant, inspectable (and editable) by tests. */

export interface EmulatorUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  mail: string;
  accountEnabled: boolean;
  signInSessionsValidFromDateTime: string;
  lastPasswordChangeDateTime: string;
  /** as last PATCHed; the emulator keeps only forceChangePasswordNextSignIn and whether a password was set */
  passwordProfile: { forceChangePasswordNextSignIn: boolean; passwordSet: boolean } | null;
  /** directory role display names */
  roles: string[];
  groups: string[];
  /** security groups by object id (transitive), for checkMemberGroups */
  memberOfGroupIds?: string[];
  /** a user synced from on-premises AD (Entra Connect): Graph refuses to change accountEnabled/passwordProfile */
  onPremises?: {
    syncEnabled: boolean;
    securityIdentifier: string;
    samAccountName: string;
    domainName: string;
    distinguishedName: string;
    lastSyncDateTime: string;
  };
  /** Entra devices the user registered / owns (GET /users/{id}/registeredDevices, /ownedDevices) */
  registeredDevices?: EmulatorDevice[];
  ownedDevices?: EmulatorDevice[];
}

/** A device object as Graph v1.0 returns it (microsoft.graph.device; the fields the bot reads). */
export interface EmulatorDevice {
  id: string;
  deviceId: string;
  displayName: string;
  operatingSystem: string;
  operatingSystemVersion: string;
  /** Workplace (registered), AzureAd (Entra joined), ServerAd (hybrid joined) */
  trustType: 'Workplace' | 'AzureAd' | 'ServerAd';
  isCompliant: boolean | null;
  isManaged: boolean | null;
  accountEnabled: boolean;
  approximateLastSignInDateTime: string | null;
  registrationDateTime: string | null;
}

/**
 * Makes a user a synced copy of an on-premises account: the sandbox calls it with the SID its Samba
 * DC gave the account at provisioning, so both directories agree.
 */
export function linkOnPremisesAccount(t: EmulatorTenant, upn: string, onPremises: NonNullable<EmulatorUser['onPremises']>): EmulatorUser {
  const u = findUser(t, upn);
  if (!u) throw new Error(`no user ${upn} in the emulated tenant ${t.name}`);
  u.onPremises = { ...onPremises };
  // Defender for Identity's record of the same identity follows the SID the DC gave it.
  for (const ia of t.identityAccounts?.values() ?? []) {
    if (ia.accounts.some((a) => a.identityProvider === 'entraID' && a.identifier === u.id)) ia.onPremisesSecurityIdentifier = onPremises.securityIdentifier;
  }
  return u;
}

/**
 * Defender for Identity's view of an identity (Graph security/identities/identityAccounts): one
 * per on-premises identity the sensors see, with its account in each identity provider.
 */
export interface EmulatorIdentityAccount {
  id: string;
  displayName: string;
  domain: string;
  onPremisesSecurityIdentifier: string;
  cloudSecurityIdentifier: string | null;
  isEnabled: boolean;
  accounts: Array<{ identifier: string; identityProvider: 'activeDirectory' | 'entraID' | 'okta'; actions: string[] }>;
  /** set by forcePasswordReset: the user must change the password at next logon */
  mustChangePassword: boolean;
  /** every action accepted, in order (what tests count) */
  actionsTaken: Array<{ at: string; action: string; identityProvider: string; accountId: string; correlationId: string }>;
}

export interface EmulatorApp {
  secret?: string;
  /** PEM certificate whose key signs client assertions */
  certificatePem?: string;
  permissions: Set<string>;
}

export interface AuditQuery {
  body: Record<string, unknown>;
  id: string;
  polls: number;
  records: Record<string, unknown>[];
}

export interface EmulatorTenant {
  id: string;
  name: string;
  domain: string;
  hasP2: boolean;
  apps: Map<string, EmulatorApp>;
  users: Map<string, EmulatorUser>;
  alerts: Map<string, Record<string, unknown>>;
  signIns: Record<string, unknown>[];
  directoryAudits: Record<string, unknown>[];
  /** unified audit log records (the audit-log query API's auditLogRecord shape) */
  m365Records: Record<string, unknown>[];
  auditQueries: Map<string, AuditQuery>;
  riskyUsers: Map<string, { riskLevel: string; riskState: string; riskDetail: string }>;
  roleTemplates: Record<string, string>;
  /** Defender for Identity's identity accounts, by id (absent: the tenant has no Defender for Identity) */
  identityAccounts?: Map<string, EmulatorIdentityAccount>;
}

export interface LoggedRequest {
  at: string;
  method: string;
  path: string;
  /** the tenant of the bearer token, when one was presented */
  tokenTenantId: string | null;
  clientId: string | null;
  status: number;
  /** the parsed JSON body, with any password replaced */
  body?: unknown;
}

export interface SentMail {
  tenantId: string;
  mailbox: string;
  at: string;
  message: Record<string, unknown>;
  saveToSentItems: unknown;
}

export interface EmulatorState {
  tenants: Map<string, EmulatorTenant>;
  outbox: SentMail[];
  revocations: Array<{ tenantId: string; userId: string; at: string }>;
  /** every token minted: which client got a token for which tenant */
  tokens: Array<{ tenantId: string; clientId: string; at: string }>;
  requests: LoggedRequest[];
}

export function findUser(t: EmulatorTenant, idOrUpn: string): EmulatorUser | undefined {
  const key = idOrUpn.toLowerCase();
  for (const u of t.users.values()) {
    if (u.id === key || u.userPrincipalName.toLowerCase() === key) return u;
  }
  return undefined;
}
