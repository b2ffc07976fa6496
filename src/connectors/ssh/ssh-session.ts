import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { PassThrough } from 'node:stream';
import type { SshTarget } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import type { Logger } from '../../log';
import { ConnectorError } from '../types';
import { CliShell, type CliShellOptions } from './cli-shell';
import { hostKeyFingerprint, sameFingerprint } from './host-key';

export interface ExecResult { stdout: string; stderr: string; code: number | null }

/**
 * One SSH connection to a device or a server, with the host key pinned. Credentials come from the
 * secret store by reference and are never logged or put into an error message.
 */
export class SshSession {
  private closed = false;

  private constructor(
    private readonly client: Client,
    readonly target: SshTarget,
    private readonly log?: Logger,
  ) {
    client.on('close', () => { this.closed = true; });
  }

  get label(): string {
    return `${this.target.host}:${this.target.port}`;
  }

  static open(opts: { target: SshTarget; secrets: SecretStore; log?: Logger }): Promise<SshSession> {
    const { target, secrets, log } = opts;
    const label = `${target.host}:${target.port}`;
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.username,
      readyTimeout: target.timeoutMs,
      keepaliveInterval: 10_000,
    };
    // Resolve secrets first: a missing reference is a configuration problem, named by its reference.
    try {
      if (target.privateKeyRef) config.privateKey = secrets.get(target.privateKeyRef);
      if (target.passwordRef) config.password = secrets.get(target.passwordRef);
    } catch (e) {
      return Promise.reject(new ConnectorError(`cannot log in to ${label}: ${(e as Error).message}`, { source: 'ssh' }));
    }
    let presented: string | undefined;
    config.hostVerifier = (key: Buffer): boolean => {
      presented = hostKeyFingerprint(key);
      return sameFingerprint(presented, target.hostKeySha256);
    };
    return new Promise<SshSession>((resolve, reject) => {
      const client = new Client();
      let settled = false;
      const settle = (e?: Error) => {
        if (settled) return;
        settled = true;
        if (e) { client.end(); reject(e); } else resolve(new SshSession(client, target, log));
      };
      client.once('ready', () => {
        log?.debug({ host: target.host, port: target.port, user: target.username }, 'ssh connected');
        settle();
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (presented && !sameFingerprint(presented, target.hostKeySha256)) {
          settle(new ConnectorError(`host key mismatch for ${label}: expected ${target.hostKeySha256}, got ${presented}`, { source: 'ssh' }));
        } else if (err.level === 'client-authentication') {
          settle(new ConnectorError(`SSH login to ${label} as ${target.username} was refused: check the credential behind ${target.privateKeyRef ?? target.passwordRef}`, { source: 'ssh' }));
        } else if (/Timed out while waiting for handshake/.test(err.message)) {
          settle(new ConnectorError(`SSH to ${label} timed out after ${target.timeoutMs} ms`, { retryable: true, source: 'ssh' }));
        } else {
          settle(new ConnectorError(`SSH to ${label} failed: ${err.message}`, { retryable: true, source: 'ssh', cause: err }));
        }
      });
      client.once('close', () => settle(new ConnectorError(`SSH to ${label} closed before login completed`, { retryable: true, source: 'ssh' })));
      client.connect(config);
    });
  }

  /** Runs one command; resolves when it exits (or rejects on timeout, closing the channel). */
  exec(command: string, opts: { timeoutMs?: number; stdin?: string | Buffer } = {}): Promise<ExecResult> {
    const timeoutMs = opts.timeoutMs ?? this.target.timeoutMs;
    return this.openExec(command).then((ch) => new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let code: number | null = null;
      const timer = setTimeout(() => {
        ch.close();
        reject(new ConnectorError(`command on ${this.label} did not finish within ${timeoutMs} ms`, { retryable: true, source: 'ssh' }));
      }, timeoutMs);
      ch.on('data', (d: Buffer) => out.push(d));
      ch.stderr.on('data', (d: Buffer) => err.push(d));
      ch.on('exit', (c: number | null) => { code = c; });
      ch.on('close', (c?: number | null) => {
        clearTimeout(timer);
        resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code: code ?? c ?? null });
      });
      if (opts.stdin !== undefined) ch.end(opts.stdin);
      else ch.end();
    }));
  }

  /**
   * Runs one command and streams its stdout (for big files) with back-pressure. A non-zero exit
   * status ends the stream with an error carrying the start of stderr.
   */
  async execStream(command: string): Promise<NodeJS.ReadableStream> {
    const ch = await this.openExec(command);
    const out = new PassThrough();
    const err: Buffer[] = [];
    let errBytes = 0;
    let code: number | null = null;
    ch.on('data', (d: Buffer) => {
      if (!out.write(d)) {
        ch.pause();
        out.once('drain', () => ch.resume());
      }
    });
    ch.stderr.on('data', (d: Buffer) => {
      if (errBytes < 4096) { err.push(d); errBytes += d.length; }
    });
    ch.on('exit', (c: number | null) => { code = c; });
    ch.on('close', (c?: number | null) => {
      const status = code ?? c ?? null;
      if (status === 0) out.end();
      else {
        const why = Buffer.concat(err).toString('utf8').trim().split('\n')[0] || 'no error output';
        out.destroy(new ConnectorError(`command on ${this.label} exited with status ${status}: ${why}`, { source: 'ssh' }));
      }
    });
    // The consumer going away must not leave the remote command running.
    out.on('close', () => ch.close());
    ch.end();
    return out;
  }

  /** Opens an interactive shell with a wide pseudo-terminal (no line wrapping) and waits for the prompt. */
  async cli(opts: Partial<Pick<CliShellOptions, 'prompt' | 'commandTimeoutMs'>> = {}): Promise<CliShell> {
    this.assertOpen();
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      this.client.shell({ term: 'vt100', cols: 511, rows: 200 }, (e, ch) => (e
        ? reject(new ConnectorError(`cannot open a shell on ${this.label}: ${e.message}`, { retryable: true, source: 'ssh' }))
        : resolve(ch)));
    });
    return CliShell.attach(channel, {
      prompt: opts.prompt,
      commandTimeoutMs: opts.commandTimeoutMs ?? this.target.timeoutMs,
      label: this.label,
    });
  }

  /**
   * A TCP channel from the remote host to host:port (ssh2 forwardOut): the jump-host path to a
   * customer's DC. The channel is a Duplex; closing it ends only the forward, not the session.
   */
  forwardOut(host: string, port: number): Promise<ClientChannel> {
    this.assertOpen();
    return new Promise<ClientChannel>((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, host, port, (e, ch) => (e
        ? reject(new ConnectorError(`${this.label} could not open a tunnel to ${host}:${port}: ${e.message}`, { retryable: true, source: 'ssh' }))
        : resolve(ch)));
    });
  }

  close(): void {
    this.closed = true;
    this.client.end();
  }

  private openExec(command: string): Promise<ClientChannel> {
    this.assertOpen();
    return new Promise<ClientChannel>((resolve, reject) => {
      this.client.exec(command, (e, ch) => (e
        ? reject(new ConnectorError(`cannot run a command on ${this.label}: ${e.message}`, { retryable: true, source: 'ssh' }))
        : resolve(ch)));
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new ConnectorError(`the SSH session to ${this.label} is closed`, { retryable: true, source: 'ssh' });
  }
}
