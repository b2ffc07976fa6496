import type { FirewallConfig, SshTarget } from '../../config/customers';
import { CliDevice } from '../ssh/cli-device';
import { ConnectorError, type RawPayload } from '../types';
import type { FirewallDriverDeps } from './driver';

export type { CliRun } from '../ssh/cli-device';

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
 * The common half of the SSH-CLI firewall drivers (the session, error checks and transcripts are
 * the shared CliDevice's); a refused command is a FirewallCommandError.
 */
export abstract class CliFirewallDriver extends CliDevice {
  readonly config: CliFirewallConfig;

  constructor(config: FirewallConfig, protected readonly deps: FirewallDriverDeps) {
    super();
    this.config = requireSsh(config);
  }

  protected get deviceId(): string { return this.config.id; }
  protected get sshTarget(): SshTarget { return this.config.ssh; }
  protected get access(): FirewallDriverDeps { return this.deps; }
  protected refused(message: string, transcript: RawPayload): Error {
    return new FirewallCommandError(message, transcript, { source: this.source });
  }
}
