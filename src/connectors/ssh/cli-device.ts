import type { SshTarget } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import type { Logger } from '../../log';
import type { RawPayload } from '../types';
import type { CliExchange, CliShell } from './cli-shell';
import { SshSession } from './ssh-session';

/**
 * Sends one line and returns the reply; throws on an error line unless `probe` (a read whose
 * "not found" answer is an answer, not a failure).
 */
export type CliRun = (line: string, opts?: { timeoutMs?: number; probe?: boolean }) => Promise<string>;

/**
 * A device driven over its SSH CLI (firewalls, switches): one session per device, opened lazily
 * and reused for a batch of commands; every reply checked for the vendor's error lines; every
 * operation's exchanges turned into a transcript (evidence). On any failure the session is
 * dropped: the CLI may be left inside an `edit` or config mode.
 */
export abstract class CliDevice {
  private session: SshSession | undefined;
  private shell: CliShell | undefined;
  private opening: Promise<CliShell> | undefined;

  /** 'fortigate.cli', 'switch.cli' */
  protected abstract readonly source: string;
  protected abstract readonly deviceId: string;
  protected abstract readonly sshTarget: SshTarget;
  protected abstract readonly access: { secrets: SecretStore; log?: Logger };
  /** The error lines in a reply, first one first; empty when the command succeeded. */
  protected abstract errorLines(output: string): string[];
  /** Session setup such as turning the pager off; a throw closes the session. */
  protected abstract prepare(shell: CliShell): Promise<void>;
  /** The error a refused command throws, carrying the transcript up to the failure. */
  protected abstract refused(message: string, transcript: RawPayload): Error;
  /** The prompt the shell waits for, when the vendor's differs from the default. */
  protected readonly prompt: RegExp | undefined = undefined;

  protected get device(): string {
    return `${this.deviceId} (${this.sshTarget.host}:${this.sshTarget.port})`;
  }

  async close(): Promise<void> {
    this.shell?.close();
    this.session?.close();
    this.shell = undefined;
    this.session = undefined;
    this.opening = undefined;
  }

  /** Runs `op` with the device's CLI and returns its result with the transcript of exactly the commands it sent. */
  protected async withCli<T>(note: string, op: (run: CliRun) => Promise<T>): Promise<{ value: T; transcript: RawPayload }> {
    const shell = await this.open();
    const from = shell.exchanges.length;
    const run: CliRun = async (line, opts) => {
      const out = await shell.send(line, opts);
      if (opts?.probe) return out;
      const errors = this.errorLines(out);
      if (errors.length) {
        const more = errors.length > 1 ? ` (${errors.slice(1).map((e) => JSON.stringify(e)).join(', ')})` : '';
        throw this.refused(`${this.device} refused ${JSON.stringify(line)}: ${JSON.stringify(errors[0])}${more}`, this.transcript(shell.exchanges.slice(from), note));
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
      const session = await SshSession.open({ target: this.sshTarget, secrets: this.access.secrets, log: this.access.log });
      try {
        const shell = await session.cli(this.prompt ? { prompt: this.prompt } : undefined);
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
      note: `${this.deviceId}: ${note}`,
      recordCount: exchanges.length,
    };
  }
}
