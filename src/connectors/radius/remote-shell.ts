import type { SshTarget } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import type { Logger } from '../../log';
import { SshSession } from '../ssh';

/**
 * What the RADIUS connector needs from a shell on the RADIUS server. SshSession provides it; the
 * narrow interface keeps this connector testable and independent of how the session is made.
 */
export interface RemoteShell {
  readonly label: string;
  exec(command: string, opts?: { timeoutMs?: number; stdin?: string | Buffer }): Promise<{ stdout: string; stderr: string; code: number | null }>;
  execStream(command: string): Promise<NodeJS.ReadableStream>;
  close(): void;
}

export type OpenRemoteShell = (target: SshTarget, secrets: SecretStore, log?: Logger) => Promise<RemoteShell>;

export const openSshShell: OpenRemoteShell = (target, secrets, log) => SshSession.open({ target, secrets, log });

/** POSIX single-quoting. Callers validate first; this is the second line of defence. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
