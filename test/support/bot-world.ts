import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { CONTOSO } from '../../src/sandbox/contoso';
import { startGraphEmulator, type GraphEmulator } from '../../src/sandbox/graph/emulator';
import type { EmulatorState } from '../../src/sandbox/graph/state';
import { startServiceNowEmulator, type ServiceNowEmulator } from '../../src/sandbox/servicenow/emulator';
import { startFortiOsEmulator, contosoFortiGateState, type FortiOsEmulator } from '../../src/sandbox/fortios/fortios-emulator';
import { startSandboxRadius, type SandboxRadius } from '../../src/sandbox/radius/start-sandbox-radius';
import { sandboxCustomers, SANDBOX_SECRETS, type SandboxEndpoints } from '../../src/sandbox/sandbox-customers';
import { writeSandboxCustomersFile } from '../../src/sandbox/sandbox-customers-file';
import { openStore } from '../../src/store/open-store';
import type { Store } from '../../src/store/store';
import { contosoDirectoryOn } from '../../src/sandbox/samba/start-sandbox-samba';
import type { SambaDc } from '../../src/sandbox/samba/samba-dc';
import { syncAdmAvanceToEntra } from '../../src/sandbox/start-sandbox';
import { createTestDatabase, type StoreDialectName, type TestDatabase } from './store-factory';
import { startRecordedConnector, type RecordedConnector } from './bot-connector-recorder';

/**
 * Everything around a bot process that must outlive it in the crash tests: Contoso's emulated
 * Graph, ServiceNow and FortiGate, a real FreeRADIUS as the NAS, the recorded Bot Connector, the
 * database, and the customers file pointing at all of them. The bot child gets `childEnv()`.
 */
export interface BotWorld {
  dir: string;
  customersFile: string;
  db: TestDatabase;
  /** the test's own connection to the bot's database */
  store: Store;
  graph: GraphEmulator;
  serviceNow: ServiceNowEmulator;
  fortigate: FortiOsEmulator;
  radius: SandboxRadius;
  connector: RecordedConnector;
  /** the environment of `node src/main.ts` for this world (sandbox mode, no Playground) */
  childEnv(): Record<string, string>;
  close(): Promise<void>;
}

export interface BotWorldOptions {
  /**
   * Contoso's on-premises DC (a running Samba the caller owns and stops): the customers file gets
   * its activeDirectory section, the bot its secrets, and Entra's adm-avance is synced from it.
   */
  samba?: SambaDc;
}

export async function startBotWorld(dialect: StoreDialectName, opts: BotWorldOptions = {}): Promise<BotWorld> {
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'irbot-world-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const db = await createTestDatabase(dialect);
    closers.push(() => db.dispose());
    const graph = await startGraphEmulator({ port: 0, host: '127.0.0.1' });
    closers.push(() => graph.close());
    const serviceNow = await startServiceNowEmulator({
      port: 0,
      users: [{ username: CONTOSO.servicenow.username, password: CONTOSO.servicenow.password, roles: ['sn_si.basic', 'sn_si.write'] }],
    });
    closers.push(() => serviceNow.close());
    const fortigate = await startFortiOsEmulator({
      port: 0,
      hostname: 'FGT-CONTOSO-01',
      users: [{ username: CONTOSO.fortigate.username, password: CONTOSO.fortigate.password }],
      state: contosoFortiGateState(),
    });
    closers.push(() => fortigate.close());
    const radius = await startSandboxRadius({ nasPort: 0, accounting: true });
    closers.push(() => radius.close());
    const connector = await startRecordedConnector();
    closers.push(() => connector.close());

    const endpoints: SandboxEndpoints = {
      graphUrl: graph.url,
      authorityHost: graph.authorityHost,
      serviceNowUrl: serviceNow.url,
      fortigate: { port: fortigate.port, hostKeySha256: fortigate.hostKeySha256 },
      nas: { coaPort: radius.nasPort },
      ...(radius.accountingDir ? { accounting: { kind: 'detail-local' as const, directory: radius.accountingDir } } : {}),
    };
    const directory = opts.samba ? contosoDirectoryOn(opts.samba) : undefined;
    if (directory) {
      endpoints.activeDirectory = directory.activeDirectory;
      syncAdmAvanceToEntra(graph.state, directory.admAvance);
    }
    // Written as the sandbox writes its own (marker line, inside SANDBOX_DATA_DIR): the sandbox refuses any other.
    const customersFile = writeSandboxCustomersFile(path.join(dir, 'sandbox'), sandboxCustomers(endpoints));

    const store = await openStore(db.url);
    closers.push(() => store.close());
    // What the bot learns when it is installed in the MSP's team: here, the recorded connector's #sec-ir.
    await store.putRef('teams:channel', connector.channelRef());

    return {
      dir, customersFile, db, store, graph, serviceNow, fortigate, radius, connector, close,
      childEnv: () => ({
        ...SANDBOX_SECRETS,
        ...directory?.env,
        SANDBOX_GRAPH_CA_PEM: graph.caPem,
        IR_MODE: 'sandbox',
        MicrosoftAppId: '',
        CUSTOMERS_FILE: customersFile,
        STORE_URL: db.url,
        SANDBOX_PLAYGROUND: 'false',
        SANDBOX_DATA_DIR: path.join(dir, 'sandbox'),
        PORT: '0',
        HOST: '127.0.0.1',
        IR_QUIET_BANNER: 'true',
      }),
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The sample Defender alert (test/fixtures/graph/alert-impossible-travel.json) with a fresh id and times. */
export function sampleAlert(): Record<string, unknown> {
  const sample = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/graph/alert-impossible-travel.json'), 'utf8')) as Record<string, unknown>;
  const now = Date.now();
  return {
    ...sample,
    id: `da${now}_${randomBytes(3).toString('hex')}`,
    createdDateTime: new Date(now - 120_000).toISOString(),
    lastUpdateDateTime: new Date(now - 60_000).toISOString(),
  };
}

/**
 * Defender for Identity's alert on CONTOSO\adm-avance (test/fixtures/graph/alert-mdi-domain-admin.json),
 * naming the account by the SID the DC generated, as `npm run alert -- mdi` does; fresh id and times.
 */
export function mdiAlert(sid: string): Record<string, unknown> {
  const raw = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/graph/alert-mdi-domain-admin.json'), 'utf8')) as Record<string, unknown>;
  const evidence = (raw.evidence as Array<Record<string, unknown>>).map((e) => (e.userAccount ? { ...e, userAccount: { ...(e.userAccount as object), userSid: sid } } : e));
  const now = Date.now();
  const at = (min: number) => new Date(now - min * 60_000).toISOString();
  const id = `da${now}_${randomBytes(4).toString('hex')}`;
  return {
    ...raw, evidence, id, providerAlertId: id,
    createdDateTime: at(2), lastUpdateDateTime: at(1), firstActivityDateTime: at(55), lastActivityDateTime: at(5),
  };
}

/** POST /api/alerts with the sandbox token (the sample alert unless another is given); returns the incident id. */
export async function fireAlert(port: number, alert: Record<string, unknown> = sampleAlert()): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/api/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sandbox-token' },
    body: JSON.stringify(alert),
  });
  const body = (await res.json()) as { incidentId?: string };
  if (res.status !== 202 || !body.incidentId) throw new Error(`the alert was not accepted: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body.incidentId;
}

export interface GraphCounts {
  /** PATCH /users/{id} with accountEnabled=false */
  disable: number;
  /** POST /users/{id}/revokeSignInSessions received */
  revokeRequests: number;
  /** revocations the tenant applied to this user */
  revocations: number;
  /** PATCH /users/{id} with a passwordProfile */
  passwordResets: number;
  /** POST /identityProtection/riskyUsers/confirmCompromised */
  confirmCompromised: number;
}

/** What Contoso's Graph tenant received that changes the user (every request, answered or still in flight). */
export function graphCounts(state: EmulatorState, userId: string): GraphCounts {
  const userPath = /^\/users\/[^/?]+$/;
  const patches = state.requests.filter((r) => r.method === 'PATCH' && userPath.test(r.path));
  const body = (r: { body?: unknown }) => (r.body ?? {}) as { accountEnabled?: unknown; passwordProfile?: unknown };
  return {
    disable: patches.filter((r) => body(r).accountEnabled === false).length,
    revokeRequests: state.requests.filter((r) => r.method === 'POST' && /^\/users\/[^/]+\/revokeSignInSessions$/.test(r.path)).length,
    revocations: state.revocations.filter((r) => r.userId === userId).length,
    passwordResets: patches.filter((r) => body(r).passwordProfile !== undefined).length,
    confirmCompromised: state.requests.filter((r) => r.method === 'POST' && r.path === '/identityProtection/riskyUsers/confirmCompromised').length,
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false | null | ''>, ms = 30_000, everyMs = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The state the database reaches once a killed bot's leases run out (the engine's lease is 60 s):
 * every running action of the incident gets a lease that ended an hour ago, through the Store port
 * (a renewal by the dead owner, dated in the past). Returns the step ids it released.
 */
export async function expireLeasesOfDeadWorker(store: Store, incidentId: string): Promise<string[]> {
  const released: string[] = [];
  for (const a of await store.listActions(incidentId)) {
    if (a.status !== 'running' || !a.leaseOwner) continue;
    if (await store.renewLease(a.id, a.leaseOwner, 1, new Date(Date.now() - 3600_000))) released.push(a.stepId);
  }
  return released;
}
