import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Client } from 'pg';
import { parseCustomers } from '../../src/config/customers';
import { CONTOSO, PLAYGROUND_USERS } from '../../src/sandbox/contoso';
import { generatedSandboxTenantId } from '../../src/sandbox/generated-tenants';
import { ALL_GRAPH_PERMISSIONS } from '../../src/sandbox/graph/story';
import type { EmulatorTenant, EmulatorUser } from '../../src/sandbox/graph/state';
import { writeSandboxCustomersFile } from '../../src/sandbox/sandbox-customers-file';
import { writePeersEnvFile } from '../../src/sandbox/peers-env-file';
import { openStore } from '../../src/store/open-store';
import type { Store } from '../../src/store/store';
import { startPeers, type RunningPeers } from '../../scripts/peers';
import { startNginx } from '../../scripts/nginx-lb';
import { BotChild } from './bot-child';
import { cardActionInvoke, postActivity } from './bot-invoke';
import { startRecordedConnector, type RecordedConnector } from './bot-connector-recorder';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres';
import { freePort } from './replica-cluster';

/**
 * The storm test's cluster (issue 13 part 5), shared by test/e2e/alert-storm.test.ts and
 * bench/alert-storm.ts: the sandbox's peers in this process (so the emulators can be read), serving
 * Contoso plus N-1 generated customers (Graph tenants in the reserved sandbox namespace, each with
 * its own app secret and intake token); the recorded Bot Connector; R bot replicas as separate
 * processes on ONE PostgreSQL of the harness's own (so restarting it never touches the machine's
 * shared server); Debian's nginx in front. Replicas listen on fixed ports, so one killed and
 * restarted is the same upstream to nginx.
 */

export interface GeneratedCustomer {
  id: string;
  name: string;
  tenantId: string;
  domain: string;
  /** its intake token (the bearer its alerts are posted with) */
  token: string;
  graphClientId: string;
  storm: boolean;
}

export interface StormClusterOptions {
  replicas: number;
  /** customers in all, Contoso included (the rest are generated) */
  customers: number;
  /** the generated customer (1-based) whose storm setting is on: the spray's target */
  sprayCustomer: number;
  /** the storm threshold for the spray customer */
  stormMinUsers?: number;
  /** a shift starts every minute (UTC) from start-up on, so a run crosses shift boundaries */
  shiftsEveryMinute?: boolean;
  /** the recorder's timestamps (ms, Date.now()) of every call are kept; extra replica env */
  replicaEnv?: Record<string, string>;
  /** the store's database name on the private server */
  database?: string;
}

export interface StormCluster {
  pg: PrivatePostgres;
  storeUrl: string;
  /** the harness's own Store on the cluster's database (reads and pre-seeding) */
  store: Store;
  connector: RecordedConnector;
  peers: RunningPeers;
  replicas: BotChild[];
  lbPort: number;
  contoso: GeneratedCustomer;
  /** the generated customers, 1-based index i at [i-1] */
  generated: GeneratedCustomer[];
  nginxLog: string[];
  /** every error-level log line of every replica (the first 200), for the report of a failed check */
  replicaErrors: string[];
  /** every replica process that ran (killed ones included), for the figures */
  allReplicaPids: number[];
  /** makes `local@<domain>` a user of the customer's Graph tenant; returns its object id */
  addGraphUser(c: GeneratedCustomer, local: string): string;
  /** SIGKILL replica i, then start it again with the same environment and port */
  killAndRestart(i: number): Promise<{ killedPid: number; newPid: number; restartMs: number }>;
  restartPostgres(): Promise<number>;
  /** replicas' last log lines, nginx's log, PostgreSQL's log tail */
  diagnostics(): string;
  close(): Promise<void>;
}

const ALERT_FIXTURE = path.resolve(__dirname, '../fixtures/graph/alert-impossible-travel.json');

function generatedCustomer(i: number, storm: boolean): GeneratedCustomer {
  const id = `cust-${String(i).padStart(4, '0')}`;
  return {
    id, name: `Customer ${i}`, tenantId: generatedSandboxTenantId(i), domain: `${id}.example.com`,
    token: `storm-intake-${id}`, graphClientId: `5a4db0c5-0001-4000-8000-${i.toString(16).padStart(12, '0')}`, storm,
  };
}

const envName = (c: GeneratedCustomer, what: string) => `${c.id.toUpperCase().replace(/-/g, '_')}_${what}`;

/** Each run's user object ids: deterministic per (customer, local part), GUID-shaped. */
function userObjectId(c: GeneratedCustomer, local: string): string {
  let h = 2166136261;
  for (const ch of `${c.id}/${local}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  // the tenant id's last group is the customer's index in hex already
  return `${h.toString(16).padStart(8, '0')}-5a4d-4000-8000-${c.tenantId.slice(-12)}`;
}

export async function startStormCluster(o: StormClusterOptions): Promise<StormCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'irbot-storm-'));
  const closers: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })];
  const closeAll = async () => { for (const c of closers.reverse()) await c().catch(() => undefined); closers.length = 0; };
  try {
    const pg = await startPrivatePostgres();
    closers.push(() => pg.stop());
    const storeUrl = await pg.createDatabase(o.database ?? 'irbot_storm');
    const store = await openStore(storeUrl);
    closers.push(() => store.close());
    const connector = await startRecordedConnector();
    closers.push(() => connector.close());
    await store.putRef('teams:channel', connector.channelRef());

    const sandboxDir = path.join(dir, 'sandbox');
    const peers = await startPeers({
      SANDBOX_DATA_DIR: sandboxDir, SANDBOX_PLAYGROUND: 'false', SANDBOX_SAMBA: 'false', PEERS_PORT: '0',
      SANDBOX_GRAPH_PORT: '0', SANDBOX_SERVICENOW_PORT: '0', SANDBOX_FORTIGATE_PORT: '0', SANDBOX_SWITCH_PORT: '0', SANDBOX_NAS_PORT: '0',
    });
    closers.push(() => peers.close());

    // The generated customers: Graph-only (as Fabrikam), each its own tenant, app secret and intake
    // token; storms set explicitly (on only for the spray's customer), whatever the default becomes.
    const generated = Array.from({ length: o.customers - 1 }, (_, k) => generatedCustomer(k + 1, k + 1 === o.sprayCustomer));
    const graphState = peers.sandbox.graph.state;
    const secrets: Record<string, string> = {};
    const sandboxCustomers = peers.sandbox.customers.customers;
    const contosoEntry = sandboxCustomers.find((c) => c.id === CONTOSO.customerId)!;
    const graphOf = contosoEntry.graph;
    const entries: Array<Record<string, unknown>> = [{ ...contosoEntry, storm: { enabled: false, minUsers: 10, windowMinutes: 10 } }];
    for (const c of generated) {
      secrets[envName(c, 'GRAPH_SECRET')] = `sandbox-graph-${c.id}`;
      secrets[envName(c, 'WEBHOOK_TOKEN')] = c.token;
      entries.push({
        id: c.id, name: c.name, tenantId: c.tenantId, domains: [c.domain],
        graph: {
          clientId: c.graphClientId, credential: { type: 'secret', secretRef: `env:${envName(c, 'GRAPH_SECRET')}` },
          authorityHost: graphOf.authorityHost, baseUrl: graphOf.baseUrl, caCertificateRef: 'env:SANDBOX_GRAPH_CA_PEM',
          auditQueryPath: '/beta/security/auditLog/queries', hasP2: false,
        },
        contacts: { ciso: { name: `CISO ${c.name}`, email: `ciso@${c.domain}` }, onCall: { name: `On call ${c.name}`, email: `oncall@${c.domain}` } },
        approvers: { objectIds: [PLAYGROUND_USERS.alex.aadObjectId] },
        intake: { webhookTokenRef: `env:${envName(c, 'WEBHOOK_TOKEN')}` },
        storm: { enabled: c.storm, minUsers: o.stormMinUsers ?? 10, windowMinutes: 10 },
      });
      const tenant: EmulatorTenant = {
        id: c.tenantId, name: c.name, domain: c.domain, hasP2: false,
        apps: new Map([[c.graphClientId, { secret: secrets[envName(c, 'GRAPH_SECRET')], permissions: new Set(ALL_GRAPH_PERMISSIONS) }]]),
        users: new Map(), alerts: new Map(), signIns: [], directoryAudits: [], m365Records: [], auditQueries: new Map(),
        riskyUsers: new Map(), roleTemplates: {},
      };
      graphState.tenants.set(c.tenantId, tenant);
    }
    // Validated as start-up will (a bad generated entry fails here, not in three replicas).
    writeSandboxCustomersFile(sandboxDir, parseCustomers({ customers: entries }, 'storm customers'));
    writePeersEnvFile(sandboxDir, { ...peers.sandbox.env, ...secrets });

    const env: Record<string, string> = {
      IR_MODE: 'sandbox', MicrosoftAppId: '', SANDBOX_DATA_DIR: sandboxDir, CUSTOMERS_FILE: peers.customersFile,
      STORE_URL: storeUrl, SANDBOX_PLAYGROUND: 'false', HOST: '127.0.0.1', IR_QUIET_BANNER: 'true', ENGINE_LEASE_SECONDS: '5',
      ...o.replicaEnv,
    };
    if (o.shiftsEveryMinute) env.SHIFTS_FILE = writeMinuteShifts(dir);
    const ports = await Promise.all(Array.from({ length: o.replicas }, () => freePort()));
    const replicaErrors: string[] = [];
    const watch = (r: BotChild): BotChild => {
      const keep = (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line.includes('"level":50') && replicaErrors.length < 200) replicaErrors.push(line.slice(0, 2_000));
      };
      r.proc.stdout?.on('data', keep);
      r.proc.stderr?.on('data', keep);
      return r;
    };
    const replicas: BotChild[] = [];
    closers.push(() => Promise.all(replicas.map((r) => r.stop(5_000))));
    // The first alone (it migrates the database), the others together.
    replicas.push(watch(await BotChild.start({ ...env, PORT: String(ports[0]) }, 180_000)));
    replicas.push(...(await Promise.all(ports.slice(1).map((port) => BotChild.start({ ...env, PORT: String(port) }, 180_000)))).map(watch));
    const allReplicaPids = replicas.map((r) => r.pid);

    const lbPort = await freePort();
    const nginxLog: string[] = [];
    let nginx: ChildProcess | undefined = startNginx({ listenPort: lbPort, replicaPorts: ports, prefix: path.join(dir, 'nginx'), peersPort: peers.port, output: (l) => nginxLog.push(l) });
    closers.push(async () => { nginx?.kill('SIGTERM'); nginx = undefined; });
    const end = Date.now() + 15_000;
    while (!(await fetch(`http://127.0.0.1:${lbPort}/readyz`).then((r) => r.ok, () => false))) {
      if (Date.now() > end) throw new Error(`nginx did not answer on ${lbPort}:\n${nginxLog.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const contoso: GeneratedCustomer = {
      id: CONTOSO.customerId, name: CONTOSO.name, tenantId: CONTOSO.tenantId, domain: CONTOSO.domain,
      token: peers.sandbox.env.CONTOSO_WEBHOOK_TOKEN, graphClientId: CONTOSO.graphClientId, storm: false,
    };
    return {
      pg, storeUrl, store, connector, peers, replicas, lbPort, contoso, generated, nginxLog, replicaErrors, allReplicaPids,
      addGraphUser(c, local) {
        const tenant = graphState.tenants.get(c.tenantId.toLowerCase());
        if (!tenant) throw new Error(`${c.id} has no Graph tenant in the emulator`);
        const id = userObjectId(c, local);
        const upn = `${local}@${c.domain}`;
        const u: EmulatorUser = {
          id, userPrincipalName: upn, displayName: local, mail: upn, accountEnabled: true,
          signInSessionsValidFromDateTime: new Date(Date.now() - 86_400_000).toISOString(),
          lastPasswordChangeDateTime: new Date(Date.now() - 30 * 86_400_000).toISOString(),
          passwordProfile: null, roles: [], groups: [],
        };
        tenant.users.set(id, u);
        return id;
      },
      async killAndRestart(i) {
        const old = replicas[i];
        const killedPid = old.pid;
        await old.kill();
        const t0 = Date.now();
        // A start that meets the database restarting may exit (it cannot migrate): start it again,
        // as a process manager would.
        let started: BotChild | undefined;
        for (let attempt = 1; !started; attempt++) {
          try {
            started = await BotChild.start({ ...env, PORT: String(ports[i]) }, 180_000);
          } catch (e) {
            if (attempt >= 3) throw e;
          }
        }
        replicas[i] = watch(started);
        allReplicaPids.push(replicas[i].pid);
        return { killedPid, newPid: replicas[i].pid, restartMs: Date.now() - t0 };
      },
      async restartPostgres() {
        const t0 = Date.now();
        await pg.restart();
        return Date.now() - t0;
      },
      diagnostics() {
        const pgLog = (() => { try { return readFileSync(pg.logFile, 'utf8').split('\n').slice(-20).join('\n'); } catch { return ''; } })();
        return [
          ...replicas.map((r) => `--- replica ${r.pid} ---\n${r.tail(30)}`),
          `--- replica errors (${replicaErrors.length}) ---\n${replicaErrors.slice(0, 10).join('\n')}`,
          `--- nginx ---\n${nginxLog.slice(-30).join('\n')}`,
          `--- postgres ---\n${pgLog}`,
        ].join('\n');
      },
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/**
 * Shifts of one minute each (UTC) for the next hour from now: the handoff scheduler (every minute
 * on each replica) sees several shift changes in one run. The first covers every other time of day.
 */
function writeMinuteShifts(dir: string): string {
  const analysts = [
    { name: 'Alex Wilber', aadObjectId: PLAYGROUND_USERS.alex.aadObjectId, upn: 'alexw@msp.example' },
    { name: 'Megan Bowen', aadObjectId: PLAYGROUND_USERS.megan.aadObjectId, upn: 'meganb@msp.example' },
  ];
  const base = Math.floor(Date.now() / 60_000) * 60_000;
  const seen = new Set<string>();
  const shifts: Array<Record<string, unknown>> = [];
  for (let k = 0; k < 60; k++) {
    const t = new Date(base + k * 60_000);
    const start = `${String(t.getUTCHours()).padStart(2, '0')}:${String(t.getUTCMinutes()).padStart(2, '0')}`;
    if (seen.has(start)) continue;
    seen.add(start);
    shifts.push({ name: `m${start.replace(':', '')}`, start, analyst: analysts[k % 2] });
  }
  const file = path.join(dir, 'shifts.json');
  writeFileSync(file, JSON.stringify({ timeZone: 'UTC', shifts }));
  return file;
}

// ------------------------------------------------------------------------------- the alert mix

export type PostKind = 'single' | 'duplicate' | 'correlated' | 'spray' | 'malformed' | 'contoso';

export interface PlannedPost {
  seq: number;
  kind: PostKind;
  customerId: string;
  token: string;
  /** the body exactly as sent */
  body: string;
  /** the alert's id (absent for a malformed body) */
  alertId?: string;
  /** the account the alert is about (singles, correlated, spray, contoso) */
  upn?: string;
  /** for a duplicate or correlated alert: the planned post it repeats or joins */
  of?: number;
  /** the status a correct bot answers with (after retries of 502/503) */
  expect: 202 | 400;
}

export interface StormMixOptions {
  run: string;
  customers: GeneratedCustomer[];
  contoso: GeneratedCustomer;
  /** the spray's customer (storm on for it) */
  sprayCustomer: GeneratedCustomer;
  singles: number;
  duplicates: number;
  correlated: number;
  spray: number;
  malformed: number;
}

/**
 * The storm's alerts, in a deterministic interleaving: singles (one alert per user, spread over the
 * customers other than the spray's), duplicates (a single's exact body again) and correlated alerts
 * (a second alert, another detector, for a single's account) each placed after what they repeat, a
 * spray of one detector over many users at one customer, one Contoso alert (adele.vance, the one
 * whose firewall block is counted) and malformed bodies (each must be a 400). Totals are exact.
 */
export function stormMix(o: StormMixOptions): PlannedPost[] {
  const fixture = JSON.parse(readFileSync(ALERT_FIXTURE, 'utf8')) as Record<string, unknown> & { evidence: Array<Record<string, unknown>> };
  const now = Date.now();
  const alert = (id: string, c: GeneratedCustomer, local: string, detectorId: string, title: string) => ({
    ...fixture, id, providerAlertId: id, tenantId: c.tenantId, detectorId, title,
    createdDateTime: new Date(now - 120_000).toISOString(), lastUpdateDateTime: new Date(now - 60_000).toISOString(),
    description: `${title}: ${local}@${c.domain}`,
    evidence: fixture.evidence.map((e) => e['@odata.type'] === '#microsoft.graph.security.userEvidence'
      ? { ...e, userAccount: { ...(e.userAccount as object), accountName: local, domainName: null, azureAdUserId: null, userSid: null, displayName: local, userPrincipalName: `${local}@${c.domain}` } }
      : e),
  });
  const others = o.customers.filter((c) => c.id !== o.sprayCustomer.id);
  const singles: PlannedPost[] = [];
  for (let i = 0; i < o.singles; i++) {
    const c = others[i % others.length];
    const local = `user${i}`;
    const id = `${o.run}-s${i}`;
    singles.push({ seq: 0, kind: 'single', customerId: c.id, token: c.token, alertId: id, upn: `${local}@${c.domain}`, expect: 202,
      body: JSON.stringify(alert(id, c, local, `ImpossibleTravel-${o.run}`, 'Impossible travel activity')) });
  }
  const spray: PlannedPost[] = Array.from({ length: o.spray }, (_, i) => {
    const c = o.sprayCustomer;
    const local = `sprayed${i}`;
    const id = `${o.run}-p${i}`;
    return { seq: 0, kind: 'spray' as const, customerId: c.id, token: c.token, alertId: id, upn: `${local}@${c.domain}`, expect: 202 as const,
      body: JSON.stringify(alert(id, c, local, `PasswordSpray-${o.run}`, 'Password spray')) };
  });
  const contosoAlert = { ...fixture, id: `${o.run}-contoso`, providerAlertId: `${o.run}-contoso`, createdDateTime: new Date(now - 120_000).toISOString(), lastUpdateDateTime: new Date(now - 60_000).toISOString() };
  const contoso: PlannedPost = { seq: 0, kind: 'contoso', customerId: o.contoso.id, token: o.contoso.token, alertId: contosoAlert.id, upn: CONTOSO.adele.upn, expect: 202, body: JSON.stringify(contosoAlert) };
  const malformedBodies = [
    '{"id": "truncated', // not JSON
    JSON.stringify({ id: `${o.run}-no-tenant`, title: 'x' }), // no tenant, no evidence
    JSON.stringify({ ...fixture, id: `${o.run}-bad-tenant`, tenantId: 'not-a-guid' }),
    JSON.stringify([1, 2, 3]),
  ];
  const malformed: PlannedPost[] = Array.from({ length: o.malformed }, (_, i) => {
    const c = others[i % others.length];
    return { seq: 0, kind: 'malformed' as const, customerId: c.id, token: c.token, expect: 400 as const, body: malformedBodies[i % malformedBodies.length] };
  });

  // Interleave singles, spray, malformed evenly; then put each duplicate / correlated alert a little
  // after the single it repeats or joins (so both kinds land while the storm is on).
  const base: PlannedPost[] = [];
  const streams = [singles, spray, malformed];
  const total = singles.length + spray.length + malformed.length;
  const taken = [0, 0, 0];
  for (let n = 0; n < total; n++) {
    // the stream furthest behind its share goes next
    let best = -1;
    let lag = -Infinity;
    streams.forEach((s, k) => {
      if (taken[k] >= s.length) return;
      const l = (n + 1) * (s.length / total) - taken[k];
      if (l > lag) { lag = l; best = k; }
    });
    base.push(streams[best][taken[best]++]);
  }
  base.splice(Math.floor(base.length / 3), 0, contoso);
  const out = [...base];
  const singleIdx = (k: number) => Math.floor((k * singles.length) / Math.max(1, Math.max(o.duplicates, o.correlated))) % Math.max(1, singles.length);
  const insertAfter = (p: PlannedPost, original: PlannedPost, gap: number) => {
    const at = out.indexOf(original);
    out.splice(Math.min(out.length, at + gap), 0, p);
  };
  for (let k = 0; k < o.duplicates && singles.length; k++) {
    const s = singles[singleIdx(k)];
    insertAfter({ ...s, kind: 'duplicate', of: -1 }, s, 5 + (k % 7));
  }
  for (let k = 0; k < o.correlated && singles.length; k++) {
    const s = singles[(singleIdx(k) + 1) % singles.length];
    const c = o.customers.find((x) => x.id === s.customerId)!;
    const local = s.upn!.split('@')[0];
    const id = `${o.run}-c${k}`;
    insertAfter({ seq: 0, kind: 'correlated', customerId: c.id, token: c.token, alertId: id, upn: s.upn, expect: 202, of: -1,
      body: JSON.stringify(alert(id, c, local, `MailboxRule-${o.run}`, 'Suspicious inbox forwarding rule')) }, s, 9 + (k % 5));
  }
  out.forEach((p, i) => { p.seq = i; });
  // `of` names the seq of the single a duplicate or correlated alert belongs to
  for (const p of out) {
    if (p.kind === 'duplicate') p.of = out.find((x) => x.kind === 'single' && x.alertId === p.alertId)!.seq;
    if (p.kind === 'correlated') p.of = out.find((x) => x.kind === 'single' && x.upn === p.upn)!.seq;
  }
  return out;
}

// ------------------------------------------------------------------------------- posting

export interface PostAnswer {
  seq: number;
  status: number;
  incidentId?: string;
  created?: boolean;
  /** wall clock (ms) when the first attempt started, and when the final answer arrived */
  startedAt: number;
  answeredAt: number;
  /** attempts made (a 502/503 is retried after its Retry-After, as a Sentinel playbook would) */
  attempts: number;
}

/**
 * Posts the plan through the load balancer, open loop: post i starts at t0 + i·spacing (so the rate
 * is the plan's, not the bot's), at most `inflight` at a time. A 502/503 is retried after its
 * Retry-After (at most 1 s here, up to 30 attempts): the bot answers 503 when it cannot store an
 * alert, and a sender retries it.
 */
export async function postPlan(lbPort: number, plan: PlannedPost[], o: { spacingMs: number; inflight: number; onAnswer?: (a: PostAnswer, done: number) => void }): Promise<PostAnswer[]> {
  const answers: PostAnswer[] = new Array(plan.length);
  const t0 = Date.now();
  let next = 0;
  let done = 0;
  const one = async (p: PlannedPost): Promise<PostAnswer> => {
    const startedAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      let status = 0;
      let json: { incidentId?: string; created?: boolean } = {};
      let retryAfter = 1;
      try {
        const res = await fetch(`http://127.0.0.1:${lbPort}/api/alerts`, {
          method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${p.token}` }, body: p.body,
        });
        status = res.status;
        retryAfter = Number(res.headers.get('retry-after') ?? 1) || 1;
        json = (await res.json().catch(() => ({}))) as typeof json;
      } catch {
        status = 0; // nginx itself unreachable: retried like a 503
      }
      if ((status === 0 || status === 502 || status === 503 || status === 504) && attempt < 30) {
        await new Promise((r) => setTimeout(r, Math.min(1_000, retryAfter * 1_000)));
        continue;
      }
      return { seq: p.seq, status, incidentId: json.incidentId, created: json.created, startedAt, answeredAt: Date.now(), attempts: attempt };
    }
  };
  await Promise.all(Array.from({ length: o.inflight }, async () => {
    for (let i = next++; i < plan.length; i = next++) {
      const due = t0 + i * o.spacingMs;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      answers[i] = await one(plan[i]);
      o.onAnswer?.(answers[i], ++done);
    }
  }));
  return answers;
}

// ------------------------------------------------------------------------------- approvals

/**
 * Approves, as Alex through the load balancer (the card's Approve button: an invoke on the card's
 * conversation), each of `steps` of the incident once its approval card is out; a 502/503 (a
 * replica that cannot reach the store, or none left) is retried as Teams retries. Resolves with
 * each step's approval id once every one was answered 200.
 */
export async function approveSteps(c: StormCluster, incidentId: string, steps: string[], timeoutMs: number): Promise<Map<string, string>> {
  const approved = new Map<string, string>();
  const end = Date.now() + timeoutMs;
  while (approved.size < steps.length) {
    if (Date.now() > end) {
      const timeline = (await c.store.listTimeline(incidentId).catch(() => [])).slice(-25).map((e) => `  ${e.at} ${e.kind} ${e.summary.slice(0, 160)}`);
      const all = (await c.store.listApprovals({ incidentId }).catch(() => [])).map((a) => `  ${a.actionId} ${a.status}`);
      throw new Error(`${incidentId}: approvals of ${steps.filter((s) => !approved.has(s)).join(', ')} not answered within ${timeoutMs} ms\napprovals:\n${all.join('\n')}\ntimeline:\n${timeline.join('\n')}`);
    }
    const pending = await c.store.listApprovals({ incidentId, status: 'pending' }).catch(() => []);
    for (const a of pending) {
      const step = steps.find((s) => a.actionId === `${incidentId}:${s}`);
      if (!step || approved.has(step)) continue;
      const v = await c.store.getState(`teams:approval:${a.id}`).catch(() => undefined);
      if (!v || v.startsWith('posting:')) continue;
      const card = JSON.parse(v) as { conversationId: string; activityId: string };
      const reply = await postActivity(c.lbPort, cardActionInvoke({
        verb: 'ir.approve', data: { approvalId: a.id }, from: PLAYGROUND_USERS.alex,
        serviceUrl: c.connector.serviceUrl, conversationId: card.conversationId, replyToId: card.activityId,
      })).catch(() => ({ status: 0 }));
      if (reply.status === 200) approved.set(step, a.id);
      else if (![0, 502, 503, 504].includes(reply.status)) throw new Error(`${incidentId}: approving ${step} answered HTTP ${reply.status}`);
    }
    if (approved.size < steps.length) await new Promise((r) => setTimeout(r, 300));
  }
  return approved;
}

// ------------------------------------------------------------------------------- checks

export interface StormFindings {
  /** what is wrong; empty when the run kept every promise the issue lists */
  problems: string[];
  incidents: number;
  stormIncidents: number;
  accepted: number;
  refused400: number;
  /** alert → card latency (ms) for each incident a 202 created: POST start → createConversation */
  alertToCardMs: number[];
  /** second timeline cards that were posted and removed again (they do not stay in the channel) */
  removedDuplicates: number;
}

/**
 * The checks after a storm: every alert that got a 202 is stored once, in the incident its
 * answer named; duplicates and correlated alerts name their single's incident; malformed ones got
 * 400; no two open incidents for one subject of one customer; one timeline card (thread) per
 * incident at the connector, and its latest content shows the incident's current status.
 */
export async function checkStorm(c: StormCluster, plan: PlannedPost[], answers: PostAnswer[]): Promise<StormFindings> {
  const problems: string[] = [];
  const db = new Client({ connectionString: c.storeUrl });
  db.on('error', () => undefined); // a failed query still rejects; the event alone must not end the process
  await db.connect();
  try {
    const alertRows = (await db.query<{ id: string; incident_id: string }>('select id, incident_id from alerts')).rows;
    const byAlert = new Map<string, string[]>();
    for (const r of alertRows) byAlert.set(r.id, [...(byAlert.get(r.id) ?? []), r.incident_id]);
    const incidents = (await db.query<{ id: string; customer_id: string; subject_key: string; subject_upn: string; status: string }>(
      'select id, customer_id, subject_key, subject_upn, status from incidents')).rows;

    let accepted = 0;
    let refused400 = 0;
    for (const p of plan) {
      const a = answers[p.seq];
      if (!a) { problems.push(`post ${p.seq} (${p.kind}) has no answer`); continue; }
      if (a.status !== p.expect) { problems.push(`post ${p.seq} (${p.kind}) answered ${a.status}, expected ${p.expect}`); continue; }
      if (a.status === 400) { refused400++; continue; }
      accepted++;
      const stored = byAlert.get(p.alertId!) ?? [];
      if (stored.length !== 1) problems.push(`alert ${p.alertId} (${p.kind}) is stored ${stored.length} times`);
      else if (stored[0] !== a.incidentId) problems.push(`alert ${p.alertId} (${p.kind}) is in ${stored[0]}, its 202 named ${a.incidentId}`);
      if ((p.kind === 'duplicate' || p.kind === 'correlated') && answers[p.of!]?.status === 202 && answers[p.of!]?.incidentId !== a.incidentId) {
        problems.push(`${p.kind} alert ${p.alertId} went to ${a.incidentId}, its single's incident is ${answers[p.of!]?.incidentId}`);
      }
    }
    // Malformed bodies store nothing.
    for (const id of byAlert.keys()) if (!plan.some((p) => p.alertId === id)) problems.push(`alert ${id} is stored but was never posted as a good alert`);

    const subjects = new Map<string, string[]>();
    for (const i of incidents) {
      const k = `${i.customer_id}/${i.subject_key}`;
      subjects.set(k, [...(subjects.get(k) ?? []), i.id]);
    }
    for (const [k, ids] of subjects) if (ids.length > 1) problems.push(`duplicate incidents for ${k}: ${ids.join(', ')}`);

    const creates = c.connector.calls.filter((x) => x.kind === 'createConversation');
    const cardsOf = new Map<string, typeof creates>();
    for (const x of creates) {
      const id = /^(IR-[A-Za-z0-9-]+): /.exec(String(x.activity.summary ?? ''))?.[1];
      if (id) cardsOf.set(id, [...(cardsOf.get(id) ?? []), x]);
    }
    let removedDuplicates = 0;
    for (const i of incidents) {
      // A card removed again (a second card posted while the store was out of reach, deleted by the
      // replica that found the other one stored) is not in the channel any more.
      const all = cardsOf.get(i.id) ?? [];
      const cards = all.filter((x) => c.connector.messages.has(x.activityId));
      removedDuplicates += all.length - cards.length;
      if (cards.length !== 1) { problems.push(`incident ${i.id} has ${cards.length} timeline cards at the connector`); continue; }
      const latest = c.connector.messages.get(cards[0].activityId);
      const heading = JSON.stringify(latest?.activity ?? {});
      if (!heading.includes(`${i.id} · `) || !heading.includes(` · ${i.status}`)) problems.push(`incident ${i.id}: the card's latest content does not show its status ${i.status}`);
    }
    const alertToCardMs: number[] = [];
    for (const p of plan) {
      const a = answers[p.seq];
      if (a?.status !== 202 || !a.created || !a.incidentId) continue;
      const card = cardsOf.get(a.incidentId)?.find((x) => c.connector.messages.has(x.activityId));
      if (card) alertToCardMs.push(card.at - a.startedAt);
    }
    return {
      problems, incidents: incidents.length, stormIncidents: incidents.filter((i) => i.subject_upn.startsWith('storm:')).length,
      accepted, refused400, alertToCardMs, removedDuplicates,
    };
  } finally {
    await db.end();
  }
}

/** The handoff threads at the connector, by shift name: each shift's handoff must be posted at most once. */
export function handoffThreads(c: StormCluster): Map<string, number> {
  const out = new Map<string, number>();
  for (const x of c.connector.calls) {
    const m = /^Shift handoff: (.+)$/.exec(String(x.activity.summary ?? ''));
    if (x.kind === 'createConversation' && m) out.set(m[1], (out.get(m[1]) ?? 0) + 1);
  }
  return out;
}

/** Requests at the Graph emulator that changed one user (by object id or UPN), per kind. */
export function graphChangesFor(c: StormCluster, tenantId: string, objectId: string, upn: string): { disable: number; revoke: number; passwordReset: number } {
  const state = c.peers.sandbox.graph.state;
  const mine = state.requests.filter((r) => r.tokenTenantId?.toLowerCase() === tenantId.toLowerCase() && r.status < 300 &&
    (r.path.toLowerCase().includes(`/users/${objectId.toLowerCase()}`) || r.path.toLowerCase().includes(`/users/${encodeURIComponent(upn).toLowerCase()}`) || r.path.toLowerCase().includes(`/users/${upn.toLowerCase()}`)));
  const body = (r: { body?: unknown }) => (r.body ?? {}) as { accountEnabled?: unknown; passwordProfile?: unknown };
  return {
    disable: mine.filter((r) => r.method === 'PATCH' && body(r).accountEnabled === false).length,
    revoke: state.revocations.filter((r) => r.userId === objectId).length,
    passwordReset: mine.filter((r) => r.method === 'PATCH' && body(r).passwordProfile !== undefined).length,
  };
}

// ------------------------------------------------------------------------------- figures

export interface ProcFigures { pid: number; rssPeakMiB: number; cpuSeconds: number }

/** Peak RSS (VmHWM) and CPU time (utime + stime) of a live process, from /proc. */
export function procFigures(pid: number): ProcFigures | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12] are utime and stime (fields 14 and 15 of proc(5)), in clock ticks
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { pid, rssPeakMiB: hwm / 1024, cpuSeconds: ticks / 100 };
  } catch {
    return undefined;
  }
}

/** Samples, every `everyMs`, each replica's /proc figures (the last seen per pid) and the database's connection count (peak). */
export function startSampler(c: StormCluster, everyMs = 500): { stop(): Promise<{ procs: Map<number, ProcFigures>; pgConnectionsPeak: number }> } {
  const procs = new Map<number, ProcFigures>();
  let peak = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const pid of c.allReplicaPids) {
        const f = procFigures(pid);
        const seen = procs.get(pid);
        // a process being reaped reads as zero: keep the highest figures seen
        if (f) procs.set(pid, { pid, rssPeakMiB: Math.max(f.rssPeakMiB, seen?.rssPeakMiB ?? 0), cpuSeconds: Math.max(f.cpuSeconds, seen?.cpuSeconds ?? 0) });
      }
      const db = new Client({ connectionString: c.storeUrl, connectionTimeoutMillis: 1_000 });
      // the server restarting under a sample ends the connection with an 'error' event: no sample,
      // never an unhandled event that ends the harness
      db.on('error', () => undefined);
      try {
        await db.connect();
        const r = await db.query<{ n: string }>("select count(*) as n from pg_stat_activity where datname = current_database() and application_name like 'teams-ir-bot%'");
        peak = Math.max(peak, Number(r.rows[0].n));
      } catch {
        /* the server is restarting: no sample */
      } finally {
        await db.end().catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { stop: async () => { stopped = true; await loop; return { procs, pgConnectionsPeak: peak }; } };
}

export function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
