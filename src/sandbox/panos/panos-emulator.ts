import { startCliSshServer } from '../fortios/ssh-cli-server';
import { PanOsCli } from './panos-cli';
import { contosoPanOsState, emptyPanOsState, type PanOsState } from './panos-state';

export interface PanOsEmulator {
  port: number;
  hostKeySha256: string;
  state: PanOsState;
  received: string[];
  readonly connections: number;
  close(): Promise<void>;
}

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
  const server = await startCliSshServer({
    port: opts.port,
    users: opts.users,
    hostKey: opts.hostKey,
    newSession: (username) => new PanOsCli(state, username),
  });
  return {
    port: server.port,
    hostKeySha256: server.hostKeySha256,
    state,
    received: server.received,
    get connections() { return server.connections; },
    close: () => server.close(),
  };
}

export { contosoPanOsState, emptyPanOsState, PanOsCli };
export type { PanOsState };
