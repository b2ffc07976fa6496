import type { SwitchConfig } from '../../config/customers';
import { SshSession } from '../ssh/ssh-session';
import type { CliExchange, CliShell } from '../ssh/cli-shell';
import { ConnectorError, type RawPayload } from '../types';
import { switchErrorLines } from './cli-output';
import type { SwitchDriverDeps } from './driver';

/** Sends one line and returns the reply; throws on an error line unless `probe`. */
export type SwitchCliRun = (line: string, opts?: { probe?: boolean }) => Promise<string>;

/** A switch refused a command: carries the transcript up to the failure, as evidence. */
export class SwitchCommandError extends ConnectorError {
  constructor(message: string, readonly transcript: RawPayload) {
    super(message, { source: 'switch.cli', raw: [transcript] });
    this.name = 'SwitchCommandError';
  }
}

/**
 * IOS `sw-lis-3#` / `sw-lis-3(config-if)#` (no space after), AOS-CX `sw-lis-4# ` /
 * `sw-lis-4(config-if)# `; `>` is user EXEC on both.
 */
export const SWITCH_PROMPT = /(?:^|\n)([A-Za-z0-9][A-Za-z0-9._\-]{0,62}(?:\(config[a-z0-9\-]*\))?[#>] ?)$/;

/**
 * The common half of the SSH-CLI switch drivers: one session per switch, opened lazily and
 * reused for every port of a batch; the pager turned off first; every reply checked for the
 * vendor's error lines; every operation's exchanges turned into a transcript.
 */
export abstract class CliSwitchDriver {
  private session: SshSession | undefined;
  private shell: CliShell | undefined;
  private opening: Promise<CliShell> | undefined;

  /** `terminal length 0` (IOS), `no page` (AOS-CX) */
  protected abstract readonly pagerOff: string;

  constructor(readonly config: SwitchConfig, protected readonly deps: SwitchDriverDeps) {}

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

  /** Runs `op` with the switch CLI; on failure the session is dropped (it may be left in config mode). */
  protected async withCli<T>(note: string, op: (run: SwitchCliRun) => Promise<T>): Promise<{ value: T; transcript: RawPayload }> {
    const shell = await this.open();
    const from = shell.exchanges.length;
    const run: SwitchCliRun = async (line, opts) => {
      const out = await shell.send(line);
      if (opts?.probe) return out;
      const errors = switchErrorLines(out);
      if (errors.length) {
        throw new SwitchCommandError(`${this.device} refused ${JSON.stringify(line)}: ${JSON.stringify(errors[0])}`, this.transcript(shell.exchanges.slice(from), note));
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
        const shell = await session.cli({ prompt: SWITCH_PROMPT });
        if (shell.currentPrompt.trimEnd().endsWith('>')) {
          throw new ConnectorError(`${this.device} logged the bot in at user EXEC (prompt ${JSON.stringify(shell.currentPrompt)}): its account needs privilege 15 (IOS) or the administrators group (AOS-CX)`, { source: 'switch.cli' });
        }
        const reply = await shell.send(this.pagerOff);
        const errors = switchErrorLines(reply);
        if (errors.length) throw new ConnectorError(`${this.device} refused ${JSON.stringify(this.pagerOff)}: ${JSON.stringify(errors[0])}: is this a ${this.config.kind} switch?`, { source: 'switch.cli' });
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
      source: 'switch.cli',
      contentType: 'text/plain; charset=utf-8',
      body: Buffer.from(text, 'utf8'),
      collectedAt: new Date().toISOString(),
      note: `${this.config.id}: ${note}`,
      recordCount: exchanges.length,
    };
  }
}
