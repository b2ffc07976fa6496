/**
 * `npm run cluster`: the sandbox as an MSP runs the bot at scale, on one machine. The peers once
 * (`npm run peers`: emulators, FreeRADIUS, the Playground pointed at the load balancer), three bot
 * replicas as separate processes on one PostgreSQL database, and Debian's nginx in front of them as
 * the round-robin load balancer (its own configuration under data/cluster/nginx, never the system
 * one). Ctrl-C stops all of it.
 *
 * Settings (environment): CLUSTER_PORT (the load balancer, 3978), CLUSTER_REPLICAS (3),
 * CLUSTER_REPLICA_PORT (the first replica's port, 3991), STORE_URL (a PostgreSQL URL; default
 * postgres://postgres@127.0.0.1:5432/teams_ir_cluster, created when missing), SANDBOX_PLAYGROUND.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve, join } from 'node:path';
import { Client } from 'pg';
import { ensureNginx, startNginx } from './nginx-lb';

const ROOT = resolve(__dirname, '..');
const DEFAULT_STORE_URL = 'postgres://postgres@127.0.0.1:5432/teams_ir_cluster';

/** Creates the database STORE_URL names when it does not exist (connecting to "postgres" on the same server). */
export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error('STORE_URL: the database name must be a lower-case identifier');
  u.pathname = '/postgres';
  const admin = new Client({ connectionString: u.toString(), connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
}

function port(value: string | undefined, fallback: number, name: string): number {
  const n = value ? Number(value) : fallback;
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name}=${String(value).slice(0, 20)} is not a port (1-65535)`);
  return n;
}

/** A child whose output is prefixed with its name; resolves `ready` when `isReady(line)` says so. */
function child(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, isReady?: (line: string) => boolean): { proc: ChildProcess; ready: Promise<string> } {
  const proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let onReady: (line: string) => void = () => undefined;
  let onFail: (e: Error) => void = () => undefined;
  const ready = new Promise<string>((ok, fail) => { onReady = ok; onFail = fail; });
  const out = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line || line.includes('DEP0111') || line.includes('--trace-deprecation')) continue;
      process.stdout.write(`[${name}] ${line}\n`);
      if (isReady?.(line)) onReady(line);
    }
  };
  proc.stdout!.on('data', out);
  proc.stderr!.on('data', out);
  proc.once('exit', (code, signal) => onFail(new Error(`${name} exited (${signal ?? code}) before it was ready`)));
  if (!isReady) onReady('');
  return { proc, ready };
}

async function waitReady(url: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > end) throw new Error(`${url} was not ready within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Stops whatever has started (set once main() starts children). */
let stopAll: (code: number) => Promise<void> = async (code) => process.exit(code);

async function main(): Promise<void> {
  const lbPort = port(process.env.CLUSTER_PORT, 3978, 'CLUSTER_PORT');
  const replicas = Number(process.env.CLUSTER_REPLICAS ?? 3);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 16) throw new Error('CLUSTER_REPLICAS must be 1 to 16');
  const firstPort = port(process.env.CLUSTER_REPLICA_PORT, 3991, 'CLUSTER_REPLICA_PORT');
  const storeUrl = process.env.STORE_URL || DEFAULT_STORE_URL;
  if (!/^postgres(ql)?:\/\//i.test(storeUrl)) throw new Error('npm run cluster needs a PostgreSQL STORE_URL (replicas share one database)');
  const dataDir = resolve(ROOT, 'data/cluster');
  const sandboxDir = join(dataDir, 'sandbox');
  ensureNginx();
  await ensureDatabase(storeUrl);

  const procs: ChildProcess[] = [];
  let stopping = false;
  const stop = stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the cluster ...\n');
    // The load balancer first (no new requests), then the replicas (they finish their steps), the peers last.
    for (const p of [...procs].reverse()) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : new Promise((r) => p.once('exit', r)))));
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  const node = process.execPath;
  const peers = child('peers', node, ['--require', 'tsx/cjs', 'scripts/peers.ts'], {
    ...process.env, SANDBOX_DATA_DIR: sandboxDir, IR_QUIET_BANNER: 'true', PORT: String(lbPort),
    PLAYGROUND_BOT_ENDPOINT: `http://localhost:${lbPort}/api/messages`,
  }, (line) => line.startsWith('{"peers":"ready"'));
  procs.push(peers.proc);
  const ready = JSON.parse(await peers.ready) as { customersFile: string; port: number; playgroundUrl?: string };

  const ports = Array.from({ length: replicas }, (_, i) => firstPort + i);
  for (const [i, p] of ports.entries()) {
    const r = child(`replica-${i + 1}`, node, ['--require', 'tsx/cjs', 'src/main.ts'], {
      ...process.env, IR_MODE: 'sandbox', SANDBOX_DATA_DIR: sandboxDir, CUSTOMERS_FILE: ready.customersFile,
      STORE_URL: storeUrl, PORT: String(p), HOST: '127.0.0.1', SANDBOX_PLAYGROUND: 'false', IR_QUIET_BANNER: 'true',
      // Report links and card links go to the load balancer, whichever replica made them.
      PUBLIC_BASE_URL: process.env.PUBLIC_BASE_URL ?? `http://localhost:${lbPort}`,
    });
    procs.push(r.proc);
  }
  await Promise.all(ports.map((p) => waitReady(`http://127.0.0.1:${p}/readyz`)));
  const nginx = startNginx({ listenPort: lbPort, replicaPorts: ports, prefix: join(dataDir, 'nginx'), peersPort: ready.port, output: (l) => process.stdout.write(`[nginx] ${l}\n`) });
  procs.push(nginx);
  nginx.once('exit', (code, signal) => { if (!stopping) { process.stderr.write(`nginx exited (${signal ?? code})\n`); void stop(1); } });
  await waitReady(`http://127.0.0.1:${lbPort}/readyz`, 15_000);

  process.stdout.write([
    '',
    `  Cluster: nginx on http://localhost:${lbPort} → ${replicas} replicas on ${ports.map((p) => `:${p}`).join(' ')}, one PostgreSQL (${new URL(storeUrl).pathname.slice(1)})`,
    ready.playgroundUrl ? `  Teams (Agents Playground): ${ready.playgroundUrl}   (talks to the load balancer)` : '  Playground off (SANDBOX_PLAYGROUND=false)',
    `  Fire the sample alert:     npm run alert            (through the load balancer)`,
    `  Which replica is ready:    curl http://localhost:${lbPort}/readyz`,
    '  Ctrl-C stops everything.',
    '',
  ].join('\n') + '\n');
}

if (require.main === module) main().catch((e) => {
  process.stderr.write(`cluster: ${(e as Error).message}\n`);
  void stopAll(1);
});
