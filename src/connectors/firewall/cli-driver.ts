import type { FirewallConfig, SshTarget } from '../../config/customers';
import { SshSession } from '../ssh/ssh-session';
import type { CliExchange, CliShell } from '../ssh/cli-shell';
import { ConnectorError, type RawPayload } from '../types';
import type { FirewallDriverDeps } from './driver';

/**
 * Sends one line and returns the reply; throws on an error line unless `probe` (a read whose
 * "not found" answer is an answer, not a failure).
 */
export type CliRun = (line: string, opts?: { timeoutMs?: number; probe?: boolean }) => Promise<string>;

/** A device refused a command: carries the transcript up to the failure, as evidence. */
export class FirewallCommandError extends ConnectorError {
  constructor(message: string, readonly transcript: RawPayload, opts: { source: string }) {
    super(message, { source: opts.source });
    this.name = 'FirewallCommandError';
  }
}

/** A firewall reached over SSH: its `ssh` target is present. */
export type CliFirewallConfig = FirewallConfig & { ssh: SshTarget };

/** The firewall entry, refused with a clear error when it has no SSH target (an API-only entry). */
export function requireSsh(config: FirewallConfig): CliFirewallConfig {
  if (!config.ssh) throw new ConnectorError(`firewall ${config.id}: no ssh target configured for the CLI transport`, { source: 'firewall' });
  return config as CliFirewallConfig;
}

/**
 * The common half of the SSH-CLI firewall drivers: one CLI session per device, opened lazily and
 * reused for a batch of commands; every reply checked for the vendor's error lines; every
 * operation's exchanges turned into a transcript.
 */
export abstract class CliFirewallDriver {
  private session: SshSession | undefined;
  private shell: CliShell | undefined;
  private opening: Promise<CliShell> | undefined;

  protected abstract readonly source: string;   // 'fortigate.cli'
  /** The error lines in a reply, first one first; empty when the command succeeded. */
  protected abstract errorLines(output: string): string[];
  /** Session setup such as turning the pager off. */
  protected abstract prepare(shell: CliShell): Promise<void>;

  readonly config: CliFirewallConfig;

  constructor(config: FirewallConfig, protected readonly deps: FirewallDriverDeps) {
    this.config = requireSsh(config);
  }

  protected get device(): string {
    return `${this.config.id} (${this.config.ssh.host}:${this.config.ssh.port})`;
  }

  async close(): Promise<void> {
    this.shell?.close();
    this.session?.close();
    this.shell = undefined;
    this.session = undefined;
    this.opening = undefined;
  }

  /**
   * Runs `op` with the device's CLI and returns its result with the transcript of exactly the
   * commands it sent. On any failure the session is dropped: the CLI may be left inside an `edit`.
   */
  protected async withCli<T>(note: string, op: (run: CliRun) => Promise<T>): Promise<{ value: T; transcript: RawPayload }> {
    const shell = await this.open();
    const from = shell.exchanges.length;
    const run: CliRun = async (line, opts) => {
      const out = await shell.send(line, opts);
      if (opts?.probe) return out;
      const errors = this.errorLines(out);
      if (errors.length) {
        const more = errors.length > 1 ? ` (${errors.slice(1).map((e) => JSON.stringify(e)).join(', ')})` : '';
        throw new FirewallCommandError(`${this.device} refused ${JSON.stringify(line)}: ${JSON.stringify(errors[0])}${more}`,
          this.transcript(shell.exchanges.slice(from), note), { source: this.source });
      }
      return out;
    };
    try {
      const value = await op(run);
      return { value, transcript: this.transcript(shell.exchanges.slice(from), note) };
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  private open(): Promise<CliShell> {
    if (this.shell) return Promise.resolve(this.shell);
    this.opening ??= (async () => {
      const session = await SshSession.open({ target: this.config.ssh, secrets: this.deps.secrets, log: this.deps.log });
      try {
        const shell = await session.cli();
        await this.prepare(shell);
        this.session = session;
        this.shell = shell;
        return shell;
      } catch (e) {
        session.close();
        throw e;
      }
    })().finally(() => { this.opening = undefined; });
    return this.opening;
  }

  private transcript(exchanges: CliExchange[], note: string): RawPayload {
    const text = exchanges.map((x) => `${x.before}${x.command}\n${x.output ? `${x.output}\n` : ''}`).join('');
    return {
      source: this.source,
      contentType: 'text/plain; charset=utf-8',
      body: Buffer.from(text, 'utf8'),
      collectedAt: new Date().toISOString(),
      note: `${this.config.id}: ${note}`,
      recordCount: exchanges.length,
    };
  }
}
