import { resolve } from 'node:path';
import restify from 'restify';
import { bearerMatches } from '../http/bearer';
import { jsonBody } from '../http/json-body';
import { SANDBOX_WEBHOOK_TOKEN_VARS } from './sandbox-customers';
import type { CustomersFile } from '../config/customers';
import type { Env } from '../config/env';
import type { Logger } from '../log';
import { startSandbox, type Sandbox } from './start-sandbox';
import { loadSandboxCustomersFile } from './sandbox-customers-file';
import { startPlayground } from './playground/launcher';
import { useReadableLogsInTerminal } from './readable-logs';
import { readPeersEnvFile } from './peers-env-file';
import { crashPauseFromEnv } from './crash-pause-points';
import type { CrashPause } from '../connectors/types';

/**
 * Everything sandbox mode adds to the bot, behind one small hook. main.ts loads this module lazily
 * (a require() inside its sandbox branch, which is what `await import()` compiles to) only when
 * IR_MODE=sandbox, so production never loads the emulators, the Playground launcher or the
 * dev-only packages they need.
 */
export interface SandboxMode {
  customers: CustomersFile;
  /** the customers file the procedures resolve paths against (undefined: generated in memory) */
  customersFile?: string;
  /** the running emulators (absent when the sandbox runs on a generated file from an earlier start) */
  sandbox?: Sandbox;
  /** secrets and MSP mailbox settings the sandbox customers refer to (env:NAME) */
  env: Record<string, string>;
  /** the crash tests' pause point (IR_CRASH_PAUSE, NODE_ENV=test only), for the actions' ports */
  crashPause?: CrashPause;
  /** the example roster, so the shift handoff works out of the box */
  shiftsFile: string;
  /** the sandbox's own HTTP routes, mounted before the server listens */
  mountRoutes(server: restify.Server, o: { alertWebhookToken: string }): void;
  /** once the bot listens: the Playground (unless SANDBOX_PLAYGROUND=false) and the banner */
  afterListen(port: number): Promise<{ playgroundUrl?: string }>;
  close(): Promise<void>;
}

function sandboxAdDriver(v: string | undefined): 'ldap' | 'mdi' {
  if (v === undefined || v === '' || v === 'ldap') return 'ldap';
  if (v === 'mdi') return 'mdi';
  throw new Error(`SANDBOX_AD_DRIVER must be ldap or mdi, not ${JSON.stringify(v)}`);
}

export async function enterSandbox(env: Env, source: NodeJS.ProcessEnv, log: Logger): Promise<SandboxMode> {
  // Refused before anything starts: a hold point outside a sandbox under test is a mistake.
  const crashPause = crashPauseFromEnv(source, log);
  useReadableLogsInTerminal();
  log.warn(`SANDBOX MODE (IR_MODE=sandbox): Teams requests are not authenticated and the API tokens default to "sandbox-token"; listening on ${env.HOST} only.`);
  const dataDir = resolve(env.SANDBOX_DATA_DIR);
  let sandbox: Sandbox | undefined;
  let customers: CustomersFile;
  /** what `npm run peers` wrote beside the customers file: the emulators run in their own process */
  let peersEnv: Record<string, string> | undefined;
  if (env.CUSTOMERS_FILE) {
    customers = loadSandboxCustomersFile(env.CUSTOMERS_FILE, dataDir);
    peersEnv = readPeersEnvFile(dataDir);
    if (peersEnv) log.info({ dataDir }, 'sandbox: using the peers of `npm run peers` (their secrets from peers.env)');
  } else {
    sandbox = await startSandbox({
      dataDir,
      log,
      // SANDBOX_SAMBA=false leaves the on-premises DC out (tests that do not need it: provisioning takes 10–35 s)
      samba: source.SANDBOX_SAMBA !== 'false',
      // SANDBOX_AD_DRIVER=mdi reaches Contoso's domain through Defender for Identity (the Graph emulator) instead of the Samba DC
      adDriver: sandboxAdDriver(source.SANDBOX_AD_DRIVER),
      ports: { graph: env.SANDBOX_GRAPH_PORT, serviceNow: env.SANDBOX_SERVICENOW_PORT, fortigate: env.SANDBOX_FORTIGATE_PORT, accessSwitch: env.SANDBOX_SWITCH_PORT, nas: env.SANDBOX_NAS_PORT },
    });
    customers = sandbox.customers;
  }
  let closePlayground: (() => Promise<void>) | undefined;

  return {
    customers,
    customersFile: sandbox ? undefined : env.CUSTOMERS_FILE,
    sandbox,
    // The sandbox's own values win, except its customers' webhook tokens when the operator sets them.
    env: { ...sandbox?.env, ...peersEnv, ...pickSet(source, SANDBOX_WEBHOOK_TOKEN_VARS) },
    crashPause,
    shiftsFile: resolve(__dirname, '../config/shifts.example.yaml'),
    mountRoutes(server, o) {
      if (sandbox) mountDefenderRoute(server, sandbox, o.alertWebhookToken);
    },
    async afterListen(port) {
      if (!env.SANDBOX_PLAYGROUND) return {};
      const pg = await startPlayground({ botEndpoint: `http://localhost:${port}/api/messages`, port: env.PLAYGROUND_PORT });
      closePlayground = pg.close;
      const banner = [
        '',
        `  Teams (Agents Playground): ${pg.url}   → team "MSP SOC", channel #${env.IR_CHANNEL_NAME}`,
        `  Fire the sample alert:     npm run alert            (or: npm run alert -- path/to/alert.json)`,
        `  Then in #${env.IR_CHANNEL_NAME}:          @${env.BOT_NAME} status`,
        `  Operator API:              curl -H 'Authorization: Bearer sandbox-token' http://localhost:${port}/api/incidents`,
        '',
      ].join('\n');
      if (source.IR_QUIET_BANNER !== 'true') process.stdout.write(`${banner}\n`);
      return { playgroundUrl: pg.url };
    },
    async close() {
      await closePlayground?.().catch(() => undefined);
      await sandbox?.close().catch(() => undefined);
    },
  };
}

/**
 * "Defender raises an alert" in the emulated tenant. `npm run alert` calls this, then posts the same
 * alert to /api/alerts as a Sentinel playbook would. Served by whichever process runs the emulators
 * (the bot in `npm start`, the peers process in `npm run peers` / `npm run cluster`).
 */
export function mountDefenderRoute(server: restify.Server, sandbox: Pick<Sandbox, 'raiseAlert'>, alertWebhookToken: string): void {
  server.post('/sandbox/defender/alerts', jsonBody(), async (req: restify.Request, res: restify.Response) => {
    if (!bearerMatches(req.header('authorization'), alertWebhookToken)) { res.status(401); res.json({ error: { code: 'unauthorized', message: 'missing or wrong bearer token' } }); return; }
    const r = sandbox.raiseAlert((req.body ?? {}) as Record<string, unknown>);
    res.status(r.ok ? 201 : 400);
    res.json(r.ok ? { raised: true } : { error: { code: 'invalid_alert', message: r.reason } });
  });
}

function pickSet(source: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((n) => (source[n] ? [[n, source[n]!]] : [])));
}
