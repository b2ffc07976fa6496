import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { openStore } from '../../src/store/open-store';
import type { Store } from '../../src/store/store';
import { startPeers, type RunningPeers } from '../../scripts/peers';
import { BotChild } from './bot-child';
import type { RecordedConnector } from './bot-connector-recorder';
import { createTestDatabase, type TestDatabase } from './store-factory';

/**
 * Bot replicas as an MSP runs them (as in test/e2e/cluster.test.ts, without nginx): the sandbox's
 * peers once in this process (so a test can read the emulators), N `BotChild` processes on one
 * fresh PostgreSQL database, all posting to the given recorded Bot Connector (its channel reference
 * is put in the store before they start).
 */
export interface ReplicaCluster {
  dir: string;
  db: TestDatabase;
  /** the test's own view of the store */
  store: Store;
  peers: RunningPeers;
  replicas: BotChild[];
  close(failed?: boolean): Promise<void>;
}

export async function startReplicaCluster(o: { replicas: number; connector: RecordedConnector; env?: Record<string, string> }): Promise<ReplicaCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'irbot-replicas-'));
  const db = await createTestDatabase('postgres');
  const store = await openStore(db.url);
  await store.putRef('teams:channel', o.connector.channelRef());
  const sandboxDir = path.join(dir, 'sandbox');
  const peers = await startPeers({
    SANDBOX_DATA_DIR: sandboxDir, SANDBOX_PLAYGROUND: 'false', SANDBOX_SAMBA: 'false', PEERS_PORT: '0',
    SANDBOX_GRAPH_PORT: '0', SANDBOX_SERVICENOW_PORT: '0', SANDBOX_FORTIGATE_PORT: '0', SANDBOX_SWITCH_PORT: '0', SANDBOX_NAS_PORT: '0',
  });
  const env = {
    IR_MODE: 'sandbox', MicrosoftAppId: '', SANDBOX_DATA_DIR: sandboxDir, CUSTOMERS_FILE: peers.customersFile,
    STORE_URL: db.url, SANDBOX_PLAYGROUND: 'false', PORT: '0', HOST: '127.0.0.1', IR_QUIET_BANNER: 'true',
    ENGINE_LEASE_SECONDS: '5', ...o.env,
  };
  const replicas: BotChild[] = [];
  const close = async (failed = false) => {
    if (failed) for (const r of replicas) process.stderr.write(`--- replica ${r.pid} ---\n${r.tail(30)}\n`);
    await Promise.all(replicas.map((r) => r.stop(5_000)));
    await peers.close();
    await store.close();
    await db.dispose();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    replicas.push(...await Promise.all(Array.from({ length: o.replicas }, () => BotChild.start(env, 120_000))));
  } catch (e) {
    await close(true).catch(() => undefined);
    throw e;
  }
  return { dir, db, store, peers, replicas, close };
}
