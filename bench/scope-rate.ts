/**
 * Scope throughput (issue 13: "completed scope steps at about 7 a second"): N single-account
 * incidents opened at once (intake, 20 in flight, storms off) on ONE engine with the production
 * defaults (8 actions at a time, 1 s poll), the real Graph connectors against the Graph emulator in
 * a child process of its own (as the cluster's peers are apart from the replicas), on PostgreSQL
 * and on SQLite. Measured: scope steps finished (succeeded or failed: lookup, sign-ins, devices,
 * directory audits, M365 audit) per second, from the first alert to the last scope step; and where
 * the time goes: the share of the 8 slots in use (slot-seconds of runClaimed, less the waits
 * outside a slot, over wall × 8), each step's slot time (median), the engine's rounds (whole rounds
 * over every live incident, and the targeted ones), the store's calls and their mean time, and the
 * CPU of the engine process, the emulator and the PostgreSQL backends, per scope step.
 *
 * Arms, alternated per run: `graph` (the real connectors), `held` (the same, but the engine's
 * ctx.wait taken away: the M365 audit query's polls hold their slot, as before the engine gave
 * one), `instant` (every action of the procedure replaced by one that returns at once: the engine
 * and the store alone, the ceiling our own code sets). Median of runs per arm and store; the ratio
 * of the first two arms named.
 *
 *   npx tsx bench/scope-rate.ts [incidents=150] [runs=3] [postgres,sqlite] [graph,held,instant]
 *   BENCH_PROF=<dir>: each run's CPU profile of this process (the engine) into <dir>
 */
import { execSync, fork, type ChildProcess } from 'node:child_process';
import { Client } from 'pg';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import inspector from 'node:inspector';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { z } from 'zod';
import { customerSchema, type CustomerConfig } from '../src/config/customers';
import { EnvFileSecretStore } from '../src/config/secrets';
import type { ActionDef } from '../src/connectors/types';
import { graphActions } from '../src/connectors/graph/actions';
import { GraphTenants } from '../src/connectors/graph/graph-tenants';
import { createIdentityActions } from '../src/connectors/identity/actions';
import { radiusActions } from '../src/connectors/radius/actions';
import { createFirewallActions } from '../src/connectors/firewall/actions';
import { switchActions } from '../src/connectors/switch';
import { threatFeedActions } from '../src/connectors/threat-feed';
import { alertSourceActions } from '../src/connectors/alert-source/actions';
import { serviceNowActions } from '../src/connectors/servicenow/actions';
import { activeDirectoryActions } from '../src/connectors/active-directory/actions';
import { createEvidenceActions } from '../src/evidence/actions';
import { ActionRegistry } from '../src/engine/action-registry';
import { Engine } from '../src/engine/engine';
import { ProcedureCatalog } from '../src/engine/procedure';
import { Runner } from '../src/engine/runner';
import { Scheduler } from '../src/engine/scheduler';
import { IntakeService } from '../src/intake/intake-service';
import { actionPorts } from '../src/operations/action-ports';
import { generatedSandboxTenantId } from '../src/sandbox/generated-tenants';
import { ALL_GRAPH_PERMISSIONS } from '../src/sandbox/graph/story';
import type { EmulatorTenant, EmulatorUser } from '../src/sandbox/graph/state';
import { openStore } from '../src/store/open-store';
import type { Store } from '../src/store/store';
import { createTestDatabase, type StoreDialectName } from '../test/support/store-factory';

type Arm = 'graph' | 'held' | 'instant';
const SCOPE_STEPS = new Set(['entra-lookup', 'entra-signins', 'account-devices', 'entra-audits', 'm365-audit']);
const CUSTOMERS = 10;
const INFLIGHT = 20;
const quiet = pino({ level: 'silent' });

// ------------------------------------------------------------------ the emulator's child process

interface Generated { id: string; name: string; tenantId: string; domain: string; clientId: string; secret: string }

function generated(i: number): Generated {
  const id = `rate-${String(i).padStart(3, '0')}`;
  return {
    id, name: `Rate ${i}`, tenantId: generatedSandboxTenantId(500 + i), domain: `${id}.example.com`,
    clientId: `5a4db0c5-0002-4000-8000-${i.toString(16).padStart(12, '0')}`, secret: `sandbox-graph-${id}`,
  };
}

const userId = (c: Generated, k: number) => `${(0x10000000 + k).toString(16)}-5a4d-4000-8000-${c.tenantId.slice(-12)}`;

async function emulatorChild(usersPerCustomer: number): Promise<void> {
  const { startGraphEmulator } = await import('../src/sandbox/graph/emulator');
  const tenants: EmulatorTenant[] = [];
  for (let i = 1; i <= CUSTOMERS; i++) {
    const c = generated(i);
    const users = new Map<string, EmulatorUser>();
    for (let k = 0; k < usersPerCustomer; k++) {
      const upn = `user${k}@${c.domain}`;
      users.set(userId(c, k), {
        id: userId(c, k), userPrincipalName: upn, displayName: `User ${k}`, mail: upn, accountEnabled: true,
        signInSessionsValidFromDateTime: new Date(Date.now() - 86_400_000).toISOString(),
        lastPasswordChangeDateTime: new Date(Date.now() - 30 * 86_400_000).toISOString(),
        passwordProfile: null, roles: [], groups: [],
      });
    }
    tenants.push({
      id: c.tenantId, name: c.name, domain: c.domain, hasP2: false,
      apps: new Map([[c.clientId, { secret: c.secret, permissions: new Set(ALL_GRAPH_PERMISSIONS) }]]),
      users, alerts: new Map(), signIns: [], directoryAudits: [], m365Records: [], auditQueries: new Map(),
      riskyUsers: new Map(), roleTemplates: {},
    });
  }
  const emu = await startGraphEmulator({ tenants });
  const cpu0 = process.cpuUsage();
  process.on('message', (m: { ask?: string }) => {
    if (m.ask === 'cpu') {
      const u = process.cpuUsage(cpu0);
      process.send!({ cpuMs: (u.user + u.system) / 1000, requests: emu.state.requests.length });
    }
  });
  process.on('disconnect', () => { void emu.close().then(() => process.exit(0)); });
  process.send!({ url: emu.url, authorityHost: emu.authorityHost, caPem: emu.caPem });
}

interface EmulatorHandle { url: string; authorityHost: string; caPem: string; proc: ChildProcess; cpu(): Promise<{ cpuMs: number; requests: number }> }

async function startEmulatorChild(usersPerCustomer: number): Promise<EmulatorHandle> {
  const proc = fork(__filename, ['--emulator', String(usersPerCustomer)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const first = await new Promise<{ url: string; authorityHost: string; caPem: string }>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as never));
    proc.once('exit', (code) => reject(new Error(`the emulator child exited (${code})`)));
  });
  return {
    ...first, proc,
    cpu: () => new Promise((resolve) => { proc.once('message', (m) => resolve(m as never)); proc.send({ ask: 'cpu' }); }),
  };
}

// ------------------------------------------------------------------------------- the measured run

function customersFor(emu: EmulatorHandle): { customers: CustomerConfig[]; secrets: EnvFileSecretStore; all: Generated[] } {
  const all = Array.from({ length: CUSTOMERS }, (_, k) => generated(k + 1));
  const env: Record<string, string> = { RATE_GRAPH_CA: emu.caPem };
  const customers = all.map((c) => {
    env[`${c.id.toUpperCase().replace(/-/g, '_')}_GRAPH_SECRET`] = c.secret;
    return customerSchema.parse({
      id: c.id, name: c.name, tenantId: c.tenantId, domains: [c.domain],
      graph: {
        clientId: c.clientId, credential: { type: 'secret', secretRef: `env:${c.id.toUpperCase().replace(/-/g, '_')}_GRAPH_SECRET` },
        authorityHost: emu.authorityHost, baseUrl: emu.url, caCertificateRef: 'env:RATE_GRAPH_CA', hasP2: false,
      },
      contacts: { ciso: { name: 'CISO', email: `ciso@${c.domain}` }, onCall: { name: 'On call', email: `oncall@${c.domain}` } },
      approvers: { objectIds: ['00000000-0000-4000-8000-000000000020'] },
      storm: { enabled: false, minUsers: 10, windowMinutes: 10 },
    });
  });
  return { customers, secrets: new EnvFileSecretStore(env), all };
}

/** Every action of the registry as one that returns at once (same names and inputs): the engine and the store alone. */
function instantActions(defs: readonly ActionDef[]): ActionDef[] {
  return defs.map((d): ActionDef => ({
    ...d,
    input: z.record(z.unknown()),
    async run() { return { output: { upn: 'x@example.com', objectId: null, placement: 'cloud', allSignIns: [], audits: [], sessions: [], active: [], ports: [] }, summary: `instant ${d.name}`, raw: [] }; },
  }));
}

/** The real actions with the engine's ctx.wait taken away: a poll's wait holds its slot (as before the engine gave one). */
function holdingSlots(defs: readonly ActionDef[]): ActionDef[] {
  return defs.map((d): ActionDef => ({ ...d, run: (i, ctx) => d.run(i, { ...ctx, wait: undefined }) }));
}

interface Timing { count: number; ms: number }

/** The engine's rooms are private; the bench times them through their prototypes (restored after the run). */
function instrument(): { rounds: { whole: Timing; targeted: Timing }; slots: Map<string, number[]>; waits: Timing; restore(): void } {
  const rounds = { whole: { count: 0, ms: 0 }, targeted: { count: 0, ms: 0 } };
  const slots = new Map<string, number[]>();
  const waits = { count: 0, ms: 0 };
  // the engine's wait outside a slot (absent before it had one): its time is not slot time
  const sched = Scheduler.prototype as unknown as { waitOutsideSlot?: (ms: number, signal?: AbortSignal) => Promise<void> };
  const waitOutside = sched.waitOutsideSlot;
  if (waitOutside) {
    sched.waitOutsideSlot = async function (this: unknown, ms: number, signal?: AbortSignal) {
      const t = performance.now();
      try { return await waitOutside.call(this, ms, signal); } finally { waits.count++; waits.ms += performance.now() - t; }
    };
  }
  const proto = Scheduler.prototype as unknown as { round: (awaitRuns: boolean, only?: readonly string[]) => Promise<unknown> };
  const round = proto.round;
  proto.round = async function (this: unknown, awaitRuns: boolean, only?: readonly string[]) {
    const t = performance.now();
    try { return await round.call(this, awaitRuns, only); } finally {
      const r = only ? rounds.targeted : rounds.whole;
      r.count++; r.ms += performance.now() - t;
    }
  };
  const run = Runner.prototype.runClaimed;
  Runner.prototype.runClaimed = async function (this: Runner, a, known) {
    const t = performance.now();
    try { return await run.call(this, a, known); } finally {
      const list = slots.get(a.stepId) ?? [];
      list.push(performance.now() - t);
      slots.set(a.stepId, list);
    }
  };
  return { rounds, slots, waits, restore() { proto.round = round; Runner.prototype.runClaimed = run; if (waitOutside) sched.waitOutsideSlot = waitOutside; } };
}

/** The store with each method's calls and time counted, and the end of every scope step seen. */
function countingStore(store: Store, onScopeEnd: (stepId: string, at: number) => void): { store: Store; calls: Map<string, Timing> } {
  const calls = new Map<string, Timing>();
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      return async (...args: unknown[]) => {
        const t = performance.now();
        try {
          const r = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (prop === 'transitionAction' && r) {
            const to = (args[1] as { to?: string }).to;
            const stepId = String(args[0]).split(':').at(-1)!;
            if ((to === 'succeeded' || to === 'failed') && SCOPE_STEPS.has(stepId)) onScopeEnd(stepId, performance.now());
          }
          return r;
        } finally {
          const c = calls.get(prop) ?? { count: 0, ms: 0 };
          c.count++; c.ms += performance.now() - t;
          calls.set(prop, c);
        }
      };
    },
  });
  return { store: proxy, calls };
}

interface RunResult {
  steps: number; seconds: number; perSecond: number; failed: number;
  slotShare: number; slotMs: Record<string, number>; rounds: { whole: Timing; targeted: Timing };
  storeMs: number; storeCalls: number; topCalls: string; cpuMs: number; waitedMs: number; pgCpuMs: number; emulatorCpuMs: number; graphRequests: number;
}

/** CPU ms of the PostgreSQL backends serving one database, sampled (a backend may end before the run does). */
function pgBackendCpu(url: string): { stop(): Promise<number> } {
  const seen = new Map<number, number>();
  const tick = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
  const db = new Client({ connectionString: url });
  let timer: NodeJS.Timeout | undefined;
  const sample = async () => {
    const pids = (await db.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()')).rows.map((r) => r.pid);
    for (const pid of pids) {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        seen.set(pid, ((Number(f[11]) + Number(f[12])) * 1000) / tick);
      } catch { /* ended meanwhile */ }
    }
  };
  const ready = db.connect().then(async () => { await sample(); timer = setInterval(() => { void sample().catch(() => undefined); }, 500); });
  const before = ready.then(() => new Map(seen));
  return {
    async stop() {
      await ready;
      if (timer) clearInterval(timer);
      await sample().catch(() => undefined);
      await db.end();
      const b = await before;
      return [...seen].reduce((n, [pid, ms]) => n + ms - (b.get(pid) ?? 0), 0);
    },
  };
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; };

async function once(dialect: StoreDialectName, arm: Arm, incidents: number, emu: EmulatorHandle, run: number): Promise<RunResult> {
  const db = await createTestDatabase(dialect);
  const raw = await openStore(db.url);
  const ends: number[] = [];
  let failed = 0;
  const { store, calls } = countingStore(raw, (_step, at) => { ends.push(at); });
  const { customers, secrets, all } = customersFor(emu);
  const byId = new Map(customers.map((c) => [c.id, c]));
  const byTenant = new Map(customers.map((c) => [c.tenantId.toLowerCase(), c]));
  const real = [
    ...graphActions, ...radiusActions, ...createFirewallActions(), ...switchActions, ...threatFeedActions, ...alertSourceActions, ...serviceNowActions, ...activeDirectoryActions,
    ...createIdentityActions({ adActions: activeDirectoryActions, graph: graphActions }),
    ...createEvidenceActions({ store, customers: (id) => byId.get(id), reportUrl: (id) => `/reports/${id}.md` }),
  ];
  const registry = new ActionRegistry(arm === 'graph' ? real : arm === 'held' ? holdingSlots(real) : instantActions(real));
  const procedures = ProcedureCatalog.load({ registry, customers });
  const graphTenants = new GraphTenants({ idleReleaseMs: 900_000, log: quiet });
  const probe = instrument();
  const engine = new Engine({
    store, registry, procedures, secrets, log: quiet, customers: (id) => byId.get(id),
    ports: actionPorts(store, { graph: graphTenants }),
    notifier: { incidentChanged: () => undefined, approvalRequested: () => undefined, approvalDecided: () => undefined, stepEvidence: () => undefined },
  });
  const intake = new IntakeService({
    store, log: quiet, customerByTenant: (t) => byTenant.get(t.toLowerCase()),
    onIncidentCreated: (id) => { engine.startIncident(id).catch((e) => console.error('start failed', e)); },
  });
  const fixture = JSON.parse(readFileSync('test/fixtures/graph/alert-impossible-travel.json', 'utf8')) as Record<string, unknown> & { evidence: Array<Record<string, unknown>> };
  const tag = `r${run}${arm[0]}${Date.now().toString(36)}`;
  const alertFor = (i: number) => {
    const c = all[i % all.length];
    const local = `user${Math.floor(i / all.length)}`;
    const now = Date.now();
    return {
      ...fixture, id: `${tag}-${i}`, providerAlertId: `${tag}-${i}`, tenantId: c.tenantId, detectorId: `ImpossibleTravel-${tag}-${i}`,
      createdDateTime: new Date(now - 120_000).toISOString(), lastUpdateDateTime: new Date(now - 60_000).toISOString(),
      evidence: fixture.evidence.map((e) => e['@odata.type'] === '#microsoft.graph.security.userEvidence'
        ? { ...e, userAccount: { ...(e.userAccount as object), accountName: local, domainName: null, azureAdUserId: null, userSid: null, displayName: local, userPrincipalName: `${local}@${c.domain}` } }
        : e),
    };
  };
  const prof = process.env.BENCH_PROF;
  const session = prof ? new inspector.Session() : undefined;
  const post = <T>(method: string, params?: object) => new Promise<T>((res, rej) => session!.post(method, params ?? {}, (e, r) => (e ? rej(e) : res(r as T))));
  if (session) { session.connect(); await post('Profiler.enable'); await post('Profiler.start'); }
  const emuCpu0 = await emu.cpu();
  const pgCpu = dialect === 'postgres' ? pgBackendCpu(db.url) : undefined;
  const cpu0 = process.cpuUsage();
  engine.start();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: INFLIGHT }, async () => {
    for (let i = next++; i < incidents; i = next++) await intake.receive(alertFor(i), 'webhook', { kind: 'all' } as never);
  }));
  const expected = incidents * SCOPE_STEPS.size;
  const deadline = Date.now() + 600_000;
  while (ends.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const seconds = (Math.max(...ends) - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const emuCpu1 = await emu.cpu();
  const pgCpuMs = pgCpu ? await pgCpu.stop() : NaN;
  await engine.stop();
  if (session) {
    const { profile } = await post<{ profile: unknown }>('Profiler.stop');
    await mkdir(prof!, { recursive: true });
    writeFileSync(path.join(prof!, `scope-rate-${dialect}-${arm}-${run}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
  probe.restore();
  graphTenants.close();
  // failures among the scope steps (a failed step still counts as finished, as the storm bench counts)
  const ids = (await raw.listIncidents({ open: true, limit: 10_000 })).map((i) => i.id);
  for (const id of ids) failed += (await raw.listActions(id)).filter((a) => SCOPE_STEPS.has(a.stepId) && a.status === 'failed').length;
  await raw.close();
  await db.dispose();
  const slotTotal = [...probe.slots.values()].reduce((n, xs) => n + xs.reduce((a, b) => a + b, 0), 0) - probe.waits.ms;
  const storeMs = [...calls.values()].reduce((n, c) => n + c.ms, 0);
  const storeCalls = [...calls.values()].reduce((n, c) => n + c.count, 0);
  const top = [...calls.entries()].sort((a, b) => b[1].count - a[1].count).slice(0, 6).map(([k, v]) => `${k} ${v.count}`).join(', ');
  return {
    steps: ends.length, seconds, perSecond: ends.length / seconds, failed,
    slotShare: slotTotal / (seconds * 1000 * 8),
    slotMs: Object.fromEntries([...probe.slots.entries()].map(([k, xs]) => [k, median(xs)])),
    rounds: probe.rounds, storeMs, storeCalls, topCalls: top,
    waitedMs: probe.waits.ms, pgCpuMs,
    cpuMs: (cpu.user + cpu.system) / 1000, emulatorCpuMs: emuCpu1.cpuMs - emuCpu0.cpuMs, graphRequests: emuCpu1.requests - emuCpu0.requests,
  };
}

function show(label: string, r: RunResult): void {
  const slot = Object.entries(r.slotMs).filter(([k]) => SCOPE_STEPS.has(k)).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
  console.log(`  ${label}: ${r.steps} scope steps in ${r.seconds.toFixed(1)} s = ${r.perSecond.toFixed(1)}/s (${r.failed} failed); slots in use ${(100 * r.slotShare).toFixed(0)} %; slot ms median: ${slot}`);
  console.log(`    rounds: ${r.rounds.whole.count} whole (${(r.rounds.whole.ms / Math.max(1, r.rounds.whole.count)).toFixed(0)} ms each), ${r.rounds.targeted.count} targeted (${(r.rounds.targeted.ms / Math.max(1, r.rounds.targeted.count)).toFixed(0)} ms each); store: ${r.storeCalls} calls (${(r.storeCalls / r.steps).toFixed(1)} a step; ${top(r)}), ${(r.storeMs / 1000).toFixed(1)} s summed`);
  console.log(`    CPU: engine process ${(r.cpuMs / 1000).toFixed(1)} s (${(100 * r.cpuMs / 1000 / r.seconds).toFixed(0)} % of one core), emulator ${(r.emulatorCpuMs / 1000).toFixed(1)} s for ${r.graphRequests} Graph requests${Number.isNaN(r.pgCpuMs) ? '' : `, PostgreSQL backends ${(r.pgCpuMs / 1000).toFixed(1)} s`}; per scope step ${cpuPerStep(r).toFixed(0)} ms`);
  console.log(`    waits outside a slot: ${(r.waitedMs / 1000).toFixed(1)} s summed; store call mean ${(r.storeMs / r.storeCalls).toFixed(1)} ms`);
}
const top = (r: RunResult) => r.topCalls;
/** CPU of every process doing the work (engine, emulator, PostgreSQL backends) per scope step finished */
const cpuPerStep = (r: RunResult) => (r.cpuMs + r.emulatorCpuMs + (Number.isNaN(r.pgCpuMs) ? 0 : r.pgCpuMs)) / r.steps;

async function main(): Promise<void> {
  const incidents = Number(process.argv[2] ?? 150);
  const runs = Number(process.argv[3] ?? 3);
  const dialects = (process.argv[4] ?? 'postgres,sqlite').split(',') as StoreDialectName[];
  const arms = (process.argv[5] ?? 'graph,held,instant').split(',') as Arm[];
  const emu = await startEmulatorChild(Math.ceil(incidents / CUSTOMERS));
  try {
    console.log(`scope rate: ${incidents} single-account incidents at once (${INFLIGHT} in flight) over ${CUSTOMERS} customers, one engine (8 slots, 1 s poll), Graph emulator in its own process`);
    for (const dialect of dialects) {
      const results = new Map<string, RunResult[]>(arms.map((a) => [a, []]));
      for (let run = 1; run <= runs; run++) {
        for (const arm of arms) {
          const r = await once(dialect, arm, incidents, emu, run);
          results.get(arm)!.push(r);
          show(`${dialect} ${arm} run ${run}`, r);
        }
      }
      for (const arm of arms) {
        const rs = results.get(arm)!;
        console.log(`${dialect} ${arm}: median ${median(rs.map((r) => r.perSecond)).toFixed(1)} scope steps/s (runs: ${rs.map((r) => r.perSecond.toFixed(1)).join(', ')}); slots in use ${(100 * median(rs.map((r) => r.slotShare))).toFixed(0)} %; CPU per scope step ${median(rs.map(cpuPerStep)).toFixed(0)} ms`);
      }
      const [a, b] = arms;
      if (a && b && a !== b) console.log(`${dialect} ratio ${a}/${b}: ${(median(results.get(a)!.map((r) => r.perSecond)) / median(results.get(b)!.map((r) => r.perSecond))).toFixed(2)}`);
    }
  } finally {
    emu.proc.disconnect();
  }
}

if (process.argv[2] === '--emulator') {
  emulatorChild(Number(process.argv[3])).catch((e) => { console.error(e); process.exit(1); });
} else {
  main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
}
