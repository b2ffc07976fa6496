import { startCliEmulator, type CliEmulator } from '../ssh-cli-server';
import { IosCli } from './ios-cli';
import { contosoAccessSwitchState, emptyIosSwitchState, type IosSwitchState, type IosSwitchStateInit } from './ios-state';

export type IosSwitchEmulator = CliEmulator<IosSwitchState>;

/** A Cisco IOS-XE access switch CLI over SSH for the sandbox and the tests. */
export async function startIosSwitchEmulator(opts: {
  port?: number;
  hostname?: string;
  users: Array<{ username: string; password: string }>;
  hostKey?: string;
  state?: IosSwitchStateInit;
}): Promise<IosSwitchEmulator> {
  const state: IosSwitchState = { ...emptyIosSwitchState(opts.hostname), ...opts.state };
  if (opts.hostname) state.hostname = opts.hostname;
  return startCliEmulator({ port: opts.port, users: opts.users, hostKey: opts.hostKey }, state, (st) => new IosCli(st));
}

export { contosoAccessSwitchState, emptyIosSwitchState, IosCli };
export type { IosSwitchState, IosSwitchStateInit };
