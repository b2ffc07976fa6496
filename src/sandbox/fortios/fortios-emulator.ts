import { startCliEmulator, type CliEmulator } from '../ssh-cli-server';
import { FortiOsCli } from './fortios-cli';
import { contosoFortiGateState, emptyFortiOsState, type FortiOsState, type FortiOsStateInit } from './fortios-state';

export type FortiOsEmulator = CliEmulator<FortiOsState>;

/**
 * A FortiGate CLI over SSH for the sandbox and the tests. `state` overrides parts of an empty
 * device (use `contosoFortiGateState()` for the sandbox story).
 */
export async function startFortiOsEmulator(opts: {
  port?: number;
  hostname?: string;
  users: Array<{ username: string; password: string }>;
  hostKey?: string;
  state?: FortiOsStateInit;
}): Promise<FortiOsEmulator> {
  const state: FortiOsState = { ...emptyFortiOsState(opts.hostname), ...opts.state };
  if (opts.hostname) state.hostname = opts.hostname;
  return startCliEmulator({ port: opts.port, users: opts.users, hostKey: opts.hostKey }, state, (st) => new FortiOsCli(st));
}

export { contosoFortiGateState, emptyFortiOsState, FortiOsCli };
export type { FortiOsState, FortiOsStateInit };

/** The sandbox's Contoso FortiGate (src/sandbox/contoso.ts): port 2222 unless given, its login. */
export async function startContosoFortiGate(opts: { port?: number; hostKey?: string } = {}): Promise<FortiOsEmulator> {
  const { CONTOSO } = await import('../contoso');
  return startFortiOsEmulator({
    port: opts.port ?? CONTOSO.fortigate.port,
    hostname: 'FGT-CONTOSO',
    users: [{ username: CONTOSO.fortigate.username, password: CONTOSO.fortigate.password }],
    hostKey: opts.hostKey,
    state: contosoFortiGateState(),
  });
}
