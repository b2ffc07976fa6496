import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { EvidenceRecord, Store } from '../../src/store/store';
import { CONTOSO } from '../../src/sandbox/contoso';
import { uniqueId } from '../support/store-factory';

/**
 * The evidence of one incident, written straight into a store to test how payloads are kept and
 * rendered (its findings come from real runs instead: test/support/sandbox-procedure-run.ts): the alert
 * (with a hostile title), timeline events with actors, the procedure's actions and an approval, and
 * payloads of every kind the connectors store (Graph pages, detail text, radacct rows, CLI
 * transcripts, a CoA result, an unknown source, a binary blob).
 */

export const HOSTILE = {
  title: 'Impossible travel [click me](javascript:alert(1)) <script>alert(2)</script> https://evil.example/x ``` | pipe',
  app: '<img src=x onerror=alert(3)> www.evil.example',
  city: '[x](https://evil.example/phish) **bold**',
  cli: 'config firewall address\n    edit "IR-203.0.113.7"\n```\n<a href="https://evil.example">pwn</a>\n    next\nend\n\u001b[31mred\u001b[0m\n',
} as const;

const FIXTURES = path.join(__dirname, '..', 'fixtures');

export function signIn(i: number, base = Date.parse('2026-11-26T12:00:00Z')): Record<string, unknown> {
  const hostile = i % 7 === 3;
  return {
    id: `si-${String(i).padStart(6, '0')}`,
    createdDateTime: new Date(base - i * 60_000).toISOString(),
    userDisplayName: 'Adele Vance',
    userPrincipalName: CONTOSO.adele.upn,
    userId: CONTOSO.adele.objectId,
    appId: '00000002-0000-0ff1-ce00-000000000000',
    appDisplayName: hostile ? HOSTILE.app : 'Office 365 Exchange Online',
    ipAddress: i % 2 ? CONTOSO.attackerIp : CONTOSO.lisbonIp,
    clientAppUsed: 'Browser',
    correlationId: `c0a8e1f2-0000-4a5b-8c9d-${String(i).padStart(12, '0')}`,
    conditionalAccessStatus: 'notApplied',
    isInteractive: true,
    riskDetail: 'none',
    riskLevelAggregated: 'none',
    riskLevelDuringSignIn: i % 2 ? 'high' : 'none',
    riskState: 'none',
    riskEventTypes_v2: [],
    resourceDisplayName: 'Office 365 Exchange Online',
    status: { errorCode: 0, failureReason: 'Other.', additionalDetails: null },
    deviceDetail: { deviceId: '', displayName: '', operatingSystem: 'Windows10', browser: 'Edge 131.0', isCompliant: false, isManaged: false, trustType: '' },
    location: { city: hostile ? HOSTILE.city : i % 2 ? 'Singapore' : 'Lisbon', state: '', countryOrRegion: i % 2 ? 'SG' : 'PT', geoCoordinates: { altitude: null, latitude: 1.29, longitude: 103.85 } },
    appliedConditionalAccessPolicies: [],
  };
}

export function graphPage(values: unknown[], next?: string): Buffer {
  return Buffer.from(JSON.stringify({
    '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns',
    value: values,
    ...(next ? { '@odata.nextLink': next } : {}),
  }));
}

export interface SeededIncident {
  incidentId: string;
  evidence: EvidenceRecord[];
  signInCount: number;
  alertId: string;
}

export async function seedIncident(store: Store, opts: { signInPages?: number[]; alertId?: string } = {}): Promise<SeededIncident> {
  const customerId = CONTOSO.customerId;
  const upn = `${uniqueId('adele')}@contoso.com`;
  const alertJson = JSON.parse(readFileSync(path.join(FIXTURES, 'graph', 'alert-impossible-travel.json'), 'utf8')) as Record<string, unknown>;
  const alertId = opts.alertId ?? uniqueId('da');
  const now = new Date('2026-11-27T15:10:00.000Z');
  const normalised = {
    id: alertId, providerAlertId: alertId, tenantId: CONTOSO.tenantId, title: HOSTILE.title, description: null, severity: 'high',
    status: 'new', serviceSource: 'azureAdIdentityProtection', detectorId: 'ImpossibleTravel', category: 'InitialAccess',
    alertWebUrl: 'https://security.microsoft.com/alerts/x?tid=1', incidentWebUrl: null, createdDateTime: '2026-11-27T14:50:00.000Z',
    lastUpdateDateTime: null, firstActivityDateTime: null, lastActivityDateTime: null, mitreTechniques: [],
    users: [{ upn, objectId: CONTOSO.adele.objectId, displayName: 'Adele Vance', roles: [], verdict: null }],
    ips: [{ ip: CONTOSO.attackerIp, countryLetterCode: 'SG', verdict: 'suspicious', roles: [] }], devices: [], ignoredEvidence: [],
  };
  const { incidentId } = await store.recordAlert({
    alert: { id: alertId, customerId, receivedAt: now.toISOString(), source: 'webhook', alert: normalised, raw: JSON.stringify({ ...alertJson, id: alertId, title: HOSTILE.title }) },
    newIncident: {
      id: uniqueId('IR-20261127'), customerId, tenantId: CONTOSO.tenantId, subjectUpn: upn, subjectObjectId: CONTOSO.adele.objectId,
      severity: 'high', title: HOSTILE.title, status: 'open', procedure: 'Account compromise containment v1', createdAt: now.toISOString(),
      // No findings by hand: what the procedure records (impossible travel, countries, containment
      // results) is tested on incidents the real procedure ran (test/support/sandbox-procedure-run.ts).
      data: { steps: { 'entra-contain': { title: 'Contain the account where it lives', action: 'entra.contain', kind: 'containment' } } },
    },
    events: () => [{ source: 'defender', kind: 'alert.received', summary: `Alert: ${HOSTILE.title}`, sourceTime: '2026-11-27T14:50:00.000Z' }],
  });

  const steps = [
    { stepId: 'entra-signins', name: 'entra.signIns' },
    { stepId: 'firewall-vpn', name: 'firewall.vpnSessions' },
    { stepId: 'entra-contain', name: 'entra.contain' },
    { stepId: 'radius-disconnect', name: 'radius.disconnect' },
    { stepId: 'firewall-block', name: 'firewall.block' },
  ];
  await store.ensureActions(steps.map((s) => ({
    id: `${incidentId}:${s.stepId}`, incidentId, stepId: s.stepId, name: s.name, status: s.stepId === 'entra-contain' ? 'awaiting_approval' as const : 'ready' as const,
    idempotencyKey: `${incidentId}:${s.stepId}:key`, input: { upn },
  })));
  const act = (stepId: string) => `${incidentId}:${stepId}`;
  const approval = await store.createApproval({
    id: uniqueId('ap'), incidentId, actionId: act('entra-contain'), requiredApprovers: 1,
    requestedAt: now.toISOString(), expiresAt: new Date(now.getTime() + 3_600_000).toISOString(),
  }, [{ source: 'engine', kind: 'approval.requested', summary: 'Contain the account where it lives: approval requested' }]);
  const vote = await store.voteApproval(approval.id, { approverId: '00000000-0000-4000-8000-000000000020', approverName: 'Alex Wilber', vote: 'approve' }, now,
    [{ source: 'bot', kind: 'step.approved', summary: 'Alex Wilber approved: Contain the account where it lives', actor: '00000000-0000-4000-8000-000000000020' }]);
  if (!vote.ok) throw new Error(`vote refused: ${vote.reason}`);
  for (const s of steps) {
    await store.transitionAction(act(s.stepId), { from: ['ready'], to: 'succeeded' }, { result: { output: {}, summary: `${s.name} done for ${upn}` } },
      [{ source: s.name.split('.')[0], kind: 'step.succeeded', summary: `${s.stepId}: done` }]);
  }

  const evidence: EvidenceRecord[] = [];
  const put = async (actionId: string | null, source: string, contentType: string, body: Buffer, extra: Partial<EvidenceRecord> = {}) => {
    evidence.push(await store.putEvidence({
      incidentId, actionId, source, contentType, collectedAt: '2026-11-27T15:01:00.000Z', rangeFrom: null, rangeTo: null,
      recordCount: null, note: null, body, ...extra,
    }));
  };

  const pages = opts.signInPages ?? [50, 50, 20];
  let n = 0;
  for (let p = 0; p < pages.length; p++) {
    const values = Array.from({ length: pages[p] }, () => signIn(n++));
    await put(act('entra-signins'), 'graph.signIns', 'application/json', graphPage(values, p < pages.length - 1 ? 'https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=x' : undefined), {
      recordCount: values.length, rangeFrom: String(values.at(-1)?.createdDateTime), rangeTo: String(values[0]?.createdDateTime),
      note: `GET /v1.0/auditLogs/signIns?$filter=userPrincipalName eq '${upn}' -> 200 (page ${p + 1})`,
    });
  }
  await put(null, 'graph.directoryAudits', 'application/json', graphPage([
    { id: 'Directory_1', category: 'UserManagement', result: 'success', activityDisplayName: 'Update user', activityDateTime: '2026-11-27T14:40:00Z',
      initiatedBy: { user: { userPrincipalName: upn, ipAddress: CONTOSO.attackerIp } }, targetResources: [{ userPrincipalName: upn, displayName: 'Adele' }] },
  ]), { recordCount: 1 });
  await put(null, 'graph.auditRecords', 'application/json', graphPage([
    { id: 'm365-1', createdDateTime: '2026-11-27T14:41:00Z', operation: 'New-InboxRule', service: 'Exchange', auditLogRecordType: 'exchangeAdmin', userPrincipalName: upn, clientIp: CONTOSO.attackerIp },
  ]), { recordCount: 1 });
  await put(null, 'radius.accounting.detail', 'text/plain; charset=utf-8', readFileSync(path.join(FIXTURES, 'radius', 'detail-20261126')), { rangeFrom: '2026-11-26T08:00:00.000Z', rangeTo: '2026-11-26T12:30:00.000Z' });
  await put(null, 'radius.accounting.sql', 'application/json', Buffer.from(JSON.stringify([
    { radacctid: '1', acctsessionid: 'S-1001', username: upn, nasipaddress: '127.0.0.1', acctstarttime: '2026-11-27T14:00:00Z', acctstoptime: null, framedipaddress: '10.99.0.11', callingstationid: CONTOSO.attackerIp },
    { radacctid: '2', acctsessionid: 'S-1002', username: upn, nasipaddress: '127.0.0.1', acctstarttime: '2026-11-27T14:05:00Z', acctstoptime: null, framedipaddress: '10.99.0.12', callingstationid: CONTOSO.attackerIp },
  ])), { recordCount: 2 });
  await put(act('firewall-vpn'), 'fortigate.cli', 'text/plain; charset=utf-8', Buffer.from('FGT # get vpn ssl monitor\nSSL-VPN Login Users:\n Index   User   Group   Auth Type   Timeout   From   HTTP in/out   HTTPS in/out   Two-factor Auth\n 0   adele.vance   ir   1(1)   291   203.0.113.7   0/0   0/0   0\n'), { recordCount: 1 });
  await put(act('entra-contain'), 'graph.disableUser.request', 'application/json', Buffer.from('{"accountEnabled":false}'));
  await put(act('entra-contain'), 'graph.disableUser', 'application/octet-stream', Buffer.alloc(0), { note: `PATCH /v1.0/users/${upn} -> 204` });
  await put(act('radius-disconnect'), 'radius.coa', 'application/json', Buffer.from(JSON.stringify({ nas: 'contoso-nas-1', code: 41, codeName: 'Disconnect-ACK', sessions: ['S-1001'], responseHex: '2901001a0000' })));
  await put(act('firewall-block'), 'fortigate.cli', 'text/plain; charset=utf-8', Buffer.from(HOSTILE.cli), { recordCount: 6 });
  await put(null, 'acme.widget', 'application/json', Buffer.from(JSON.stringify({ widget: HOSTILE.title })));
  await put(null, 'acme.blob', 'application/octet-stream', Buffer.from([0, 1, 2, 0x60, 0x60, 0x60, 255]));

  await store.updateIncident(incidentId, { status: 'contained' }, [{ source: 'engine', kind: 'incident.contained', summary: 'Contained', actor: null }]);
  return { incidentId, evidence, signInCount: n, alertId };
}
