import { z } from 'zod';
import { customerSchema, type CustomerConfig } from '../../src/config/customers';
import type { SecretStore } from '../../src/config/secrets';
import { ConnectorError, type ActionDef, type ActionResult, type Preview } from '../../src/connectors/types';
import type { Alert } from '../../src/domain/alert';
import type { Clock } from '../../src/engine/engine';
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
}

export interface Behaviour {
  latencyMs?: number;
  /** throw this many retryable errors before succeeding */
  retryableFailures?: number;
  /** always throw a non-retryable error */
  fail?: string;
}

export class Recorder {
  calls: Call[] = [];
  previews: string[] = [];
  world: World = { disabled: new Set(), disconnected: new Set(), blocked: new Set() };
  behaviour: Record<string, Behaviour> = {};
  private failuresLeft = new Map<string, number>();

  callsOf(name: string, incidentId?: string): Call[] {
    return this.calls.filter((c) => c.name === name && (!incidentId || c.incidentId === incidentId));
  }

  async enter(name: string, incidentId: string, input: unknown, mayHaveRun: boolean, body: () => unknown): Promise<unknown> {
    const b = this.behaviour[name] ?? {};
    const start = Date.now();
    if (b.latencyMs) await sleep(b.latencyMs);
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
const hours = z.number().int().positive().max(720);

/** ActionDefs with the names and input shapes the default procedure uses. */
export function testActions(rec: Recorder): ActionDef[] {
  const defs: ActionDef<any, any>[] = [
    readAction(rec, 'entra.lookupUser', z.object({ upn }), () => ({ output: { id: CONTOSO.adele.objectId, accountEnabled: true, directoryRoles: ['Global Administrator'] }, summary: 'Adele Vance: enabled, Global Administrator' })),
    readAction(rec, 'entra.signIns', z.object({ upn, hours }), () => ({ output: { count: 14, countries: ['PT', 'SG'], impossibleTravel: 'Lisbon → Singapore in 38 min', sourceTime: '2026-11-27T03:01:00Z' }, summary: '14 sign-ins in 24 h from PT, SG' })),
    readAction(rec, 'entra.directoryAudits', z.object({ upn, hours }), () => ({ output: { count: 2 }, summary: '2 directory changes in 6 h' })),
    readAction(rec, 'm365.auditSearch', z.object({ upn, hours }), () => ({ output: { count: 31 }, summary: '31 audit records in 6 h' })),
    readAction(rec, 'radius.accounting', z.object({ upn, hours }), () => ({ output: { activeCount: 2, activeSessions: CONTOSO.nas.sessions.map((s) => ({ acctSessionId: s, nasId: CONTOSO.nas.id })) }, summary: '2 active RADIUS sessions' })),
    readAction(rec, 'firewall.vpnSessions', z.object({ upn }), () => ({ output: { count: 1, sessions: [{ firewallId: CONTOSO.fortigate.id, index: 0, remoteIp: CONTOSO.attackerIp }] }, summary: '1 SSL-VPN session' })),
    destructive(rec, 'entra.contain', z.object({ upn, userId: z.string().uuid(), signIns24h: z.number().int().nonnegative() }),
      (i) => ({ done: rec.world.disabled.has(i.upn), preview: { title: `Contain ${i.upn} in Entra`, facts: [{ label: 'Sign-ins (24 h)', value: String(i.signIns24h) }], changes: ['Disable the account (enabled now)', 'Revoke sign-in sessions'], warnings: [] } }),
      (i) => { rec.world.disabled.add(i.upn); return { output: { disabled: true, revoked: true }, summary: `${i.upn} disabled and sessions revoked` }; }),
    destructive(rec, 'radius.disconnect', z.object({ upn, sessions: z.array(z.object({ acctSessionId: z.string(), nasId: z.string() })).min(1) }),
      (i) => ({ done: i.sessions.every((s) => rec.world.disconnected.has(s.acctSessionId)), preview: { title: `Disconnect ${i.sessions.length} RADIUS sessions`, facts: [], changes: i.sessions.map((s) => `Disconnect ${s.acctSessionId}`), warnings: [] } }),
      (i) => { i.sessions.forEach((s) => rec.world.disconnected.add(s.acctSessionId)); return { output: { disconnected: i.sessions.length }, summary: `${i.sessions.length} sessions disconnected` }; }),
    destructive(rec, 'firewall.block', z.object({ upn, ips: z.array(z.string()), vpnSessions: z.array(z.unknown()) }),
      (i) => ({ done: i.ips.every((ip) => rec.world.blocked.has(ip)) && i.vpnSessions.length === 0, preview: { title: `Block ${i.ips.join(', ') || 'nothing'}`, facts: [], changes: i.ips.map((ip) => `Block ${ip}`), warnings: [] } }),
      (i) => { i.ips.forEach((ip) => rec.world.blocked.add(ip)); return { output: { ipsBlocked: i.ips, vpnSessionsRevoked: i.vpnSessions.length }, summary: `blocked ${i.ips.join(', ')}` }; }),
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
