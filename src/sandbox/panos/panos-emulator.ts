import { startCliEmulator, type CliEmulator } from '../ssh-cli-server';
import { PanOsCli } from './panos-cli';
import { contosoPanOsState, emptyPanOsState, type PanOsState } from './panos-state';

export type PanOsEmulator = CliEmulator<PanOsState>;

/** A Palo Alto PAN-OS CLI over SSH for the sandbox and the tests. */
export async function startPanOsEmulator(opts: {
  port?: number;
  hostname?: string;
  users: Array<{ username: string; password: string }>;
  hostKey?: string;
  state?: Partial<PanOsState>;
}): Promise<PanOsEmulator> {
  const state: PanOsState = { ...emptyPanOsState(opts.hostname), ...opts.state };
  if (opts.hostname) state.hostname = opts.hostname;
  return startCliEmulator({ port: opts.port, users: opts.users, hostKey: opts.hostKey }, state, (st, username) => new PanOsCli(st, username));
}

export { contosoPanOsState, emptyPanOsState, PanOsCli };
export type { PanOsState };
