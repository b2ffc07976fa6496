import { superviseChild } from '../child-output';
import { spawnTiedToParent } from '../tied-child';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRadiusString } from '../../connectors/radius/radius-string';

/**
 * A private FreeRADIUS 3 (Debian's package) run in the foreground with a copy of the stock config:
 * several `listen { type = coa }` blocks, each one a NAS answering Disconnect-Requests (ACK for the
 * sessions it knows, NAK with Error-Cause 503 otherwise), and optionally an accounting listener
 * writing detail files. Used by `npm start` (the sandbox NAS) and by the tests and benchmarks.
 */

export const STOCK_RADDB = '/etc/freeradius/3.0';

export class FreeRadiusUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FreeRadiusUnavailableError';
  }
}

export interface KnownSession {
  userName: string;
  acctSessionId: string;
}

/** A client a switch NAS knows: it ACKs Cisco port CoA commands (bounce/disable-host-port) naming it. */
export interface KnownPort {
  callingStationId: string;
  /** when given, a CoA-Request must carry this Acct-Session-Id too (Cisco: every identifier sent must match) */
  acctSessionId?: string;
}

export interface FreeRadiusOptions {
  /** how many NAS (coa listeners); their ports are picked free unless `coaPorts` is given */
  nasCount?: number;
  coaPorts?: number[];
  /** run an accounting listener writing detail files */
  accounting?: boolean;
  acctPort?: number;
  /** the shared secret for 127.0.0.1 */
  secret: string;
  /** sessions the NAS ACKs; every other Disconnect-Request gets a NAK 503 */
  knownSessions?: KnownSession[];
  /** clients whose port CoA commands the NAS ACKs; other CoA-Requests get a NAK 503, unknown commands a NAK 405 */
  knownPorts?: KnownPort[];
  /** ACK any Acct-Session-Id matching this POSIX regex (for the 1,000-session benchmark) */
  ackSessionIdRegex?: string;
  /** keep FreeRADIUS's own log here instead of discarding it */
  logFile?: string;
  /** where to create the private directory (default os.tmpdir()) */
  baseDir?: string;
}

export interface FreeRadiusInstance {
  dir: string;
  coaPorts: number[];
  acctPort?: number;
  /** `<dir>/radacct`: detail files land in `<client-ip>/detail-YYYYMMDD` under it */
  accountingDir?: string;
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

export function freeradiusBinary(): string | undefined {
  for (const p of ['/usr/sbin/freeradius', '/usr/sbin/radiusd']) if (existsSync(p)) return p;
  return undefined;
}

/** Free UDP ports on 127.0.0.1 (bound, read back, released: FreeRADIUS needs numbers in its config). */
export async function freeUdpPorts(n: number): Promise<number[]> {
  const sockets = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof createSocket>>((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

function unlangString(v: string): string {
  return `"${parseRadiusString(v, 'session value').replace(/\\/g, '\\\\')}"`;
}

function siteConfig(opts: FreeRadiusOptions, coaPorts: number[], acctPort: number | undefined): string {
  const clauses = (opts.knownSessions ?? []).map((s) => `(&User-Name == ${unlangString(s.userName)} && &Acct-Session-Id == ${unlangString(s.acctSessionId)})`);
  if (opts.ackSessionIdRegex) {
    if (/["\\\n]/.test(opts.ackSessionIdRegex.replace(/\\[.\-dws]/g, ''))) throw new Error('ackSessionIdRegex: no quotes or other escapes');
    clauses.push(`(&Acct-Session-Id =~ /${opts.ackSessionIdRegex}/)`);
  }
  const condition = clauses.length ? clauses.join(' || ') : 'false';
  const portClauses = (opts.knownPorts ?? []).map((p) => `(&Calling-Station-Id == ${unlangString(p.callingStationId)}${p.acctSessionId ? ` && &Acct-Session-Id == ${unlangString(p.acctSessionId)}` : ''})`);
  const portCondition = portClauses.length ? portClauses.join(' || ') : 'false';
  const listens = coaPorts.map((p) => `listen {\n\ttype = coa\n\tipaddr = 127.0.0.1\n\tport = ${p}\n\tvirtual_server = nas\n}\n`).join('');
  const acct = acctPort === undefined ? '' : `listen {\n\ttype = acct\n\tipaddr = 127.0.0.1\n\tport = ${acctPort}\n\tvirtual_server = acct\n}\nserver acct {\n\taccounting {\n\t\tdetail\n\t\tok\n\t}\n}\n`;
  return `${listens}${acct}
server nas {
	recv-coa {
		if (&Packet-Type == CoA-Request) {
			# A Cisco access switch: the port commands of its CoA support, for the sessions it hosts.
			if (!(&Cisco-AVPair =~ /^subscriber:command=(bounce-host-port|disable-host-port)$/)) {
				update reply {
					&Error-Cause := Unsupported-Service
				}
				reject
			}
			elsif (${portCondition}) {
				ok
			}
			else {
				update reply {
					&Error-Cause := Session-Context-Not-Found
				}
				reject
			}
		}
		elsif (${condition}) {
			ok
		}
		else {
			# RFC 5176 §3.5: a NAS that cannot find the session says why.
			update reply {
				&Error-Cause := Session-Context-Not-Found
			}
			reject
		}
	}
	send-coa {
		ok
	}
}
`;
}

/** Copies the stock config into a private directory and points every path FreeRADIUS writes at it. */
async function writeConfig(dir: string, opts: FreeRadiusOptions, coaPorts: number[], acctPort: number | undefined): Promise<string> {
  const raddb = join(dir, 'raddb');
  await cp(STOCK_RADDB, raddb, { recursive: true, dereference: true });
  for (const f of await readdir(join(raddb, 'sites-enabled'))) await rm(join(raddb, 'sites-enabled', f), { force: true });
  // eap needs certificates, sql a database: neither is part of a NAS.
  for (const f of await readdir(join(raddb, 'mods-enabled'))) {
    if (f === 'eap' || f.includes('sql')) await rm(join(raddb, 'mods-enabled', f), { force: true });
  }
  for (const sub of ['log', 'run', 'radacct']) await mkdir(join(dir, sub), { recursive: true });
  let conf = await readFile(join(raddb, 'radiusd.conf'), 'utf8');
  conf = conf
    .replace(/^(\s*)(user|group) = freerad/gm, '$1#$2 = freerad')
    .replace(/^logdir = .*$/m, `logdir = ${join(dir, 'log')}`)
    .replace(/^run_dir = .*$/m, `run_dir = ${join(dir, 'run')}`)
    .replace(/^radacctdir = .*$/m, `radacctdir = ${join(dir, 'radacct')}`);
  await writeFile(join(raddb, 'radiusd.conf'), conf);
  if (!/^\S+$/.test(opts.secret) || opts.secret.includes('"')) throw new Error('the sandbox secret must be one word without quotes');
  await writeFile(join(raddb, 'clients.conf'), `client localhost {\n\tipaddr = 127.0.0.1\n\tsecret = "${opts.secret}"\n}\n`);
  await writeFile(join(raddb, 'sites-enabled', 'nas'), siteConfig(opts, coaPorts, acctPort));
  return raddb;
}

export async function startFreeRadius(opts: FreeRadiusOptions): Promise<FreeRadiusInstance> {
  const bin = freeradiusBinary();
  if (!bin) throw new FreeRadiusUnavailableError('FreeRADIUS is not installed (apt-get install freeradius freeradius-utils)');
  if (!existsSync(STOCK_RADDB)) throw new FreeRadiusUnavailableError(`FreeRADIUS's stock config ${STOCK_RADDB} is missing`);
  let lastError: Error | undefined;
  // Ports are picked free and then released, so another process can take one meanwhile: retry.
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(opts.baseDir ?? tmpdir(), 'freeradius-'));
    const wanted = opts.coaPorts ?? (await freeUdpPorts(opts.nasCount ?? 1));
    const acctPort = opts.accounting ? (opts.acctPort ?? (await freeUdpPorts(1))[0]) : undefined;
    try {
      const raddb = await writeConfig(dir, opts, wanted, acctPort);
      const check = spawnSync(bin, ['-C', '-d', raddb], { encoding: 'utf8' });
      if (check.status !== 0) throw new Error(`FreeRADIUS rejected the generated config: ${(check.stdout + check.stderr).trim().split('\n').slice(-5).join(' | ')}`);
      // Tied to this process: a killed `npm start` or test run must not leave a NAS holding its port.
      const child = spawnTiedToParent(bin, ['-f', '-l', 'stdout', '-d', raddb]);
      const instance = await waitReady(child, dir, wanted, acctPort, opts.logFile);
      return instance;
    } catch (e) {
      lastError = e as Error;
      await rm(dir, { recursive: true, force: true });
      if (opts.coaPorts || opts.acctPort) break;
    }
  }
  throw lastError ?? new Error('FreeRADIUS did not start');
}

function waitReady(child: ChildProcess, dir: string, coaPorts: number[], acctPort: number | undefined, logFile?: string): Promise<FreeRadiusInstance> {
  const proc = superviseChild(child, { keepChars: 100_000, killAfterMs: 3000 });
  const stop = async () => {
    await proc.stop();
    if (logFile) await writeFile(logFile, proc.output()).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`FreeRADIUS did not become ready within 10 s: ${proc.output().trim().split('\n').slice(-3).join(' | ')}`));
    }, 10_000);
    const check = () => {
      if (/Ready to process requests/.test(proc.output())) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        resolve({
          dir, coaPorts, acctPort, pid: child.pid ?? -1,
          accountingDir: acctPort === undefined ? undefined : join(dir, 'radacct'),
          log: proc.output,
          stop,
        });
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      void rm(dir, { recursive: true, force: true });
      reject(new Error(`FreeRADIUS exited with ${code}: ${proc.output().trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}
