import { CONTOSO, FABRIKAM, MSP, PLAYGROUND_USERS } from '../contoso';
import impossibleTravelAlert from '../../../test/fixtures/graph/alert-impossible-travel.json';
import unknownMembersAlert from '../../../test/fixtures/graph/alert-unknown-members.json';
import resolvedAlert from '../../../test/fixtures/graph/alert-unfamiliar-signin-resolved.json';
import type { EmulatorDevice, EmulatorIdentityAccount, EmulatorTenant, EmulatorUser } from './state';

/**
 * The sandbox tenants and their story, built relative to `now` so the sandbox always looks fresh.
 * Contoso: adele.vance (Global Administrator) signs in from Lisbon, then from Singapore 50 minutes
 * later, registers a new MFA method, consents to an app and creates an inbox rule forwarding to an
 * external address; a few hundred ordinary sign-ins of other users (seeded, deterministic) around it.
 */

export const ALL_GRAPH_PERMISSIONS = [
  'SecurityAlert.ReadWrite.All', 'User.Read.All', 'User.ReadWrite.All', 'User.EnableDisableAccount.All', 'User-PasswordProfile.ReadWrite.All',
  'User.RevokeSessions.All', 'Directory.Read.All', 'RoleManagement.Read.Directory', 'AuditLog.Read.All',
  'AuditLogsQuery.Read.All', 'IdentityRiskyUser.ReadWrite.All', 'Mail.Send',
  // Defender for Identity (the Active Directory connector's mdi driver)
  'SecurityIdentitiesAccount.Read.All', 'SecurityIdentitiesActions.ReadWrite.All',
];

export const CITIES = {
  lisbon: { city: 'Lisbon', state: 'Lisboa', countryOrRegion: 'PT', latitude: 38.7223, longitude: -9.1393 },
  singapore: { city: 'Singapore', state: 'Singapore', countryOrRegion: 'SG', latitude: 1.3521, longitude: 103.8198 },
  porto: { city: 'Porto', state: 'Porto', countryOrRegion: 'PT', latitude: 41.1579, longitude: -8.6291 },
  madrid: { city: 'Madrid', state: 'Madrid', countryOrRegion: 'ES', latitude: 40.4168, longitude: -3.7038 },
  london: { city: 'London', state: 'England', countryOrRegion: 'GB', latitude: 51.5074, longitude: -0.1278 },
  paris: { city: 'Paris', state: 'Ile-de-France', countryOrRegion: 'FR', latitude: 48.8566, longitude: 2.3522 },
  seattle: { city: 'Seattle', state: 'Washington', countryOrRegion: 'US', latitude: 47.6062, longitude: -122.3321 },
};

/** mulberry32: small, seeded, deterministic */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROLE_TEMPLATES: Record<string, string> = {
  'Global Administrator': '62e90394-69f5-4237-9190-012177145e10',
  'User Administrator': 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  'Security Reader': '5d6b6bb7-de71-4623-b4af-96380a352509',
};

function guidFrom(rand: () => number): string {
  const h = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[Math.floor(rand() * 4)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function user(id: string, upn: string, displayName: string, extra: Partial<EmulatorUser> = {}): EmulatorUser {
  return {
    id, userPrincipalName: upn, displayName, mail: upn, accountEnabled: true,
    signInSessionsValidFromDateTime: '2025-01-01T00:00:00Z', lastPasswordChangeDateTime: '2025-01-01T00:00:00Z',
    passwordProfile: null, roles: [], groups: [], ...extra,
  };
}

/** Re-times a fixture alert: the same shape, with its times shifted so the latest is `minutesAgo` before now. */
/**
 * Defender for Identity's record of a synced user: its AD account (actions disable and
 * forcePasswordReset) and its Entra account (revokeAllSessions, markUserAsCompromised), ids fixed
 * so that runs are repeatable. The SID follows linkOnPremisesAccount when the sandbox's Samba DC runs.
 */
export function mdiIdentity(u: EmulatorUser): EmulatorIdentityAccount {
  const op = u.onPremises!;
  const tail = u.id.slice(9);
  return {
    id: `0d1e2f3a-${tail}`, displayName: u.displayName, domain: op.domainName, onPremisesSecurityIdentifier: op.securityIdentifier,
    cloudSecurityIdentifier: null, isEnabled: true, mustChangePassword: false, actionsTaken: [],
    accounts: [
      { identifier: `ad000000-${tail}`, identityProvider: 'activeDirectory', actions: ['disable', 'enable', 'forcePasswordReset'] },
      { identifier: u.id, identityProvider: 'entraID', actions: ['disable', 'enable', 'revokeAllSessions', 'requireUserToSignInAgain', 'markUserAsCompromised'] },
    ],
  };
}

function retimed<T>(alert: T, now: Date, minutesAgo: number): T {
  const a = JSON.parse(JSON.stringify(alert)) as Record<string, unknown>;
  const anchor = new Date(a.lastUpdateDateTime as string).getTime();
  const shift = now.getTime() - minutesAgo * 60_000 - anchor;
  const walk = (o: unknown): unknown => {
    if (Array.isArray(o)) return o.map(walk);
    if (o && typeof o === 'object') {
      return Object.fromEntries(Object.entries(o).map(([k, v]) => [k,
        typeof v === 'string' && /DateTime$/.test(k) && /^\d{4}-\d{2}-\d{2}T/.test(v) ? new Date(new Date(v).getTime() + shift).toISOString() : walk(v)]));
    }
    return o;
  };
  return walk(a) as T;
}

function signIn(tenantId: string, u: { id: string; userPrincipalName: string; displayName: string }, at: Date, o: {
  ip: string; place?: (typeof CITIES)[keyof typeof CITIES]; id: string; correlationId: string; interactive: boolean;
  errorCode?: number; app?: string; noCoordinates?: boolean; risk?: string;
  /** the signing-in device when Entra knows it (deviceDetail); else an unregistered Windows browser */
  device?: EmulatorDevice;
}): Record<string, unknown> {
  const loc = o.place ?? CITIES.lisbon;
  return {
    id: o.id, createdDateTime: at.toISOString(), userDisplayName: u.displayName, userPrincipalName: u.userPrincipalName,
    userId: u.id, appId: '00000002-0000-0ff1-ce00-000000000000', appDisplayName: o.app ?? 'Office 365 Exchange Online',
    ipAddress: o.ip, clientAppUsed: 'Browser', correlationId: o.correlationId, conditionalAccessStatus: 'success',
    isInteractive: o.interactive, riskDetail: 'none', riskLevelAggregated: o.risk ?? 'none', riskLevelDuringSignIn: o.risk ?? 'none',
    riskState: o.risk && o.risk !== 'none' ? 'atRisk' : 'none', riskEventTypes_v2: o.risk && o.risk !== 'none' ? ['impossibleTravel'] : [],
    resourceDisplayName: 'Office 365 Exchange Online', resourceId: '00000002-0000-0ff1-ce00-000000000000',
    status: { errorCode: o.errorCode ?? 0, failureReason: o.errorCode ? 'Invalid username or password or Invalid on-premise username or password.' : 'Other.', additionalDetails: null },
    deviceDetail: o.device
      ? { deviceId: o.device.deviceId, displayName: o.device.displayName, operatingSystem: o.device.operatingSystem, browser: 'Edge 120.0.0',
        isCompliant: o.device.isCompliant ?? false, isManaged: o.device.isManaged ?? false, trustType: DEVICE_DETAIL_TRUST[o.device.trustType] }
      : { deviceId: '', displayName: '', operatingSystem: 'Windows10', browser: 'Edge 120.0.0', isCompliant: false, isManaged: false, trustType: '' },
    location: {
      city: loc.city, state: loc.state, countryOrRegion: loc.countryOrRegion,
      geoCoordinates: o.noCoordinates ? null : { altitude: null, latitude: loc.latitude, longitude: loc.longitude },
    },
    appliedConditionalAccessPolicies: [], tenantId,
  };
}

/** How sign-in logs spell a device's trust type (deviceDetail.trustType) for the device object's value. */
const DEVICE_DETAIL_TRUST: Record<EmulatorDevice['trustType'], string> = {
  Workplace: 'Azure AD registered', AzureAd: 'Azure AD joined', ServerAd: 'Hybrid Azure AD joined',
};

function device(id: string, deviceId: string, displayName: string, os: string, osVersion: string, trustType: EmulatorDevice['trustType'],
  o: { compliant?: boolean | null; managed?: boolean | null; lastSignIn?: Date; registered?: Date } = {}): EmulatorDevice {
  return {
    id, deviceId, displayName, operatingSystem: os, operatingSystemVersion: osVersion, trustType,
    isCompliant: o.compliant ?? null, isManaged: o.managed ?? null, accountEnabled: true,
    approximateLastSignInDateTime: o.lastSignIn?.toISOString() ?? null, registrationDateTime: o.registered?.toISOString() ?? null,
  };
}

export function buildStory(now: Date): EmulatorTenant[] {
  const t = now.getTime();
  const ago = (minutes: number) => new Date(t - minutes * 60_000);
  const rand = seededRandom(20260302);

  // ---- Contoso ------------------------------------------------------------------------------
  // Adele's laptop (Entra joined, Intune-managed) and her phone; WS-0412, the hybrid-joined admin
  // workstation adm-avance signs in from, is the device Defender for Identity's alert names.
  const lisLaptop = device('d1e2f3a4-0412-4b5c-8d6e-7f8a9b0c1d2e', '5c0a7d1e-2b3f-4c4d-9e5f-6a7b8c9d0e1f', 'LIS-LT-0412', 'Windows', '10.0.22631.4602', 'AzureAd',
    { compliant: true, managed: true, lastSignIn: ago(100), registered: new Date('2025-06-02T09:14:00Z') });
  const adelePhone = device('d1e2f3a4-0413-4b5c-8d6e-7f8a9b0c1d2e', '6d1b8e2f-3c4a-4d5e-8f6a-7b8c9d0e1f2a', "Adele's iPhone", 'iOS', '18.1.1', 'Workplace',
    { compliant: true, managed: true, lastSignIn: ago(8 * 60), registered: new Date('2025-09-18T17:40:00Z') });
  const adminWorkstation = device('d1e2f3a4-0414-4b5c-8d6e-7f8a9b0c1d2e', '7e2c9f3a-4d5b-4e6f-9a7b-8c9d0e1f2a3b', 'WS-0412', 'Windows', '10.0.22631.4602', 'ServerAd',
    { compliant: true, managed: true, lastSignIn: ago(25), registered: new Date('2025-11-04T08:31:10Z') });
  const adele = user(CONTOSO.adele.objectId, CONTOSO.adele.upn, CONTOSO.adele.displayName, {
    roles: ['Global Administrator'], groups: ['All Staff'],
    registeredDevices: [lisLaptop, adelePhone], ownedDevices: [lisLaptop, adelePhone],
  });
  // Synced from CONTOSO\adm-avance: Graph refuses to disable it or reset its password (AD masters them).
  const admAvance = user(CONTOSO.admAvance.objectId, CONTOSO.admAvance.upn, CONTOSO.admAvance.displayName, {
    roles: [], groups: ['Tier0 admins'],
    onPremises: {
      syncEnabled: true, securityIdentifier: CONTOSO.admAvance.exampleSid, samAccountName: CONTOSO.admAvance.samAccountName,
      domainName: 'contoso.local', distinguishedName: CONTOSO.admAvance.distinguishedName, lastSyncDateTime: ago(17).toISOString(),
    },
    // a hybrid-joined device has no registered owner; Adele registered it for her admin account
    registeredDevices: [adminWorkstation], ownedDevices: [],
  });
  const others: EmulatorUser[] = [
    user('7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f', 'lee.gu@contoso.com', 'Lee Gu', { groups: ['All Staff'] }),
    user('8d2e3f4a-5b6c-4d7e-9f8a-0b1c2d3e4f5a', 'megan.bowen@contoso.com', 'Megan Bowen', { roles: ['Security Reader'] }),
    user('9e3f4a5b-6c7d-4e8f-8a9b-1c2d3e4f5a6b', "patrick.o'brien@contoso.com", "Patrick O'Brien"),
    user('a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d', 'zoë.öztürk@contoso.com', 'Zoë Öztürk'),
    user('b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e', 'alex.wilber@contoso.com', 'Alex Wilber', { roles: ['User Administrator'] }),
    ...['diego.siciliani', 'grady.archie', 'henrietta.mueller', 'isaiah.langer', 'johanna.lorenz', 'joni.sherman',
      'lidia.holloway', 'lynne.robbins', 'miriam.graham', 'nestor.wilke', 'pradeep.gupta'].map((n) =>
      user(guidFrom(rand), `${n}@contoso.com`, n.split('.').map((p) => p[0].toUpperCase() + p.slice(1)).join(' '))),
  ];

  const signIns: Record<string, unknown>[] = [];
  const session = { lisbon: 'c0a8e1f2-1111-4a5b-8c9d-000000000001', lisbon2: 'c0a8e1f2-1111-4a5b-8c9d-000000000002', sg: 'c0a8e1f2-2222-4a5b-8c9d-000000000003' };
  const adeleSignIn = (id: string, minutesAgo: number, place: 'lisbon' | 'singapore', corr: string, interactive: boolean) =>
    signIns.push(signIn(CONTOSO.tenantId, adele, ago(minutesAgo), {
      id, ip: place === 'lisbon' ? CONTOSO.lisbonIp : CONTOSO.attackerIp, place: CITIES[place], correlationId: corr, interactive,
      risk: place === 'singapore' ? 'high' : 'none', ...(place === 'lisbon' ? { device: lisLaptop } : {}),
    }));
  adeleSignIn('a9e1c001-0000-4000-8000-000000000001', 8 * 60, 'lisbon', session.lisbon, true);
  adeleSignIn('a9e1c001-0000-4000-8000-000000000002', 7 * 60, 'lisbon', session.lisbon, false);
  adeleSignIn('a9e1c001-0000-4000-8000-000000000003', 100, 'lisbon', session.lisbon2, true);
  adeleSignIn('a9e1c001-0000-4000-8000-000000000004', 50, 'singapore', session.sg, true); // 50 minutes after Lisbon
  adeleSignIn('a9e1c001-0000-4000-8000-000000000005', 45, 'singapore', session.sg, false);
  adeleSignIn('a9e1c001-0000-4000-8000-000000000006', 30, 'singapore', session.sg, false);
  // a failed attempt from Singapore before the successful one: not a session
  signIns.push(signIn(CONTOSO.tenantId, adele, ago(52), { id: 'a9e1c001-0000-4000-8000-000000000007', ip: CONTOSO.attackerIp, place: CITIES.singapore, correlationId: 'c0a8e1f2-3333-4a5b-8c9d-000000000009', interactive: true, errorCode: 50126 }));

  const places = [CITIES.lisbon, CITIES.porto, CITIES.madrid, CITIES.london, CITIES.paris, CITIES.seattle];
  for (let i = 0; i < 320; i++) {
    const u = others[Math.floor(rand() * others.length)];
    const place = places[Math.floor(rand() * places.length)];
    signIns.push(signIn(CONTOSO.tenantId, u, ago(Math.floor(rand() * 30 * 60)), {
      id: guidFrom(rand), ip: `198.51.100.${10 + Math.floor(rand() * 200)}`, place, correlationId: guidFrom(rand),
      interactive: rand() < 0.6, errorCode: rand() < 0.08 ? 50126 : undefined, noCoordinates: rand() < 0.12,
    }));
  }
  // adm-avance signed in to the Azure portal from the Lisbon office: two sessions the revocation cuts
  signIns.push(signIn(CONTOSO.tenantId, admAvance, ago(90), { id: 'a9e1c002-0000-4000-8000-000000000001', ip: CONTOSO.lisbonIp, place: CITIES.lisbon, correlationId: 'c0a8e1f2-4444-4a5b-8c9d-000000000001', interactive: true, device: adminWorkstation }));
  signIns.push(signIn(CONTOSO.tenantId, admAvance, ago(25), { id: 'a9e1c002-0000-4000-8000-000000000002', ip: CONTOSO.lisbonIp, place: CITIES.lisbon, correlationId: 'c0a8e1f2-4444-4a5b-8c9d-000000000002', interactive: false, device: adminWorkstation }));

  signIns.sort((a, b) => String(b.createdDateTime).localeCompare(String(a.createdDateTime)));

  const initiatedByAdele = { user: { id: adele.id, displayName: adele.displayName, userPrincipalName: adele.userPrincipalName, ipAddress: CONTOSO.attackerIp }, app: null };
  const directoryAudits: Record<string, unknown>[] = [
    {
      id: 'Directory_c3a1e8f0-0001', category: 'UserManagement', correlationId: session.sg, result: 'success', resultReason: '',
      activityDisplayName: 'User registered security info', activityDateTime: ago(44).toISOString(), loggedByService: 'Authentication Methods',
      operationType: 'Add', initiatedBy: initiatedByAdele,
      targetResources: [{ id: adele.id, displayName: adele.displayName, type: 'User', userPrincipalName: adele.userPrincipalName, modifiedProperties: [] }],
      additionalDetails: [{ key: 'Method', value: 'Authenticator App' }],
    },
    {
      id: 'Directory_c3a1e8f0-0002', category: 'ApplicationManagement', correlationId: session.sg, result: 'success', resultReason: '',
      activityDisplayName: 'Consent to application', activityDateTime: ago(40).toISOString(), loggedByService: 'Core Directory',
      operationType: 'Assign', initiatedBy: initiatedByAdele,
      targetResources: [{ id: 'd4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f7a', displayName: 'Mail Sync Pro', type: 'ServicePrincipal', userPrincipalName: null,
        modifiedProperties: [{ displayName: 'ConsentAction.Permissions', oldValue: null, newValue: '"Scope: Mail.ReadWrite offline_access"' }] }],
      additionalDetails: [{ key: 'User-Agent', value: 'Mozilla/5.0' }],
    },
    {
      id: 'Directory_c3a1e8f0-0003', category: 'UserManagement', correlationId: 'c0a8e1f2-4444-4a5b-8c9d-000000000010', result: 'success', resultReason: '',
      activityDisplayName: 'Update user', activityDateTime: ago(5 * 60).toISOString(), loggedByService: 'Core Directory',
      operationType: 'Update', initiatedBy: { user: null, app: { appId: null, displayName: 'Microsoft Substrate Management', servicePrincipalId: 'e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b', servicePrincipalName: null } },
      targetResources: [{ id: adele.id, displayName: adele.displayName, type: 'User', userPrincipalName: adele.userPrincipalName, modifiedProperties: [] }],
      additionalDetails: [],
    },
  ];

  const m365Records: Record<string, unknown>[] = [
    auditRecord('m365-0001', ago(38), 'New-InboxRule', 'exchangeAdmin', adele, {
      Parameters: [
        { Name: 'Name', Value: '..' },
        { Name: 'ForwardTo', Value: 'adele.backup@mail-forward.example' },
        { Name: 'DeleteMessage', Value: 'True' },
        { Name: 'MarkAsRead', Value: 'True' },
      ],
    }),
    auditRecord('m365-0002', ago(49), 'UserLoggedIn', 'azureActiveDirectoryStsLogon', adele, {}),
    auditRecord('m365-0003', ago(36), 'MailItemsAccessed', 'exchangeItemAggregated', adele, { OperationCount: 212 }),
    auditRecord('m365-0004', ago(40), 'Consent to application.', 'azureActiveDirectory', adele, { Target: [{ ID: 'Mail Sync Pro', Type: 1 }] }),
    auditRecord('m365-0005', ago(44), 'User registered security info.', 'azureActiveDirectory', adele, {}),
    auditRecord('m365-0006', ago(9 * 60), 'New-InboxRule', 'exchangeAdmin', adele, { Parameters: [{ Name: 'Name', Value: 'Newsletters' }, { Name: 'MoveToFolder', Value: 'Newsletters' }] }),
  ];

  const alerts = [
    retimed(impossibleTravelAlert, now, 20),
    retimed(unknownMembersAlert, now, 12),
    retimed(resolvedAlert, now, 20 * 60),
  ] as unknown as Record<string, unknown>[];

  const contoso: EmulatorTenant = {
    id: CONTOSO.tenantId, name: CONTOSO.name, domain: CONTOSO.domain, hasP2: true,
    apps: new Map([[CONTOSO.graphClientId, { secret: CONTOSO.graphClientSecret, permissions: new Set(ALL_GRAPH_PERMISSIONS) }]]),
    users: new Map([adele, admAvance, ...others].map((u) => [u.id, u])),
    alerts: new Map(alerts.map((a) => [String(a.id), a])),
    signIns, directoryAudits, m365Records, auditQueries: new Map(), riskyUsers: new Map([[adele.id, { riskLevel: 'high', riskState: 'atRisk', riskDetail: 'none' }]]),
    roleTemplates: ROLE_TEMPLATES,
    identityAccounts: new Map([mdiIdentity(admAvance)].map((a) => [a.id, a])),
  };

  // ---- Fabrikam: a second tenant, to prove nothing crosses tenants -------------------------
  const fab = [
    user('f1a2b3c4-d5e6-4f7a-8b9c-0d1e2f3a4b5c', 'megan.bowen@fabrikam.com', 'Megan Bowen (Fabrikam)'),
    user('f2b3c4d5-e6f7-4a8b-9c0d-1e2f3a4b5c6d', 'admin@fabrikam.com', 'Fabrikam Admin', { roles: ['Global Administrator'] }),
  ];
  const fabrikam: EmulatorTenant = {
    id: FABRIKAM.tenantId, name: FABRIKAM.name, domain: FABRIKAM.domain, hasP2: false,
    apps: new Map([[FABRIKAM.graphClientId, { secret: FABRIKAM.graphClientSecret, permissions: new Set(ALL_GRAPH_PERMISSIONS) }]]),
    users: new Map(fab.map((u) => [u.id, u])), alerts: new Map(),
    signIns: fab.map((u, i) => signIn(FABRIKAM.tenantId, u, ago(60 + i * 30), { id: guidFrom(rand), ip: '192.0.2.10', place: CITIES.london, correlationId: guidFrom(rand), interactive: true })),
    directoryAudits: [], m365Records: [], auditQueries: new Map(), riskyUsers: new Map(), roleTemplates: ROLE_TEMPLATES,
  };

  // ---- the MSP: its mailbox sends the CISO emails ------------------------------------------
  const msp: EmulatorTenant = {
    id: MSP.tenantId, name: 'MSP', domain: 'msp.example', hasP2: false,
    // Mail.Send for the CISO emails; GroupMember.Read.All for the readers' and approvers' groups.
    apps: new Map([[MSP.clientId, { secret: MSP.clientSecret, permissions: new Set(['Mail.Send', 'GroupMember.Read.All']) }]]),
    users: new Map([
      user('c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f', MSP.mailbox, 'MSP SOC'),
      // The Playground's people (.m365agentsplayground.yml): Megan is in the SOC analysts group.
      user(PLAYGROUND_USERS.alex.aadObjectId, 'alexw@msp.example', PLAYGROUND_USERS.alex.name),
      user(PLAYGROUND_USERS.megan.aadObjectId, 'meganb@msp.example', PLAYGROUND_USERS.megan.name, { groups: ['SOC analysts'], memberOfGroupIds: [MSP.socAnalystsGroupId] }),
      user('00000000-0000-4000-8000-000000000023', 'isaiahl@msp.example', 'Isaiah Langer'),
    ].map((u) => [u.id, u])),
    alerts: new Map(), signIns: [], directoryAudits: [], m365Records: [], auditQueries: new Map(), riskyUsers: new Map(), roleTemplates: ROLE_TEMPLATES,
  };
  return [contoso, fabrikam, msp];
}

function auditRecord(id: string, at: Date, operation: string, recordType: string, u: EmulatorUser, auditData: Record<string, unknown>): Record<string, unknown> {
  return {
    id, createdDateTime: at.toISOString(), auditLogRecordType: recordType, operation, organizationId: CONTOSO.tenantId,
    userType: 'regular', userId: u.userPrincipalName, service: recordType.startsWith('exchange') ? 'Exchange' : 'AzureActiveDirectory',
    objectId: u.userPrincipalName, userPrincipalName: u.userPrincipalName, clientIp: CONTOSO.attackerIp, administrativeUnits: [],
    auditData: { '@odata.type': '#microsoft.graph.security.defaultAuditData', CreationTime: at.toISOString(), Operation: operation, UserId: u.userPrincipalName, ClientIP: CONTOSO.attackerIp, ...auditData },
  };
}
