import { isConnectionError } from './store/dialect';
import { randomUUID } from 'node:crypto';
import dotenv from 'dotenv';
import { hostname } from 'node:os';
import { loadEnv } from './config/env';
import { loadCustomersFile, ConfigError, type CustomersFile } from './config/customers';
import { EnvFileSecretStore } from './config/secrets';
import { log } from './log';
import { openReplicaStore } from './store/open-store';
import { IntakeService } from './intake/intake-service';
import { createServer } from './server';
import { IntakeCredentials } from './intake/intake-credentials';
import { ActionRegistry } from './engine/action-registry';
import { ProcedureCatalog, ProcedureError } from './engine/procedure';
import { Engine } from './engine/engine';
import { graphActions } from './connectors/graph/actions';
import { radiusActions } from './connectors/radius/actions';
import { createFirewallActions } from './connectors/firewall/actions';
import { switchActions } from './connectors/switch';
import { serviceNowActions } from './connectors/servicenow/actions';
import { activeDirectoryActions } from './connectors/active-directory/actions';
import { createIdentityActions } from './connectors/identity/actions';
import { startGraphPoller } from './intake/graph-poller';
import { handleFeedRequest, FeedExpiryJob, threatFeedActions } from './connectors/threat-feed';
import { alertSourceActions } from './connectors/alert-source/actions';
import { actionPorts } from './operations/action-ports';
import { GraphTenants } from './connectors/graph/graph-tenants';
import { createTeamsBot } from './bot/teams-app';
import { SendQueue } from './bot/send-queue';
import { SharedSendLimiter } from './bot/shared-send-limiter';
import { createBotOperations } from './operations/bot-operations';
import { createEvidenceOperations } from './operations/evidence-operations';
import { AccessControl } from './operations/access-control';
import { checkMemberGroups } from './connectors/graph/member-groups';
import { pinnedConfig } from './bot/conversation-scope';
import { createEvidenceActions } from './evidence/actions';
import { latestReport, reportFileName } from './evidence/report';
import { HandoffScheduler } from './evidence/handoff';
import { loadShiftsFile } from './config/shifts';
import { ReportLinks } from './http/report-link';
import type { Notifier } from './engine/notifier';
import { ReplicaWake } from './replica-wake';
import { ReplicaVersions } from './replica-versions';
import { migrationProvider } from './store/migrations';
import type { Env } from './config/env';
import type { Dialect } from './store/dialect';
import type { MigrationProvider } from 'kysely';
import type { Store } from './store/store';
// Types only (erased at compile time): the sandbox's code is loaded lazily, in sandbox mode alone.
import type { Sandbox } from './sandbox/start-sandbox';
import type { SandboxMode } from './sandbox/sandbox-mode';
import type { AddressInfo } from 'node:net';

export interface RunningApp {
  env: Env;
  port: number;
  store: Store;
  engine: Engine;
  sandbox?: Sandbox;
  playgroundUrl?: string;
  /** re-render an incident's card now (the engine does this on every change it makes) */
  notifyIncident(incidentId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Composition root: environment → customers → store → connectors → engine → bot → HTTP server.
 * In sandbox mode (IR_MODE=sandbox) the emulated customer, its routes and the Playground come up
 * too, loaded lazily from src/sandbox/ so that production never loads them.
 * `npm start` runs it from main(); the end-to-end tests run it in-process.
 */
export async function startApp(source: NodeJS.ProcessEnv = process.env, seams: AppTestSeams = {}): Promise<RunningApp> {
  // What has started is stopped again if a later part fails: no emulator or NAS is left running.
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    return await composeApp(source, cleanups, seams);
  } catch (e) {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    throw e;
  }
}

/**
 * What only tests change, as an argument of startApp (main() never passes it, and no environment
 * variable or file reaches it, so production cannot set it).
 */
export interface AppTestSeams {
  /** this build's migrations, e.g. all but the newest to play an older build beside a newer one */
  migrations?: (dialect: Dialect) => MigrationProvider;
}

async function composeApp(source: NodeJS.ProcessEnv, cleanups: Array<() => Promise<unknown>>, seams: AppTestSeams): Promise<RunningApp> {
  const env = loadEnv(source);
  // The crash tests' hold point lives in src/sandbox (never loaded in production): refused here.
  if (env.mode !== 'sandbox' && source.IR_CRASH_PAUSE) {
    throw new ConfigError('IR_CRASH_PAUSE is a crash-test hook: it works only with IR_MODE=sandbox and NODE_ENV=test; unset it');
  }
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  let customers: CustomersFile;
  let customersFile: string | undefined;
  let sandboxMode: SandboxMode | undefined;
  if (env.mode === 'sandbox') {
    // Loaded here, in sandbox mode only. A require() inside this branch is what tsc compiles
    // `await import()` to (module: commonjs), written out so it also works under tsx's CommonJS
    // hook alone, where import() would reach Node's ESM loader, which cannot load .ts files.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { enterSandbox } = require('./sandbox/sandbox-mode') as typeof import('./sandbox/sandbox-mode');
    sandboxMode = await enterSandbox(env, source, log);
    cleanups.push(() => sandboxMode!.close());
    customers = sandboxMode.customers;
    customersFile = sandboxMode.customersFile;
  } else {
    customersFile = env.CUSTOMERS_FILE!;
    customers = loadCustomersFile(customersFile);
  }
  const sandbox: Sandbox | undefined = sandboxMode?.sandbox;
  // Secrets by reference: the environment, plus the sandbox's own values in sandbox mode.
  const secretEnv = { ...source, ...sandboxMode?.env };
  const secrets = new EnvFileSecretStore(secretEnv);
  const byId = new Map(customers.customers.map((c) => [c.id, c]));
  const shiftsFile = env.SHIFTS_FILE ?? sandboxMode?.shiftsFile;
  const shifts = shiftsFile ? loadShiftsFile(shiftsFile) : undefined;
  if (!shifts) log.warn('SHIFTS_FILE not set: no automatic shift handoff (@ir handoff says so)');
  const byTenant = new Map(customers.customers.map((c) => [c.tenantId.toLowerCase(), c]));

  const migrations = seams.migrations ?? migrationProvider;
  // A database a newer replica has migrated is opened unchanged: this replica then takes no work.
  const { store, newerSchema } = await openReplicaStore(env.STORE_URL, { log, migrations });
  cleanups.push(() => store.close());
  // Report links are signed; their base is known once the server listens (or PUBLIC_BASE_URL).
  let reportLinks: ReportLinks | undefined;
  const reportUrl = (incidentId: string) => reportLinks?.url(incidentId) ?? `/reports/${incidentId}.md`;
  // The MSP mailbox: the sandbox puts its emulator's values into the environment before this.
  const mspEnv = secretEnv;
  // The sandbox's Graph emulator has its own CA: trusted for the MSP tenant too, whether this process
  // started the emulators or runs on a generated customers file beside emulators started elsewhere.
  const sandboxGraphCa = sandboxMode && mspEnv.SANDBOX_GRAPH_CA_PEM ? ('env:SANDBOX_GRAPH_CA_PEM' as const) : undefined;
  const msp = mspEnv.MSP_TENANT_ID && mspEnv.MSP_GRAPH_CLIENT_ID && mspEnv.MSP_MAILBOX ? {
    tenantId: mspEnv.MSP_TENANT_ID,
    clientId: mspEnv.MSP_GRAPH_CLIENT_ID,
    credentialRef: 'env:MSP_GRAPH_CLIENT_SECRET',
    mailbox: mspEnv.MSP_MAILBOX,
    authorityHost: mspEnv.MSP_GRAPH_AUTHORITY_HOST || undefined,
    baseUrl: mspEnv.MSP_GRAPH_BASE_URL || undefined,
    caCertificateRef: sandboxGraphCa,
  } : undefined;
  if (!msp) log.warn('MSP_TENANT_ID / MSP_GRAPH_CLIENT_ID / MSP_MAILBOX not set: CISO emails can go out only by SMTP');
  // Readers' and approvers' groups are resolved in the MSP tenant (the SOC's own directory).
  const mspDirectory = mspEnv.MSP_TENANT_ID && mspEnv.MSP_GRAPH_CLIENT_ID ? {
    tenantId: mspEnv.MSP_TENANT_ID,
    clientId: mspEnv.MSP_GRAPH_CLIENT_ID,
    credential: 'env:MSP_GRAPH_CLIENT_SECRET' as const,
    authorityHost: mspEnv.MSP_GRAPH_AUTHORITY_HOST || undefined,
    baseUrl: mspEnv.MSP_GRAPH_BASE_URL || undefined,
    caCertificateRef: sandboxGraphCa,
  } : undefined;
  const access = new AccessControl({
    customers: customers.customers,
    memberGroups: mspDirectory ? (objectId, groupIds) => checkMemberGroups(mspDirectory, secrets, objectId, groupIds) : undefined,
    admins: (env.IR_ADMIN_OBJECT_IDS ?? '').split(',').map((x) => x.trim()).filter(Boolean),
    log,
  });
  let pinned: ReturnType<typeof pinnedConfig>;
  try {
    pinned = pinnedConfig(env);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const registry = new ActionRegistry(
    graphActions, radiusActions, createFirewallActions(), switchActions, threatFeedActions, alertSourceActions, serviceNowActions, activeDirectoryActions,
    createIdentityActions({ adActions: activeDirectoryActions, graph: graphActions }),
    createEvidenceActions({ store, customers: (id) => byId.get(id), reportUrl, msp }),
  );
  const procedures = ProcedureCatalog.load({ registry, customers: customers.customers, customersFile });

  // The engine and the bot refer to each other (notifications one way, commands the other).
  let notifier: Notifier | undefined;
  let replicaWake: ReplicaWake | undefined;
  const lateNotifier: Notifier = {
    incidentChanged: (id) => notifier?.incidentChanged(id),
    approvalRequested: (a) => notifier?.approvalRequested(a),
    approvalDecided: (a) => {
      // An approval landed on this replica: the others may have the free slot for its step.
      if (a.status === 'approved') replicaWake?.announce(a.incidentId);
      return notifier?.approvalDecided(a);
    },
    approvalVoted: (a) => notifier?.approvalVoted?.(a),
    stepEvidence: (i, s, t) => notifier?.stepEvidence(i, s, t),
  };
  // One Graph per busy customer (token, connections, throttle gate), released when idle.
  const graphTenants = new GraphTenants({ idleReleaseMs: env.GRAPH_IDLE_RELEASE_SECONDS * 1000, log });
  cleanups.push(async () => graphTenants.close());
  const engine = new Engine({
    store, registry, procedures, secrets, log, workerId,
    customers: (id) => byId.get(id),
    ports: actionPorts(store, { crashPause: sandboxMode?.crashPause, graph: graphTenants }),
    notifier: lateNotifier,
    approvalTtlMs: env.APPROVAL_TTL_MINUTES * 60_000,
    leaseMs: env.ENGINE_LEASE_SECONDS * 1000,
    groupMembership: access.groupMembership(),
  });

  const bot = createTeamsBot({
    mode: env.mode,
    appId: env.MicrosoftAppId,
    appPassword: env.MicrosoftAppPassword,
    appType: env.MicrosoftAppType,
    appTenantId: env.MicrosoftAppTenantId,
    channelName: env.IR_CHANNEL_NAME,
    botName: env.BOT_NAME,
    store,
    // Teams allows a bot 7 messages a second in one conversation, 60 in 30 s, and the app 50 a second
    // in a tenant (src/bot/teams-rate-limits.ts). Those counts are kept in the store for all replicas
    // together (the gate); short bursts are also paced at 150 ms here, and a 429 beyond that is waited
    // out with its Retry-After, by every replica.
    queue: new SendQueue({ minGapMs: 150, gate: new SharedSendLimiter({ store }) }),
    ops: createBotOperations({
      engine, customers, botName: env.BOT_NAME,
      evidence: createEvidenceOperations({ store, engine, customers: (id) => byId.get(id), secrets, poster: () => bot.notifier, reportUrl, shifts, log }),
    }),
    customerName: (id) => byId.get(id)?.name ?? id,
    access,
    pinned,
    userSpecificViews: env.mode === 'production',
    log,
    workerId,
  });
  notifier = bot.notifier;

  const intake = new IntakeService({
    store,
    customerByTenant: (t) => byTenant.get(t.toLowerCase()),
    onIncidentCreated: (id) => {
      engine.startIncident(id).catch((e) => {
        // A store restart mid-start is recovered: the scheduler starts every open incident without a
        // procedure (its start claim goes stale after a minute). Said as what it is, not as an error.
        if (isConnectionError(e)) log.warn({ err: e, incidentId: id }, 'procedure not started yet (the store was out of reach); the scheduler starts it');
        else log.error({ err: e, incidentId: id }, 'procedure did not start');
      });
    },
    onIncidentChanged: (id) => { void bot.notifier.incidentChanged(id); },
    log,
  });

  // Replicas on one store run the same procedure versions and schema, or this one takes no work.
  // A database newer than this build refuses it first, whether or not a newer replica is live now.
  const replicaVersions = new ReplicaVersions({
    store, workerId, log,
    runs: { procedures: procedures.refs(), migrations: Object.keys(await migrations(store.dialect).getMigrations()) },
  });
  const skew = newerSchema ? { reason: newerSchema.message, otherReplica: undefined } : await replicaVersions.join();
  const refusal = skew?.reason;
  if (skew) log.error({ otherReplica: skew.otherReplica }, `this replica takes no work: ${skew.reason}`);
  if (!newerSchema) cleanups.push(() => replicaVersions.leave());

  const intakeCredentials = new IntakeCredentials({ customers: customers.customers, secrets, store, mspWideToken: env.mspWideAlertToken, log });
  const unreachable = intakeCredentials.unreachableCustomers();
  if (unreachable.length) log.warn({ customers: unreachable }, 'these customers have no intake credential (intake.webhookTokenRef / hmacSecretRef) and no alert polling: their alerts cannot arrive');
  const server = createServer({
    store, intake, log,
    intakeCredentials,
    apiToken: env.apiToken,
    messages: bot.handle,
    messagesNeedBearer: env.mode === 'production',
    refusing: () => refusal,
    report: async (incidentId) => {
      const ev = await latestReport(store, incidentId);
      return ev ? { name: reportFileName(incidentId), body: await store.getEvidenceBody(ev.id) } : undefined;
    },
    reportLinks: { verify: (id, exp, sig) => !!reportLinks?.verify(id, exp, sig) },
    feed: (customerId, authorization) => handleFeedRequest(customerId, authorization, { customer: (id) => byId.get(id), secrets, store }),
  });
  sandboxMode?.mountRoutes(server, { alertWebhookToken: env.mspWideAlertToken! });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(env.PORT, env.HOST, () => resolveListen());
  });
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  reportLinks = new ReportLinks(env.apiToken, env.PUBLIC_BASE_URL ?? `http://localhost:${port}`);
  log.info({ port, store: store.dialect, customers: customers.customers.map((c) => c.id) }, 'teams-ir-bot listening');

  if (!refusal) engine.start();
  // Another replica's approval (or any change it announces) schedules that incident here at once.
  replicaWake = new ReplicaWake({ store, workerId, wake: (id) => engine.wake(id), log });
  if (!refusal) await replicaWake.start();
  cleanups.push(() => replicaWake!.close());
  // Blocks roll back on their own: hourly, expired feed entries leave the firewalls (and the feed).
  const feedExpiry = new FeedExpiryJob({ feed: store, customer: (id) => byId.get(id), runAdHoc: (id, req) => engine.runAdHoc(id, req), log });
  const runFeedExpiry = async () => refusal ? undefined : feedExpiry.runOnce(new Date()).then((o) => {
    if (o.removed.length || o.failed.length) log.info({ removed: o.removed.length, failed: o.failed }, 'feed expiry');
  }).catch((e) => log.error({ err: e }, 'feed expiry failed'));
  const feedTimer = setInterval(runFeedExpiry, 60 * 60_000);
  feedTimer.unref();
  void runFeedExpiry();
  // The shift handoff: checked every minute; the store decides which instance posts, once per shift.
  const handoff = shifts ? new HandoffScheduler({ store, config: shifts, post: (h) => bot.notifier.postHandoff(h), customers: (id) => byId.get(id), links: { report: reportUrl }, log }) : undefined;
  // Only once the bot knows its channel: a handoff claimed but not postable would be lost.
  // The channel read is inside the catch too: a store that is unreachable at the minute's tick (a
  // PostgreSQL restart) must not become an unhandled rejection that ends the process.
  const runHandoff = async () => {
    try {
      if (refusal || !handoff || !(await store.getRef('teams:channel'))) return;
      await handoff.runOnce(new Date());
    } catch (e) {
      log.error({ err: e }, 'handoff failed');
    }
  };
  const handoffTimer = setInterval(runHandoff, 60_000);
  handoffTimer.unref();
  // Cards whose post was interrupted (a crash between claim and post) are posted by the sweep.
  const sweep = async () => refusal ? undefined : bot.notifier.sweep().catch((e) => log.warn({ err: e }, 'card sweep failed'));
  const sweepTimer = setInterval(sweep, 30_000);
  sweepTimer.unref();
  void sweep();
  const stopPoller = startGraphPoller({
    customers: refusal ? [] : customers.customers.filter((c) => c.graph.pollAlerts),
    secrets, store, log, graphTenants,
    // An alert read from a customer's tenant is that customer's, whatever tenant id it claims.
    onAlert: async (raw, customerId) => { await intake.receive(raw, 'poller', { kind: 'customers', customerIds: new Set([customerId]) }); },
  });

  const { playgroundUrl } = (await sandboxMode?.afterListen(port)) ?? {};

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      stopPoller();
      clearInterval(feedTimer);
      clearInterval(handoffTimer);
      clearInterval(sweepTimer);
      await replicaWake?.close().catch(() => undefined);
      await engine.stop().catch(() => undefined);
      if (!newerSchema) await replicaVersions.leave();
      await new Promise<void>((r) => server.close(() => r()));
      await sandboxMode?.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      graphTenants.close();
    })();
    return closed;
  };
  return { env, port, store, engine, sandbox, playgroundUrl, close, notifyIncident: (id) => bot.notifier.incidentChanged(id) };
}

async function main(): Promise<void> {
  // A .env file (see .env.sample) fills in what the real environment does not set.
  dotenv.config({ quiet: true });
  const app = await startApp(process.env);
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    void app.close().finally(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (require.main === module) main().catch((e) => {
  if (e instanceof ConfigError || e instanceof ProcedureError) {
    process.stderr.write(`teams-ir-bot: configuration error: ${e.message}\n`);
  } else {
    process.stderr.write(`teams-ir-bot: failed to start: ${(e as Error).stack ?? e}\n`);
  }
  process.exit(1);
});
