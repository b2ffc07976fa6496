import { superviseChild } from '../child-output';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONTOSO_AD, delegationSddl } from './contoso-directory';
import { generateCa, issueServerCertificate } from './tls-material';

const execFileP = promisify(execFile);

/**
 * A real Active Directory domain controller for the sandbox and the tests: Debian's Samba 4,
 * provisioned into a folder of its own (never the system's /etc/samba), listening on its own
 * loopback address (Samba's LDAP ports cannot move), LDAPS with a certificate from a private CA.
 *
 * Provisioning is slow and CPU-heavy (8–15 s), so it makes a *template*: provisioned, seeded with
 * CONTOSO_AD, stopped. Each DC is a copy of a template (0.1 s) with its paths and address rewritten.
 * See shared/reference/samba-ad-dc.md for the traps this avoids.
 */

export class SambaUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SambaUnavailableError';
  }
}

export const SAMBA_PACKAGES = 'samba samba-dsdb-modules samba-vfs-modules samba-ad-provision ldb-tools';

/** Why a DC cannot run here, or undefined when it can. */
export function sambaUnavailableReason(): string | undefined {
  for (const bin of ['/usr/sbin/samba', '/usr/bin/samba-tool', '/usr/bin/ldbmodify', '/usr/bin/openssl']) {
    if (!existsSync(bin)) return `${bin} is missing (apt-get install ${SAMBA_PACKAGES})`;
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'the Samba DC must run as root (LDAP on ports 389/636)';
  return undefined;
}

export interface SeededAccount {
  sam: string;
  dn: string;
  sid: string;
  upn: string;
  /** the sandbox's own generated password; only the sandbox and the tests know it */
  password: string;
}

export interface SambaTemplate {
  dir: string;
  netbios: string;
  dns: string;
  baseDn: string;
  dcFqdn: string;
  domainSid: string;
  adminPassword: string;
  /** the CA that issued the DC's certificate: what a customer's config pins */
  caPem: string;
  accounts: Record<string, SeededAccount>;
}

const TEMPLATE_FILE = 'template.json';

/** A password Samba's default complexity accepts: four character classes, 20 characters. */
export function sandboxPassword(): string {
  return `Sb!${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}7a`;
}

async function sambaTool(conf: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP('samba-tool', [...args, '-s', conf], { maxBuffer: 16 << 20 });
    return stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    // The first word of args and the end of stderr; never the arguments themselves (passwords).
    throw new Error(`samba-tool ${args[0]} ${args[1] ?? ''} failed: ${(err.stderr ?? err.message).trim().split('\n').slice(-2).join(' | ')}`);
  }
}

/** Settings that keep Samba inside `dir`; `interfaces` needs the /8 or Samba finds no interface. */
function dirOptions(dir: string, ip: string): string[] {
  return [
    `interfaces=${ip}/8`, 'bind interfaces only=yes', 'server services=ldap',
    `pid directory=${join(dir, 'run')}`, `ncalrpc dir=${join(dir, 'ncalrpc')}`,
    `winbindd socket directory=${join(dir, 'winbindd')}`, `ntp signd socket directory=${join(dir, 'ntp')}`,
    `log file=${join(dir, 'log', 'samba.log')}`,
  ];
}

/**
 * Provisions CONTOSO / contoso.local into `dir` and seeds it (CONTOSO_AD): OU=Tier0 with adm-avance
 * in Domain Admins, ordinary users in OU=Staff, and svc-irbot with reset-password and
 * write-userAccountControl delegated on OU=Tier0 only. The DC is left stopped.
 */
export async function provisionSambaTemplate(dir: string): Promise<SambaTemplate> {
  const why = sambaUnavailableReason();
  if (why) throw new SambaUnavailableError(`no Samba AD DC: ${why}`);
  await rm(dir, { recursive: true, force: true });
  for (const sub of ['run', 'ncalrpc', 'winbindd', 'ntp', 'log', 'tls']) await mkdir(join(dir, sub), { recursive: true });
  const adminPassword = sandboxPassword();
  const a = CONTOSO_AD;
  try {
    await execFileP('samba-tool', ['domain', 'provision', `--realm=${a.realm}`, `--domain=${a.netbios}`, '--server-role=dc',
      '--dns-backend=NONE', `--host-name=${a.hostName}`, `--adminpass=${adminPassword}`, `--targetdir=${dir}`,
      ...dirOptions(dir, '127.0.0.2').map((o) => `--option=${o}`)], { maxBuffer: 16 << 20 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`samba-tool domain provision failed: ${(err.stderr ?? err.message).trim().split('\n').slice(-3).join(' | ')}`);
  }
  const conf = join(dir, 'etc', 'smb.conf');
  const ca = await generateCa(join(dir, 'tls'), 'Contoso Sandbox Root CA');
  const tls = await issueServerCertificate(ca, join(dir, 'tls'), a.dcFqdn);
  // Provision drops `old password allowed period`: without 0 the old password keeps working
  // for 60 minutes after a reset, LDAP simple binds included. Unix password sync would run
  // /usr/bin/passwd for domain users: never on this machine.
  const extra = [
    'old password allowed period = 0', 'unix password sync = no',
    `tls enabled = yes`, `tls keyfile = ${tls.keyFile}`, `tls certfile = ${tls.certFile}`, `tls cafile = ${tls.caFile}`,
  ];
  const text = await readFile(conf, 'utf8');
  await writeFile(conf, text.replace(/^\[global\]\n/m, `[global]\n${extra.map((l) => `\t${l}\n`).join('')}`));

  const sam = join(dir, 'private', 'sam.ldb');
  const h = ['-H', sam];
  for (const ou of [a.tier0Ou, a.staffOu]) await sambaTool(conf, ['ou', 'create', ou.split(',')[0], ...h]);
  for (const g of a.groups) {
    await sambaTool(conf, ['group', 'add', g.name, `--groupou=${g.ou}`, ...h]);
    for (const parent of g.memberOf) await sambaTool(conf, ['group', 'addmembers', parent, g.name, ...h]);
  }
  const accounts: Record<string, SeededAccount> = {};
  const upnLdif: string[] = [];
  for (const acc of a.accounts) {
    const password = sandboxPassword();
    await sambaTool(conf, ['user', 'create', acc.sam, password, `--userou=${acc.ou}`, `--description=${acc.description}`, ...h]);
    for (const g of acc.groups) await sambaTool(conf, ['group', 'addmembers', g, acc.sam, ...h]);
    const dn = `CN=${acc.sam},${acc.ou},${a.baseDn}`;
    accounts[acc.sam] = { sam: acc.sam, dn, sid: '', upn: acc.upn, password };
    upnLdif.push(`dn: ${dn}\nchangetype: modify\nreplace: userPrincipalName\nuserPrincipalName: ${acc.upn}\n`);
  }
  // samba-tool names every UPN <sam>@contoso.local; the synced ones use the routable suffix.
  const ldif = join(dir, 'upn.ldif');
  await writeFile(ldif, upnLdif.join('\n'));
  await execFileP('ldbmodify', ['-H', sam, ldif]);
  await rm(ldif);
  for (const acc of Object.values(accounts)) {
    const out = await sambaTool(conf, ['user', 'show', acc.sam, '--attributes=objectSid', ...h]);
    const m = /^objectSid: (S-1-5-21-[\d-]+)$/m.exec(out);
    if (!m) throw new Error(`no objectSid for ${acc.sam}`);
    acc.sid = m[1];
  }
  const svc = accounts[a.serviceAccount];
  await sambaTool(conf, ['dsacl', 'set', `--objectdn=${a.tier0Ou}`, `--sddl=${delegationSddl(svc.sid)}`, ...h]);

  const template: SambaTemplate = {
    dir, netbios: a.netbios, dns: a.dns, baseDn: a.baseDn, dcFqdn: a.dcFqdn,
    domainSid: svc.sid.replace(/-\d+$/, ''), adminPassword, caPem: ca.caPem, accounts,
  };
  await writeFile(join(dir, TEMPLATE_FILE), JSON.stringify(template, null, 2));
  await chmod(join(dir, TEMPLATE_FILE), 0o600);
  return template;
}

/** The template in `dir` when one is there (the sandbox keeps it across starts), else a new one. */
export async function ensureSambaTemplate(dir: string): Promise<SambaTemplate> {
  try {
    const t = JSON.parse(await readFile(join(dir, TEMPLATE_FILE), 'utf8')) as SambaTemplate;
    if (t.dir === dir && existsSync(join(dir, 'private', 'sam.ldb'))) return t;
  } catch { /* none yet */ }
  return provisionSambaTemplate(dir);
}

export interface SambaDc {
  dir: string;
  ip: string;
  port: number;
  /** the name in the DC's certificate: connect to the IP with this servername */
  servername: string;
  caPem: string;
  template: SambaTemplate;
  pid: number;
  /** samba-tool against this DC's database (e.g. `user show`); the DC may be running */
  tool(args: string[]): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

/** The first loopback address from `first` whose port 636 is free (each DC needs its own). */
export async function pickLoopbackAddress(first = '127.0.0.2', count = 200): Promise<string> {
  const [a, b, c, d] = first.split('.').map(Number);
  for (let i = 0; i < count; i++) {
    const n = d + i;
    const ip = `${a}.${b}.${c + Math.floor((n - 1) / 254)}.${((n - 1) % 254) + 1}`;
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(636, ip, () => s.close(() => resolve(true)));
    });
    if (free) return ip;
  }
  throw new Error(`no free loopback address for a DC from ${first}`);
}

/**
 * Copies the stopped template into `dir` (replacing it), points smb.conf at the copy and at `ip`,
 * and starts `samba -i -M single` with its stdin a pipe from this process, so that the DC exits
 * when this process dies. Ready when a TLS handshake on ip:636 succeeds.
 */
export async function startSambaDc(template: SambaTemplate, opts: { dir: string; ip?: string; readyTimeoutMs?: number }): Promise<SambaDc> {
  const why = sambaUnavailableReason();
  if (why) throw new SambaUnavailableError(`no Samba AD DC: ${why}`);
  const ip = opts.ip ?? (await pickLoopbackAddress());
  const dir = opts.dir;
  if (dir !== template.dir) {
    await rm(dir, { recursive: true, force: true });
    await cp(template.dir, dir, { recursive: true, preserveTimestamps: true });
    const conf = join(dir, 'etc', 'smb.conf');
    const text = (await readFile(conf, 'utf8')).split(template.dir).join(dir);
    await writeFile(conf, text.replace(/^(\s*interfaces = ).*$/m, `$1${ip}/8`));
    await rm(join(dir, TEMPLATE_FILE), { force: true });
  } else {
    const conf = join(dir, 'etc', 'smb.conf');
    await writeFile(conf, (await readFile(conf, 'utf8')).replace(/^(\s*interfaces = ).*$/m, `$1${ip}/8`));
  }
  const conf = join(dir, 'etc', 'smb.conf');
  await rm(join(dir, 'run', 'samba.pid'), { force: true });
  const child = spawn('/usr/sbin/samba', ['-i', '-M', 'single', '-s', conf], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => undefined);
  const proc = superviseChild(child, { keepChars: 50_000, killAfterMs: 5000 });
  const stop = () => proc.stop();
  try {
    await waitForTls(child, ip, opts.readyTimeoutMs ?? 30_000, proc.output);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    dir, ip, port: 636, servername: template.dcFqdn, caPem: template.caPem, template, pid: child.pid ?? -1,
    tool: (args) => sambaTool(conf, [...args, '-H', join(dir, 'private', 'sam.ldb')]),
    output: proc.output,
    stop,
  };
}

function waitForTls(child: ChildProcess, ip: string, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const fail = (why: string) => { if (!done) { done = true; reject(new Error(`${why}: ${output().trim().split('\n').slice(-3).join(' | ')}`)); } };
    child.once('exit', (code, signal) => fail(`samba exited (${code ?? signal}) before LDAPS answered on ${ip}:636`));
    const attempt = () => {
      if (done) return;
      if (Date.now() > deadline) return fail(`samba did not answer LDAPS on ${ip}:636 within ${timeoutMs} ms`);
      // Only readiness is checked here; the connector pins the certificate.
      const s = tlsConnect({ host: ip, port: 636, rejectUnauthorized: false });
      s.once('secureConnect', () => { s.destroy(); if (!done) { done = true; resolve(); } });
      s.once('error', () => { s.destroy(); setTimeout(attempt, 150); });
    };
    attempt();
  });
}
