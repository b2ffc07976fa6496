import { Server, utils, type Connection } from 'ssh2';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { hostKeyFingerprint } from '../connectors/ssh/host-key';

/** One CLI session's interpreter: the device's modes and state behind one SSH shell. */
export interface CliInterpreter {
  /** the banner and first prompt */
  greeting(): string;
  /** handles one line; returns the text to print (without the echo) and whether to hang up */
  handle(line: string): { output: string; hangUp?: boolean };
  prompt(): string;
  /**
   * Whether the CLI waits for ONE keystroke rather than a line (FortiOS's post-login disclaimer
   * "(Press 'a' to accept):"); such keys go to `key`, unechoed.
   */
  awaitingKey?(): boolean;
  key?(c: string): { output: string; hangUp?: boolean };
  /** Lines a page when the CLI pages its output (`--More--`); undefined or 0 prints it whole. */
  pageLines?(): number | undefined;
  /** The pager line this CLI prints (AOS-CX's `-- MORE --, next page: …`); FortiOS's `--More-- ` when absent. */
  morePrompt?(): string;
}

/** FortiOS's pager: the marker, and what the device prints to wipe it once a key is pressed. */
export const MORE_PROMPT = '--More-- ';
export const MORE_ERASE = `\r${' '.repeat(MORE_PROMPT.length + 1)}\r`;

export interface CliSshServer {
  port: number;
  hostKeySha256: string;
  /** every line received, in order, over all connections */
  received: string[];
  /** SSH connections accepted at TCP level (including refused logins) */
  readonly connections: number;
  close(): Promise<void>;
}

export interface CliSshServerOptions {
  port?: number;
  host?: string;
  users: Array<{ username: string; password: string }>;
  /** PEM (OpenSSH or PKCS#1/8) host key; an ed25519 key is generated when absent */
  hostKey?: string;
  /** a new interpreter per shell, for the user who logged in */
  newSession(username: string): CliInterpreter;
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Generates an ed25519 host key in OpenSSH format, with its `SHA256:` fingerprint. ssh2's generator
 * now and then (about 2 in 1,000, measured here) writes a key its own parser rejects as
 * "Malformed OpenSSH private key": such a key is drawn again.
 */
export function generateHostKey(): { pem: string; sha256: string } {
  for (let attempt = 1; ; attempt++) {
    const pem = utils.generateKeyPairSync('ed25519').private;
    const parsed = utils.parseKey(pem);
    if (!(parsed instanceof Error)) return { pem, sha256: fingerprintOf(pem) };
    if (attempt >= 20) throw parsed;
  }
}

export function fingerprintOf(pem: string): string {
  const parsed = utils.parseKey(pem);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error) throw key;
  return hostKeyFingerprint(key.getPublicSSH());
}

/**
 * An SSH server that runs a device CLI per shell the way a pty-backed device does: it echoes each
 * line, prints the reply and the next prompt, with CRLF line ends.
 */
export async function startCliSshServer(opts: CliSshServerOptions): Promise<CliSshServer> {
  const key = opts.hostKey ? { pem: opts.hostKey, sha256: fingerprintOf(opts.hostKey) } : generateHostKey();
  const received: string[] = [];
  const counters = { connections: 0 };
  const clients = new Set<Connection>();
  const server = new Server({ hostKeys: [key.pem] }, (client) => {
    counters.connections++;
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    let username = '';
    client.on('authentication', (ctx) => {
      username = ctx.username;
      const ok = ctx.method === 'password' && opts.users.some((u) => u.username === ctx.username && same(u.password, ctx.password));
      if (ok) ctx.accept();
      else ctx.reject(['password', 'keyboard-interactive']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('pty', (ok) => ok?.());
        session.on('window-change', (ok) => ok?.());
        session.on('exec', (_ok, reject) => reject?.());
        session.on('shell', (ok) => {
          const ch = ok();
          const cli = opts.newSession(username);
          const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');
          ch.write(crlf(cli.greeting()));
          let line = '';
          let lastWasCr = false;
          // Output still to print behind a `--More--`; keys answer the pager until it is drained.
          let paged: string[] | undefined;
          const more = cli.morePrompt?.() ?? MORE_PROMPT;
          const moreErase = more === MORE_PROMPT ? MORE_ERASE : `\r${' '.repeat(more.length + 1)}\r`;
          const nextPage = () => {
            const size = cli.pageLines?.() ?? 0;
            const page = paged!.splice(0, size);
            if (paged!.length) { ch.write(crlf(`${page.join('\n')}\n`) + more); return; }
            paged = undefined;
            ch.write(crlf(page.length ? `${page.join('\n')}\n` : '') + cli.prompt());
          };
          ch.on('data', (d: Buffer) => {
            for (const c of d.toString('utf8')) {
              if (paged) {
                // space: next page; q: drop the rest (like the real pager); anything else: next page
                ch.write(moreErase);
                if (c === 'q') { paged = undefined; ch.write(cli.prompt()); } else nextPage();
                continue;
              }
              if (cli.awaitingKey?.()) {
                received.push(`<key ${JSON.stringify(c)}>`);
                const r = cli.key!(c);
                if (r.hangUp) { ch.write(crlf(r.output)); ch.exit(0); ch.end(); return; }
                ch.write(crlf(r.output) + (cli.awaitingKey() ? '' : cli.prompt()));
                continue;
              }
              if (c === '\n' && lastWasCr) { lastWasCr = false; continue; }
              lastWasCr = c === '\r';
              if (c !== '\r' && c !== '\n') { line += c; continue; }
              const input = line;
              line = '';
              received.push(input);
              const { output, hangUp } = cli.handle(input);
              const size = cli.pageLines?.() ?? 0;
              const lines = output ? output.split('\n') : [];
              if (!hangUp && size > 0 && lines.length > size) {
                ch.write(crlf(`${input}\n`));
                paged = lines;
                nextPage();
                continue;
              }
              // One write per reply (echo, output, prompt): split writes meet Nagle + delayed ACK.
              const reply = crlf(`${input}\n${output ? `${output}\n` : ''}`);
              if (hangUp) { ch.write(reply); ch.exit(0); ch.end(); return; }
              ch.write(reply + cli.prompt());
            }
          });
          ch.on('error', () => undefined);
        });
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    hostKeySha256: key.sha256,
    received,
    get connections() { return counters.connections; },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Live connections keep the server open: end them so close() completes.
      for (const c of clients) c.end();
    }),
  };
}

/** A device CLI emulator: the SSH server plus the device state its sessions share. */
export interface CliEmulator<S> extends CliSshServer {
  state: S;
}

/** Starts a device emulator over state shared by every session (FortiOS, PAN-OS, ...). */
export async function startCliEmulator<S>(
  opts: Omit<CliSshServerOptions, 'newSession'>,
  state: S,
  newSession: (state: S, username: string) => CliInterpreter,
): Promise<CliEmulator<S>> {
  const server = await startCliSshServer({ ...opts, newSession: (username) => newSession(state, username) });
  return {
    port: server.port,
    hostKeySha256: server.hostKeySha256,
    state,
    received: server.received,
    get connections() { return server.connections; },
    close: () => server.close(),
  };
}
