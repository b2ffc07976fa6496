/**
 * `npm run peers`: the sandbox's peers in their own process, once, for any number of bots:
 * Contoso's Graph, ServiceNow and FortiGate emulators, FreeRADIUS as its NAS (when Debian's
 * freeradius is installed) and, unless SANDBOX_PLAYGROUND=false, the Agents Playground pointed at
 * PLAYGROUND_BOT_ENDPOINT (a load balancer, or one bot). It writes into SANDBOX_DATA_DIR the
 * generated customers file and peers.env (the sandbox secrets those customers refer to), so a bot
 * started with
 *     IR_MODE=sandbox SANDBOX_DATA_DIR=<same> CUSTOMERS_FILE=<dir>/sandbox-customers.yaml STORE_URL=...
 * uses these peers. It also serves POST /sandbox/defender/alerts (`npm run alert` raises the alert
 * in the emulated Defender there) and GET /healthz on PEERS_PORT (3980).
 * When ready it prints one JSON line {"peers":"ready",...}; Ctrl-C (or SIGTERM) stops everything.
 *
 * Settings (environment): SANDBOX_DATA_DIR, SANDBOX_GRAPH_PORT, SANDBOX_SERVICENOW_PORT,
 * SANDBOX_FORTIGATE_PORT, SANDBOX_SWITCH_PORT, SANDBOX_NAS_PORT, SANDBOX_PLAYGROUND, PLAYGROUND_PORT, PEERS_PORT,
 * PLAYGROUND_BOT_ENDPOINT, ALERT_WEBHOOK_TOKEN: as for `npm start` (0 picks a free port).
 */
import { resolve, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import restify from 'restify';
import { loadEnv } from '../src/config/env';
import { ConfigError } from '../src/config/customers';
import { log } from '../src/log';
import { startSandbox, type Sandbox } from '../src/sandbox/start-sandbox';
import { mountDefenderRoute } from '../src/sandbox/sandbox-mode';
import { writePeersEnvFile } from '../src/sandbox/peers-env-file';
import { SANDBOX_CUSTOMERS_FILE_NAME } from '../src/sandbox/sandbox-customers-file';
import { startPlayground } from '../src/sandbox/playground/launcher';
import { useReadableLogsInTerminal } from '../src/sandbox/readable-logs';

const DEFAULT_PEERS_PORT = 3980;

export interface RunningPeers {
  dataDir: string;
  customersFile: string;
  envFile: string;
  port: number;
  playgroundUrl?: string;
  /** the emulators themselves (a test that runs the peers in its own process reads their state) */
  sandbox: Sandbox;
  close(): Promise<void>;
}

export async function startPeers(source: NodeJS.ProcessEnv = process.env): Promise<RunningPeers> {
  const env = loadEnv({ ...source, IR_MODE: 'sandbox' });
  const peersPort = parsePort(source.PEERS_PORT, DEFAULT_PEERS_PORT, 'PEERS_PORT');
  const dataDir = resolve(env.SANDBOX_DATA_DIR);
  const sandbox = await startSandbox({
    dataDir, log,
    ports: { graph: env.SANDBOX_GRAPH_PORT, serviceNow: env.SANDBOX_SERVICENOW_PORT, fortigate: env.SANDBOX_FORTIGATE_PORT, accessSwitch: env.SANDBOX_SWITCH_PORT, nas: env.SANDBOX_NAS_PORT },
    // SANDBOX_SAMBA=false leaves the on-premises DC out, as for `npm start`
    samba: source.SANDBOX_SAMBA !== 'false',
  });
  const closers: Array<() => Promise<unknown>> = [() => sandbox.close()];
  const close = async () => { for (const c of closers.reverse()) await c().catch(() => undefined); };
  try {
    const envFile = writePeersEnvFile(dataDir, sandbox.env);
    const server = restify.createServer({ name: 'teams-ir-bot-peers' });
    server.get('/healthz', async (_req: restify.Request, res: restify.Response) => { res.json({ status: 'ok' }); });
    mountDefenderRoute(server, sandbox, env.mspWideAlertToken!);
    await new Promise<void>((ok, fail) => { server.once('error', fail); server.listen(peersPort, env.HOST, () => ok()); });
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    let playgroundUrl: string | undefined;
    if (env.SANDBOX_PLAYGROUND) {
      const botEndpoint = source.PLAYGROUND_BOT_ENDPOINT ?? `http://localhost:${env.PORT}/api/messages`;
      const pg = await startPlayground({ botEndpoint, port: env.PLAYGROUND_PORT });
      closers.push(() => pg.close());
      playgroundUrl = pg.url;
    }
    return { dataDir, customersFile: join(dataDir, SANDBOX_CUSTOMERS_FILE_NAME), envFile, port, playgroundUrl, sandbox, close };
  } catch (e) {
    await close();
    throw e;
  }
}

function parsePort(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name}=${value.slice(0, 20)} is not a port (0-65535)`);
  return n;
}

async function main(): Promise<void> {
  useReadableLogsInTerminal();
  const peers = await startPeers(process.env);
  // One machine-readable line (npm run cluster and the tests read it), then the human version.
  process.stdout.write(`${JSON.stringify({ peers: 'ready', customersFile: peers.customersFile, envFile: peers.envFile, dataDir: peers.dataDir, port: peers.port, playgroundUrl: peers.playgroundUrl })}\n`);
  if (process.env.IR_QUIET_BANNER !== 'true') {
    process.stdout.write([
      '',
      '  Sandbox peers are up. Start bots on them with:',
      `    IR_MODE=sandbox SANDBOX_DATA_DIR=${peers.dataDir} CUSTOMERS_FILE=${peers.customersFile} SANDBOX_PLAYGROUND=false STORE_URL=... npm start`,
      peers.playgroundUrl ? `  Teams (Agents Playground): ${peers.playgroundUrl}` : '',
      '',
    ].join('\n') + '\n');
  }
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    void peers.close().finally(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

if (require.main === module) main().catch((e) => {
  process.stderr.write(`peers: failed to start: ${e instanceof ConfigError ? e.message : (e as Error).stack ?? e}\n`);
  process.exit(1);
});
