import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Debian's OpenSSH sshd on 127.0.0.1 with a private config: its own host key, one generated client
 * key authorised for root, foreground (-D -e). Tests connect to it as root to read files and run
 * commands on "the RADIUS server" over a real SSH session.
 */
export interface TestSshd {
  host: '127.0.0.1';
  port: number;
  username: string;
  /** OpenSSH private key (PEM text) authorised for `username` */
  privateKey: string;
  /** the host key's fingerprint as `ssh-keygen -lf` prints it, for pinning */
  hostKeySha256: string;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('data', () => { s.destroy(); resolve(true); }); // the SSH banner: sshd is really answering
    s.once('error', () => resolve(false));
    setTimeout(() => { s.destroy(); resolve(false); }, 500);
  });
}

export async function startSshd(): Promise<TestSshd> {
  const dir = await mkdtemp(join(tmpdir(), 'radius-sshd-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-host', '-f', join(dir, 'host_ed25519')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ir-bot', '-f', join(dir, 'client_ed25519')]);
    await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_ed25519.pub')));
    const fp = execFileSync('ssh-keygen', ['-lf', join(dir, 'host_ed25519.pub')], { encoding: 'utf8' }).split(' ')[1];
    // sshd refuses to start without its privilege-separation directory.
    await mkdir('/run/sshd', { recursive: true });
    let lastLog = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freeTcpPort();
      await writeFile(join(dir, 'sshd_config'), [
        `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_ed25519')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'StrictModes no', 'PermitRootLogin prohibit-password',
        'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', `PidFile ${join(dir, 'sshd.pid')}`,
        'MaxSessions 64', 'MaxStartups 64', 'LogLevel VERBOSE', 'Subsystem sftp internal-sftp', '',
      ].join('\n'));
      const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout?.on('data', (d) => { out += d; });
      child.stderr?.on('data', (d) => { out += d; });
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      const deadline = Date.now() + 10_000;
      let ready = false;
      while (Date.now() < deadline && child.exitCode === null) {
        if (await canConnect(port)) { ready = true; break; }
        await new Promise((r) => setTimeout(r, 50));
      }
      if (ready) {
        return {
          host: '127.0.0.1', port, username: 'root', dir, hostKeySha256: fp,
          privateKey: await readFile(join(dir, 'client_ed25519'), 'utf8'),
          log: () => out,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) {
              child.kill('SIGTERM');
              await exited;
            }
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      child.kill('SIGKILL');
      await exited;
      lastLog = out;
    }
    throw new Error(`sshd did not start: ${lastLog.trim().split('\n').slice(-3).join(' | ')}`);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
