import { Server, type ServerChannel } from 'ssh2';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { generateHostKey } from '../../src/sandbox/ssh-cli-server';

/** A fresh ed25519 host key (OpenSSH PEM) and its `SHA256:` fingerprint (see generateHostKey). */
export function makeHostKey(): { pem: string; sha256: string } {
  return generateHostKey();
}

export interface TestSshServer {
  port: number;
  hostKeySha256: string;
  /** every exec command received, in order */
  commands: string[];
  connections: number;
  close(): Promise<void>;
}

const eq = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * A small ssh2 server for SSH transport tests: password login, `exec` through a handler
 * (stdout, stderr, exit code), and a shell that answers like a device CLI with `prompt`.
 */
export async function startTestSshServer(opts: {
  username: string;
  password: string;
  exec?: (command: string, stdin: Buffer, ch: ServerChannel) => void | Promise<void>;
  prompt?: string;
  banner?: string;
  shell?: (line: string) => string;
}): Promise<TestSshServer> {
  const key = makeHostKey();
  const commands: string[] = [];
  const state = { connections: 0 };
  const server = new Server({ hostKeys: [key.pem] }, (client) => {
    state.connections++;
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.username === opts.username && eq(ctx.password, opts.password)) ctx.accept();
      else ctx.reject(['password']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('pty', (ok) => ok?.());
        session.on('exec', (ok, _reject, info) => {
          const ch = ok();
          commands.push(info.command);
          const stdin: Buffer[] = [];
          ch.on('data', (d: Buffer) => stdin.push(d));
          ch.on('end', () => {
            void Promise.resolve(opts.exec?.(info.command, Buffer.concat(stdin), ch)).catch(() => {
              ch.exit(255);
              ch.end();
            });
          });
        });
        session.on('shell', (ok) => {
          const ch = ok();
          const prompt = opts.prompt ?? 'DEV # ';
          ch.write(`${opts.banner ?? ''}${prompt}`);
          let line = '';
          ch.on('data', (d: Buffer) => {
            for (const c of d.toString('utf8')) {
              if (c === '\r' || c === '\n') {
                ch.write(`${line}\r\n`);
                const out = opts.shell ? opts.shell(line) : '';
                ch.write(`${out ? `${out.replace(/\n/g, '\r\n')}\r\n` : ''}${prompt}`);
                line = '';
              } else line += c;
            }
          });
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    hostKeySha256: key.sha256,
    commands,
    get connections() { return state.connections; },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
