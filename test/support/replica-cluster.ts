import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import { openStore } from '../../src/store/open-store';
import type { Store } from '../../src/store/store';
import { startPeers, type RunningPeers } from '../../scripts/peers';
import { startNginx } from '../../scripts/nginx-lb';
import { BotChild } from './bot-child';
import type { RecordedConnector } from './bot-connector-recorder';
import { waitFor } from './bot-world';
import { createTestDatabase, type TestDatabase } from './store-factory';

/**
 * Bot replicas as an MSP runs them, for the e2e tests of issue 13 (cluster, stale-cache click,
 * Teams rate limits): the sandbox's peers once in this process (so a test can read the
 * emulators), N `BotChild` processes on one fresh PostgreSQL database, all posting to the given
 * recorded Bot Connector (its channel reference is put in the store before they start), and, when
 * asked, Debian's nginx in front of them. The storm test's harness (storm-cluster.ts) adds its own
 * PostgreSQL server and generated customers on the same pieces.
 */
export interface ReplicaCluster {
  dir: string;
  db: TestDatabase;
  /** the test's own view of the store */
  store: Store;
  peers: RunningPeers;
  replicas: BotChild[];
  /** nginx's port (0 without nginx) */
  lbPort: number;
  /** a URL through nginx */
  lb(p: string): string;
  close(failed?: boolean): Promise<void>;
}

export interface ReplicaClusterOptions {
  replicas: number;
  connector: RecordedConnector;
  env?: Record<string, string>;
  /** the store URL replica `i` is given (default: the database's own); e.g. through a relay the test can cut */
  storeUrl?: (i: number, dbUrl: string) => string;
  /** Debian's nginx round-robin in front of the replicas (scripts/nginx-lb.ts) */
  nginx?: boolean;
  /** called once the database exists, before any replica starts (e.g. to start a relay to it) */
  beforeReplicas?: (db: TestDatabase) => Promise<void>;
}

export async function startReplicaCluster(o: ReplicaClusterOptions): Promise<ReplicaCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'irbot-replicas-'));
  const db = await createTestDatabase('postgres');
  const store = await openStore(db.url);
  await store.putRef('teams:channel', o.connector.channelRef());
  const sandboxDir = path.join(dir, 'sandbox');
  const replicas: BotChild[] = [];
  let peers: RunningPeers | undefined;
  let nginx: ChildProcess | undefined;
  const nginxLog: string[] = [];
  const close = async (failed = false) => {
    if (failed) {
      for (const r of replicas) process.stderr.write(`--- replica ${r.pid} ---\n${r.tail(30)}\n`);
      if (nginx) process.stderr.write(`--- nginx ---\n${nginxLog.join('\n')}\n`);
    }
    nginx?.kill('SIGTERM');
    await Promise.all(replicas.map((r) => r.stop(5_000)));
    await peers?.close();
    await store.close();
    await db.dispose();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    peers = await startPeers({
      SANDBOX_DATA_DIR: sandboxDir, SANDBOX_PLAYGROUND: 'false', SANDBOX_SAMBA: 'false', PEERS_PORT: '0',
      SANDBOX_GRAPH_PORT: '0', SANDBOX_SERVICENOW_PORT: '0', SANDBOX_FORTIGATE_PORT: '0', SANDBOX_SWITCH_PORT: '0', SANDBOX_NAS_PORT: '0',
    });
    await o.beforeReplicas?.(db);
    // No sandbox secret in the replicas' environment: they read it from the peers' peers.env.
    const env = (i: number) => ({
      IR_MODE: 'sandbox', MicrosoftAppId: '', SANDBOX_DATA_DIR: sandboxDir, CUSTOMERS_FILE: peers!.customersFile,
      STORE_URL: o.storeUrl?.(i, db.url) ?? db.url, SANDBOX_PLAYGROUND: 'false', PORT: '0', HOST: '127.0.0.1', IR_QUIET_BANNER: 'true',
      ENGINE_LEASE_SECONDS: '5', ...o.env,
    });
    replicas.push(...await Promise.all(Array.from({ length: o.replicas }, (_, i) => BotChild.start(env(i), 120_000))));
    let lbPort = 0;
    if (o.nginx) {
      lbPort = await freePort();
      nginx = startNginx({ listenPort: lbPort, replicaPorts: replicas.map((r) => r.port), prefix: path.join(dir, 'nginx'), peersPort: peers.port, output: (l) => nginxLog.push(l) });
      await waitFor('nginx to answer', async () => (await fetch(`http://127.0.0.1:${lbPort}/readyz`).catch(() => undefined))?.ok, 15_000, 100);
    }
    return { dir, db, store, peers, replicas, lbPort, lb: (p) => `http://127.0.0.1:${lbPort}${p}`, close };
  } catch (e) {
    await close(true).catch(() => undefined);
    throw e;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}
