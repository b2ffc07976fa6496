import { z } from 'zod';
import pino from 'pino';
import { customerSchema, type CustomerConfig } from '../../src/config/customers';
import type { SecretStore } from '../../src/config/secrets';
import { ConnectorError, type ActionDef, type ActionResult, type Preview } from '../../src/connectors/types';
import type { Alert } from '../../src/domain/alert';
import type { ActionRegistry } from '../../src/engine/action-registry';
import { Engine, type Clock, type EngineDeps } from '../../src/engine/engine';
import { DEFAULT_PROCEDURE_FILE, loadProcedure, ProcedureCatalog } from '../../src/engine/procedure';
import { CONTOSO, PLAYGROUND_USERS } from '../../src/sandbox/contoso';
import type { ApprovalRecord, Store } from '../../src/store/store';
import type { Notifier } from '../../src/engine/notifier';
import { uniqueId } from './store-factory';

/**
 * Test doubles for the engine: small but real ActionDefs (zod inputs, previews, idempotent runs
 * against a shared "world" they can re-read) that record every call with its timestamps.
 */

export const APPROVERS = Array.from({ length: 10 }, (_, i) => ({
  aadObjectId: `00000000-0000-4000-8000-0000000001${String(i).padStart(2, '0')}`,
  name: `Approver ${i + 1}`,
}));
export const ALEX = PLAYGROUND_USERS.alex;
export const MEGAN = PLAYGROUND_USERS.megan;
export const ADELE = PLAYGROUND_USERS.adele;

export function testCustomer(over: Partial<Record<string, unknown>> = {}): CustomerConfig {
  const base = {
    id: CONTOSO.customerId,
    name: CONTOSO.name,
    tenantId: CONTOSO.tenantId,
    domains: [CONTOSO.domain],
    graph: { clientId: CONTOSO.graphClientId, credential: { type: 'secret', secretRef: 'env:CONTOSO_GRAPH_SECRET' } },
    egressRanges: [CONTOSO.egressRange],
    firewalls: [
      {
        id: CONTOSO.fortigate.id,
        kind: 'fortigate',
        ssh: { host: '127.0.0.1', port: 2222, username: 'ir-bot', passwordRef: 'env:FGT_PASSWORD', hostKeySha256: `SHA256:${'A'.repeat(43)}` },
      },
    ],
    radius: {
      accounting: { kind: 'sql', urlRef: 'env:RADIUS_SQL_URL' },
      nas: [{ id: CONTOSO.nas.id, ip: CONTOSO.nas.ip, secretRef: 'env:NAS_SECRET' }],
    },
    contacts: { ciso: CONTOSO.contacts.ciso, onCall: CONTOSO.contacts.onCall },
    // Adele is an approver too: being the subject must still refuse her.
    approvers: { objectIds: [ALEX.aadObjectId, ADELE.aadObjectId, ...APPROVERS.map((a) => a.aadObjectId)], groupIds: [], twoPersonSteps: [] },
    ...over,
  };
  return customerSchema.parse(base);
}

export const testSecrets: SecretStore = { get: (ref) => { throw new Error(`no secret ${ref} in tests`); }, has: () => false };

/** Real time plus an offset the test moves forward (expiry, back-off) without sleeping. */
export class SkewClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface Call {
  name: string;
  incidentId: string;
  input: unknown;
  mayHaveRun: boolean;
  start: number;
  end: number;
}

/** What the destructive test actions change; they re-read it when a previous attempt may have run. */
export interface World {
  disabled: Set<string>;
  disconnected: Set<string>;
  blocked: Set<string>;
  mailed: boolean;
}

export interface Behaviour {
  latencyMs?: number;
  /** throw this many retryable errors before succeeding */
  retryableFailures?: number;
  /** always throw a non-retryable error */
  fail?: string;
  /** wait until this many calls with a barrier have entered (at most 10 s): overlap without timing */
  barrier?: number;
}

export class Recorder {
  calls: Call[] = [];
  previews: string[] = [];
  world: World = { disabled: new Set(), disconnected: new Set(), blocked: new Set(), mailed: false };
  behaviour: Record<string, Behaviour> = {};
  private failuresLeft = new Map<string, number>();
  private barrierEntered = 0;
  private barrierWaiters: Array<() => void> = [];

  callsOf(name: string, incidentId?: string): Call[] {
    return this.calls.filter((c) => c.name === name && (!incidentId || c.incidentId === incidentId));
  }

  async enter(name: string, incidentId: string, input: unknown, mayHaveRun: boolean, body: () => unknown): Promise<unknown> {
    const b = this.behaviour[name] ?? {};
    const start = Date.now();
    if (b.latencyMs) await sleep(b.latencyMs);
    if (b.barrier) await this.waitAtBarrier(b.barrier);
    const key = `${incidentId}:${name}`;
    if (b.retryableFailures) {
      const left = this.failuresLeft.get(key) ?? b.retryableFailures;
      if (left > 0) {
        this.failuresLeft.set(key, left - 1);
        this.calls.push({ name, incidentId, input, mayHaveRun, start, end: Date.now() });
        throw new ConnectorError(`${name}: HTTP 429 Too Many Requests (Retry-After 1)`, { retryable: true, status: 429 });
      }
    }
    if (b.fail) {
      this.calls.push({ name, incidentId, input, mayHaveRun, start, end: Date.now() });
      throw new ConnectorError(b.fail, { retryable: false });
    }
    const out = body();
    this.calls.push({ name, incidentId, input, mayHaveRun, start, end: Date.now() });
    return out;
  }

  /** Parallel callers all pass once `size` have arrived; a sequential caller is let through after 10 s. */
  private waitAtBarrier(size: number): Promise<void> {
    this.barrierEntered += 1;
    if (this.barrierEntered >= size) {
      for (const w of this.barrierWaiters.splice(0)) w();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.barrierWaiters.push(resolve);
      setTimeout(resolve, 10_000).unref();
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const raw = (source: string, body: unknown) => [{ source, contentType: 'application/json', body: Buffer.from(JSON.stringify(body)), collectedAt: new Date().toISOString(), recordCount: 1 }];

function readAction<I>(rec: Recorder, name: `${string}.${string}`, input: z.ZodType<I, z.ZodTypeDef, unknown>, output: (i: I) => { output: unknown; summary: string }): ActionDef<I, unknown> {
  return {
    name,
    risk: 'read',
    description: `test ${name}`,
    input,
    async run(i, ctx): Promise<ActionResult> {
      const r = (await rec.enter(name, ctx.incidentId, i, ctx.mayHaveRun, () => output(i))) as { output: unknown; summary: string };
      return { ...r, raw: raw(`test.${name}`, r.output) };
    },
  };
}

const upn = z.string().min(3);
// entra.signIns' travel finding as src/domain/travel.ts makes it (dates as the store keeps them: JSON)
const TRAVEL = {
  from: { id: 'si-1', at: '2026-11-27T02:23:00.000Z', ip: CONTOSO.lisbonIp, place: 'Lisbon', city: 'Lisbon', country: 'PT', point: { latitude: 38.7223, longitude: -9.1393 } },
  to: { id: 'si-2', at: '2026-11-27T03:01:00.000Z', ip: CONTOSO.attackerIp, place: 'Singapore', city: 'Singapore', country: 'SG', point: { latitude: 1.3521, longitude: 103.8198 } },
  distanceKm: 11_879, minutes: 38, speedKmh: 18_756, summary: 'Lisbon → Singapore, 11,880 km in 38 min = 18,800 km/h',
};
const hours = z.number().int().positive().max(720);
const activeSessions = CONTOSO.nas.sessions.map((s) => ({ acctSessionId: s, nasIp: CONTOSO.nas.ip, userName: CONTOSO.adele.upn, active: true }));

// the wired session radius.accounting lists for switch.portFacts (src/connectors/radius/actions.ts wiredPorts)
const WIRED_PORT = { nasIp: CONTOSO.nas.ip, nasPortId: CONTOSO.accessSwitch.laptopPort, callingStationId: CONTOSO.accessSwitch.laptopMac, username: CONTOSO.adele.upn };
const PORT_LINE = 'Gi1/0/12 on sw-lis-3, VLAN 20, 802.1X authorised as adele.vance, link up, MAC 3c22.fb12.3456';

/** ActionDefs with the names, input shapes and output shapes of the real connectors (src/connectors/*). */
export function testActions(rec: Recorder): ActionDef[] {
  const defs: ActionDef<any, any>[] = [
    readAction(rec, 'identity.resolve', z.object({ subject: upn, identity: z.unknown().nullish() }).strict(), (i) => ({ output: { placement: 'cloud', upn: i.subject, sid: null, domain: null, objectId: CONTOSO.adele.objectId, userPrincipalName: i.subject, displayName: 'Adele Vance', accountEnabled: true, directoryRoles: ['Global Administrator'], privilegedRoles: ['Global Administrator'],
      // the names the lookup found (unique per test subject: tests share one database)
      identifiers: [`upn:${i.subject.toLowerCase()}`, `sam:contoso\\${i.subject.split('@')[0].toLowerCase().slice(0, 20)}`] }, summary: 'Adele Vance is enabled; privileged: Global Administrator' })),
    readAction(rec, 'entra.signIns', z.object({ upn, hours }).strict(), () => ({ output: { count: 14, failed: 1, countries: ['PT', 'SG'], travel: { findings: [TRAVEL] }, signIns: [], allSignIns: [], sourceTime: '2026-11-27T03:01:00Z' }, summary: '14 sign-ins in 24 h (1 failed); impossible travel: Lisbon → Singapore in 38 min' })),
    readAction(rec, 'identity.devices', z.object({ objectId: z.string().nullish(), signIns: z.array(z.unknown()).nullish(), alertDevices: z.array(z.unknown()).nullish() }).strict(), () => ({ output: {
      devices: [{ name: 'LIS-LT-0412', deviceId: '5c0a7d1e-2b3f-4c4d-9e5f-6a7b8c9d0e1f', os: 'Windows 10.0.22631.4602', trustType: 'AzureAd', compliant: true, managed: true, lastSeen: '2026-11-27T02:30:00Z', seenIn: ['sign-in', 'registered', 'owned'], signIns: 3 }],
      notes: [],
    }, summary: '1 device: LIS-LT-0412 (sign-in, registered, owned)' })),
    readAction(rec, 'entra.directoryAudits', z.object({ upn, hours }).strict(), () => ({ output: { audits: [{ activityDisplayName: 'Update user' }, { activityDisplayName: 'Add member to role' }] }, summary: '2 directory audit events in 6 h' })),
    readAction(rec, 'm365.auditSearch', z.object({ upn, hours }).strict(), () => ({ output: [
      { at: '2026-11-27T02:40:00Z', operation: 'New-InboxRule', clientIp: CONTOSO.attackerIp, detail: 'forwards to adele.backup@mail-forward.example' },
      { at: '2026-11-27T02:41:00Z', operation: 'Set-Mailbox', clientIp: CONTOSO.attackerIp, detail: null },
      { at: '2026-11-27T02:42:00Z', operation: 'Consent to application', clientIp: CONTOSO.attackerIp, detail: null },
    ], summary: '3 sensitive operations' })),
    readAction(rec, 'radius.accounting', z.object({ user: upn, hours }).strict(), () => ({ output: { active: activeSessions, sessions: activeSessions, ports: [WIRED_PORT] }, summary: '2 active RADIUS sessions' })),
    readAction(rec, 'switch.portFacts', z.object({ sessions: z.array(z.object({ nasIp: z.string(), nasPortId: z.string(), callingStationId: z.string(), username: z.string().optional() }).strict()).min(1) }).strict(),
      () => ({ output: { ports: [{ nasIp: CONTOSO.nas.ip, nasPortId: WIRED_PORT.nasPortId, outcome: 'ok', line: PORT_LINE, switchId: CONTOSO.accessSwitch.id, port: 'Gi1/0/12' }] }, summary: PORT_LINE })),
    readAction(rec, 'firewall.vpnSessions', z.object({ user: upn }).strict(), (i) => ({ output: { sessions: [{ kind: 'sslvpn-tunnel', user: i.user, sourceIp: CONTOSO.attackerIp, handle: { index: 0 } }] }, summary: '1 VPN session(s)' })),
    readAction(rec, 'firewall.matchedPolicy', z.object({ ips: z.array(z.string()).min(1) }).strict(), (i) => ({
      output: { matches: i.ips.map((ip) => ({ firewallId: CONTOSO.fortigate.id, query: { src: ip, dst: '198.51.100.1', dstPort: 443, protocol: 'tcp' }, policyId: '5', policyName: 'WAN-to-DMZ-HTTPS', action: 'accept', allows: true, implicit: false, context: 'from wan1' })), skipped: [] },
      summary: i.ips.map((ip) => `${ip} → 198.51.100.1:443/tcp on ${CONTOSO.fortigate.id} (from wan1): rule 5 "WAN-to-DMZ-HTTPS" (accept)`).join('; '),
    })),
    destructive(rec, 'identity.contain', z.object({ placement: z.string(), upn, sid: z.string().nullish(), domain: z.string().nullish() }).strict(),
      (i) => ({ done: rec.world.disabled.has(i.upn), preview: { title: `Contain ${i.upn} in Entra`, facts: [{ label: 'UPN', value: i.upn }], changes: ['Disable the account (enabled now)', 'Revoke sign-in sessions'], warnings: [] } }),
      (i) => { rec.world.disabled.add(i.upn); return { output: { steps: [{ step: 'disable', changed: true }] }, summary: `${i.upn}: disabled, sessions revoked` }; }),
    destructive(rec, 'radius.disconnect', z.object({ user: upn, sessions: z.array(z.unknown()).optional() }).strict(),
      (i) => ({ done: rec.world.disconnected.has(i.user), preview: { title: `Disconnect ${i.user} from RADIUS`, facts: [], changes: activeSessions.map((s) => `End session ${s.acctSessionId}`), warnings: [] } }),
      (i) => { rec.world.disconnected.add(i.user); return { output: { results: [], complete: true, counts: { disconnected: activeSessions.length } }, summary: `${activeSessions.length} RADIUS sessions ended` }; }),
    // switch.containPort (src/connectors/switch/actions.ts): same name and input; customers with switchContainment off skip it
    destructive(rec, 'switch.containPort', z.object({ ports: z.array(z.object({ switchId: z.string().optional(), port: z.string().optional() }).passthrough()).min(1) }).strict(),
      (i) => ({ done: false, preview: { title: 'Shut the switch port of the user\'s device', facts: [], changes: i.ports.map((p) => `Shut ${String(p.port)} on ${String(p.switchId)}`), warnings: [] } }),
      (i) => ({ output: { mode: 'shut-port', ports: i.ports.map((p) => ({ switchId: p.switchId, port: p.port, changed: true, line: `${String(p.port)} on ${String(p.switchId)} shut` })), refused: [] }, summary: 'port shut' })),
    destructive(rec, 'firewall.block', z.object({ ips: z.array(z.string()).min(1), user: upn.optional(), incidentId: z.string().optional() }).strict(),
      (i) => ({ done: i.ips.every((ip) => rec.world.blocked.has(ip)), preview: { title: `Block ${i.ips.join(', ')}`, facts: [], changes: i.ips.map((ip) => `Block ${ip}`), warnings: [] } }),
      (i) => { i.ips.forEach((ip) => rec.world.blocked.add(ip)); return { output: { devices: [{ firewallId: CONTOSO.fortigate.id, added: i.ips, alreadyBlocked: [], vpnSessionsCut: [{ user: i.user }] }], excluded: [], feedEntries: [] }, summary: `blocked ${i.ips.join(', ')}` }; }),
    // the threat-feed step after the block (src/connectors/threat-feed/actions.ts): same name and input
    { ...readAction(rec, 'threatFeed.list', z.object({ entries: z.array(z.unknown()) }).strict(), (i) => ({ output: { listed: i.entries.length }, summary: `listed ${i.entries.length} IP(s) on the feed` })), risk: 'change' },
    // the follow-through steps of the default procedure (src/evidence/actions.ts): same names and inputs
    { ...readAction(rec, 'evidence.report', z.object({}).passthrough(), () => ({ output: { name: 'report.md', sha256: '0'.repeat(64), size: 1, evidenceId: 1, summary: 'report' }, summary: 'forensic report written' })), risk: 'change' },
    { ...readAction(rec, 'ticket.open', z.object({}).passthrough(), () => ({ output: { ticket: { number: 'SIR0010001', link: 'https://x.service-now.com', sysId: 'abc' } }, summary: 'SIR0010001 opened' })), risk: 'change' },
    destructive(rec, 'mail.notifyCiso', z.object({ subject: z.string().optional(), body: z.string().optional(), recipients: z.string().optional(), cc: z.string().optional() }).strict(),
      () => ({ done: rec.world.mailed, preview: { title: 'Email the CISO', facts: [], changes: ['Send the email'], warnings: [] } }),
      () => { rec.world.mailed = true; return { output: { via: 'graph' }, summary: 'email sent' }; }),
  ];
  return defs as ActionDef[];
}

function destructive<I>(
  rec: Recorder,
  name: `${string}.${string}`,
  input: z.ZodType<I, z.ZodTypeDef, unknown>,
  state: (i: I) => { done: boolean; preview: Preview },
  apply: (i: I) => { output: unknown; summary: string },
): ActionDef<I, unknown> {
  return {
    name,
    risk: 'destructive',
    description: `test ${name}`,
    input,
    async preview(i) {
      rec.previews.push(name);
      const s = state(i);
      return s.done ? { ...s.preview, nothingToDo: true } : s.preview;
    },
    async run(i, ctx) {
      const r = (await rec.enter(name, ctx.incidentId, i, ctx.mayHaveRun, () => {
        // The connector contract: re-read the target before acting again.
        if (ctx.mayHaveRun && state(i).done) return { output: { alreadyDone: true }, summary: 'already done by an earlier attempt' };
        return apply(i);
      })) as { output: unknown; summary: string };
      return { ...r, raw: raw(`test.${name}`, r.output) };
    },
  };
}

/** A normalised Alert for Adele: the attacker IP, the Lisbon egress IP, a private IP. */
export function adeleAlert(id: string): Alert {
  return {
    id,
    providerAlertId: null,
    tenantId: CONTOSO.tenantId,
    title: 'Impossible travel activity',
    description: null,
    severity: 'high',
    status: 'new',
    serviceSource: 'azureAdIdentityProtection',
    detectorId: 'ImpossibleTravel',
    category: 'InitialAccess',
    alertWebUrl: null,
    incidentWebUrl: null,
    createdDateTime: '2026-11-27T03:05:00Z',
    lastUpdateDateTime: null,
    firstActivityDateTime: null,
    lastActivityDateTime: null,
    mitreTechniques: [],
    users: [{ upn: CONTOSO.adele.upn, objectId: CONTOSO.adele.objectId, displayName: CONTOSO.adele.displayName, roles: [], verdict: 'suspicious' }],
    ips: [
      { ip: CONTOSO.attackerIp, countryLetterCode: 'SG', verdict: 'suspicious', roles: ['attacker'] },
      { ip: CONTOSO.lisbonIp, countryLetterCode: 'PT', verdict: 'suspicious', roles: [] },
      { ip: '10.1.2.3', countryLetterCode: null, verdict: 'malicious', roles: [] },
    ],
    devices: [],
    ignoredEvidence: [],
  };
}

/** Records an alert as intake does; returns the new incident id. */
export async function createAlertIncident(store: Store, opts: { upn?: string; subjectObjectId?: string | null; customerId?: string } = {}): Promise<string> {
  const alertId = uniqueId('alert');
  const incidentId = uniqueId('IR');
  const alert = adeleAlert(alertId);
  const r = await store.recordAlert({
    alert: { id: alertId, customerId: opts.customerId ?? CONTOSO.customerId, receivedAt: new Date().toISOString(), source: 'webhook', alert: alert as unknown as Record<string, unknown>, raw: JSON.stringify(alert) },
    newIncident: {
      id: incidentId,
      customerId: opts.customerId ?? CONTOSO.customerId,
      tenantId: CONTOSO.tenantId,
      // unique subject per test: tests share one database and an open incident per subject is joined
      subjectUpn: opts.upn ?? `${uniqueId('adele').toLowerCase()}@contoso.com`,
      subjectObjectId: opts.subjectObjectId === undefined ? null : opts.subjectObjectId,
      severity: 'high',
      title: alert.title,
      status: 'open',
      procedure: null,
      createdAt: new Date().toISOString(),
      data: {},
    },
    events: () => [{ source: 'defender', kind: 'alert.received', summary: alert.title }],
  });
  return r.incidentId;
}

export class RecordingNotifier implements Notifier {
  changed: string[] = [];
  requested: ApprovalRecord[] = [];
  decided: ApprovalRecord[] = [];
  evidence: Array<{ incidentId: string; stepId: string; text: string }> = [];
  incidentChanged(id: string) { this.changed.push(id); }
  approvalRequested(a: ApprovalRecord) { this.requested.push(a); }
  approvalDecided(a: ApprovalRecord) { this.decided.push(a); }
  stepEvidence(incidentId: string, stepId: string, text: string) { this.evidence.push({ incidentId, stepId, text }); }
}

/**
 * An engine on the test doubles, as the engine tests build it: `registry`'s default procedure, the one
 * customer (testCustomer() unless given), no secrets, a RecordingNotifier, a SkewClock, a silent log,
 * a 5 s lease and four tries with back-off. `over` replaces any of these.
 */
export function testEngine(store: Store, registry: ActionRegistry, over: Partial<EngineDeps> & { customer?: CustomerConfig } = {}): Engine {
  const { customer = testCustomer(), procedures, ...deps } = over;
  return new Engine({
    store,
    registry,
    procedures: procedures ?? new ProcedureCatalog(loadProcedure(DEFAULT_PROCEDURE_FILE, registry)),
    customers: (id) => (id === customer.id ? customer : undefined),
    secrets: testSecrets,
    notifier: new RecordingNotifier(),
    clock: new SkewClock(),
    log: pino({ level: 'silent' }),
    leaseMs: 5_000,
    retry: { maxAttempts: 4, baseMs: 1_000, capMs: 10_000 },
    ...deps,
  });
}

const LIVE_ACTION = ['waiting', 'ready', 'awaiting_approval', 'running'];

/** Tests share one database: stops the test's engines and leaves nothing live for the next test's engine to pick up. */
export async function stopEnginesAndCancelLive(store: Store, engines: Engine[]): Promise<void> {
  for (const e of engines.splice(0)) await e.stop();
  for (const inc of await store.listIncidents({ open: true, limit: 1000 })) {
    for (const a of await store.listActions(inc.id)) {
      if (LIVE_ACTION.includes(a.status)) await store.transitionAction(a.id, { from: [a.status], to: 'cancelled' });
    }
    await store.updateIncident(inc.id, { status: 'cancelled' });
  }
}
