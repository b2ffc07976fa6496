import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);

/**
 * A PostgreSQL server of the test's own (initdb into a temp folder, its own port and socket folder),
 * so a test can restart it for real without touching the machine's shared server, which other suites
 * use at the same time. It runs as the `postgres` OS user (the server refuses to run as root), trust
 * auth on 127.0.0.1 only.
 */
export interface PrivatePostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl restart -m fast`: every connection is dropped, new ones are refused until it is back */
  restart(): Promise<void>;
  /** the server's log (for failure messages) */
  logFile: string;
  stop(): Promise<void>;
}

function pgBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) throw new Error(`no PostgreSQL server binaries under ${root} (apt-get install postgresql)`);
  return path.join(root, versions[0], 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}

export async function startPrivatePostgres(opts: { maxConnections?: number } = {}): Promise<PrivatePostgres> {
  const bin = pgBinDir();
  const root = await mkdtemp(path.join(os.tmpdir(), 'irbot-pg-'));
  // the postgres user must be able to reach and own its folders
  await chmod(root, 0o755);
  const data = path.join(root, 'data');
  const sockets = path.join(root, 'sock');
  const logFile = path.join(root, 'server.log');
  const { uid, gid } = await postgresUser();
  const asPostgres = (cmd: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args], { timeout: 120_000 });
  await run('install', ['-d', '-o', String(uid), '-g', String(gid), '-m', '0700', data, sockets]);
  await chown(root, uid, gid);
  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${sockets} -c max_connections=${opts.maxConnections ?? 200}`;
  const ctl = (args: string[]) => asPostgres('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '60', ...args]);
  await ctl(['start']);
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let stopped = false;
  return {
    port,
    url,
    logFile,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a database name: ${name}`);
      const c = new Client({ connectionString: url() });
      await c.connect();
      try {
        await c.query(`create database ${name}`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    restart: async () => { await ctl(['restart', '-m', 'fast']); },
    async stop() {
      if (stopped) return;
      stopped = true;
      await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const { stdout } = await run('id', ['postgres']).catch(() => { throw new Error('no `postgres` OS user (apt-get install postgresql)'); });
  const uid = Number(/uid=(\d+)/.exec(stdout)?.[1]);
  const gid = Number(/gid=(\d+)/.exec(stdout)?.[1]);
  return { uid, gid };
}
