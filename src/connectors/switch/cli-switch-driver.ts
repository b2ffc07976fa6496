import type { SshTarget, SwitchConfig } from '../../config/customers';
import { CliDevice, type CliRun } from '../ssh/cli-device';
import type { CliShell } from '../ssh/cli-shell';
import { ConnectorError, type RawPayload } from '../types';
import { switchErrorLines } from './cli-output';
import type { SwitchDriverDeps } from './driver';

/** Sends one line and returns the reply; throws on an error line unless `probe`. */
export type SwitchCliRun = CliRun;

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
 * The common half of the SSH-CLI switch drivers (the session, error checks and transcripts are
 * the shared CliDevice's): the bot must be at privileged EXEC, and the pager goes off first.
 */
export abstract class CliSwitchDriver extends CliDevice {
  protected readonly source = 'switch.cli';
  protected override readonly prompt = SWITCH_PROMPT;
  /** `terminal length 0` (IOS), `no page` (AOS-CX) */
  protected abstract readonly pagerOff: string;

  constructor(readonly config: SwitchConfig, protected readonly deps: SwitchDriverDeps) {
    super();
  }

  protected get deviceId(): string { return this.config.id; }
  protected get sshTarget(): SshTarget { return this.config.ssh; }
  protected get access(): SwitchDriverDeps { return this.deps; }
  protected errorLines(output: string): string[] { return switchErrorLines(output); }
  protected refused(message: string, transcript: RawPayload): Error {
    return new SwitchCommandError(message, transcript);
  }

  protected async prepare(shell: CliShell): Promise<void> {
    if (shell.currentPrompt.trimEnd().endsWith('>')) {
      throw new ConnectorError(`${this.device} logged the bot in at user EXEC (prompt ${JSON.stringify(shell.currentPrompt)}): its account needs privilege 15 (IOS) or the administrators group (AOS-CX)`, { source: 'switch.cli' });
    }
    const reply = await shell.send(this.pagerOff);
    const errors = switchErrorLines(reply);
    if (errors.length) throw new ConnectorError(`${this.device} refused ${JSON.stringify(this.pagerOff)}: ${JSON.stringify(errors[0])}: is this a ${this.config.kind} switch?`, { source: 'switch.cli' });
  }
}
