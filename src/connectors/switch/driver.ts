import type { SwitchConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import type { Logger } from '../../log';
import type { RawPayload } from '../types';
import type { MacTableEntry, PortAuthSession, PortLogLine, PortNeighbor, PortStatus } from './port-facts';
import type { Mac, SwitchPort } from './switch-values';

/** Everything one port said about itself and the client MAC, read in one go. */
export interface PortFacts {
  switchId: string;
  port: SwitchPort;
  /** the client MAC in the vendor's spelling */
  mac: string;
  /** authentication sessions on the port (all of them; the client's is the one with its MAC) */
  sessions: PortAuthSession[];
  /** where the switch has learnt the client MAC (any port, any VLAN) */
  macEntries: MacTableEntry[];
  status?: PortStatus;
  /** the port's recent link and 802.1X events, oldest first */
  log: PortLogLine[];
  neighbors: PortNeighbor[];
  /** commands the device does not offer here (CDP off, ...): said, not failed */
  notes: string[];
}

/**
 * What the switch steps need from an access switch, vendor-neutral. One CLI session per device,
 * opened lazily and reused for every port of a batch; every method returns its transcript.
 * Ports and MACs arrive validated (SwitchPort, Mac); drivers re-check before building a line.
 */
export interface SwitchDriver {
  readonly config: SwitchConfig;
  portFacts(port: SwitchPort, mac: Mac): Promise<{ facts: PortFacts; transcript: RawPayload }>;
  /** whether the port is administratively shut now */
  isShut(port: SwitchPort): Promise<{ shut: boolean; transcript: RawPayload }>;
  /** `shutdown` on the port; nothing sent when it is already shut */
  shutPort(port: SwitchPort): Promise<{ changed: boolean; transcript: RawPayload }>;
  /** the undo: `no shutdown` */
  noShutPort(port: SwitchPort): Promise<{ changed: boolean; transcript: RawPayload }>;
  close(): Promise<void>;
}

export interface SwitchDriverDeps {
  secrets: SecretStore;
  log?: Logger;
}

export type SwitchDriverFactory = (config: SwitchConfig, deps: SwitchDriverDeps) => SwitchDriver;
