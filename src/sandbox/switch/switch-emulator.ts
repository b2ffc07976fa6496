import { startCliEmulator, type CliEmulator } from '../ssh-cli-server';
import { IosCli } from './ios-cli';
import { contosoAccessSwitchState, emptyIosSwitchState, type IosSwitchState, type IosSwitchStateInit } from './ios-state';
import { AoscxCli } from './aoscx-cli';
import { contosoAoscxSwitchState, emptyAoscxSwitchState, type AoscxSwitchState, type AoscxSwitchStateInit } from './aoscx-state';

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

export type AoscxSwitchEmulator = CliEmulator<AoscxSwitchState>;

/** An Aruba AOS-CX access switch CLI over SSH for the tests (and a sandbox that wants a second vendor). */
export async function startAoscxSwitchEmulator(opts: {
  port?: number;
  hostname?: string;
  users: Array<{ username: string; password: string }>;
  hostKey?: string;
  state?: AoscxSwitchStateInit;
}): Promise<AoscxSwitchEmulator> {
  const state: AoscxSwitchState = { ...emptyAoscxSwitchState(opts.hostname), ...opts.state };
  if (opts.hostname) state.hostname = opts.hostname;
  return startCliEmulator({ port: opts.port, users: opts.users, hostKey: opts.hostKey }, state, (st) => new AoscxCli(st));
}

export { AoscxCli, contosoAoscxSwitchState, emptyAoscxSwitchState };
export type { AoscxSwitchState, AoscxSwitchStateInit };
