import type { FirewallConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import type { IpAddress } from '../../domain/net';
import type { Logger } from '../../log';
import type { RawPayload } from '../types';

/** A remote-access VPN session as a firewall lists it. */
export interface VpnSession {
  firewallId: string;
  /**
   * FortiOS SSL-VPN tunnel / web (login) session, a FortiOS IPsec dial-up instance (FortiClient;
   * FortiOS 7.6.3 removed SSL-VPN tunnel mode), or a PAN-OS GlobalProtect user
   */
  kind: 'sslvpn-tunnel' | 'sslvpn-web' | 'ipsec-dialup' | 'globalprotect';
  /** the user name exactly as the device shows it */
  user: string;
  sourceIp: string | null;
  /** the address given to the client inside the tunnel */
  tunnelIp: string | null;
  durationSeconds: number | null;
  bytesIn: number | null;
  bytesOut: number | null;
  /**
   * how the device addresses this session when cutting it: FortiOS SSL-VPN index (as last read:
   * it may change after any delete), FortiOS IKE gateway instance name (`FCT_0`) with the IKE SA
   * cookies that tell this instance from a later one of the same name, PAN-OS gateway + computer
   * (+ domain)
   */
  handle: { index?: number; gateway?: string; computer?: string; domain?: string; ikeSa?: string };
  loginTime?: string;
}

/** One entry of the firewall's session (flow) table. */
export interface FlowSession {
  firewallId: string;
  id: string | null;
  proto: string;
  src: string;
  srcPort: number | null;
  dst: string;
  dstPort: number | null;
  durationSeconds: number | null;
  /** bytes from the originator / from the responder */
  bytesOriginal: number | null;
  bytesReply: number | null;
  application?: string;
  state?: string;
}

/** One flow to ask a firewall about: which policy would let `src` reach `dst:dstPort`. */
export interface PolicyQuery { src: IpAddress; dst: IpAddress; dstPort: number; protocol: 'tcp' | 'udp' }

/** The policy a firewall says matches a flow. */
export interface PolicyMatch {
  firewallId: string;
  query: PolicyQuery;
  /** FortiOS policy id / PAN-OS rule index as the device prints it; null for no explicit rule */
  policyId: string | null;
  policyName: string | null;
  /** the device's own word: FortiOS accept/deny/ipsec, PAN-OS allow/deny/drop/reset-… */
  action: string;
  /** whether the matched rule lets the traffic through */
  allows: boolean;
  /** true when no configured rule matched and the device's implicit/default rule applies */
  implicit: boolean;
  /** where the lookup was made: `from wan1`, `from untrust to trust` */
  context: string;
}

/** A device row the bot could not act on (a name no quoting makes safe, a row the device refused). */
export interface SkippedVpnSession { session: VpnSession; reason: string }
export interface RevokeResult { revoked: VpnSession[]; skipped: SkippedVpnSession[]; transcript: RawPayload }

export interface BlockResult { added: IpAddress[]; alreadyBlocked: IpAddress[]; transcript: RawPayload }
export interface UnblockResult { removed: IpAddress[]; notPresent: IpAddress[]; transcript: RawPayload }

/**
 * What the containment steps need from a perimeter firewall, vendor-neutral. Every method opens
 * (or reuses) one CLI session per device, reads before it writes, and returns the CLI transcript.
 * Values arrive validated (IpAddress is parsed); drivers validate again before building a line.
 */
export interface FirewallDriver {
  readonly config: FirewallConfig;
  /** the addresses currently in the block group (read-only) */
  listBlocked(): Promise<{ ips: IpAddress[]; transcript: RawPayload }>;
  /** adds an address object per IP and puts it in the block group; IPs already there are left alone */
  blockIps(ips: IpAddress[], opts: { incidentId: string }): Promise<BlockResult>;
  /** takes the objects out of the group, then deletes them */
  unblockIps(ips: IpAddress[]): Promise<UnblockResult>;
  listVpnSessions(user: string): Promise<{ sessions: VpnSession[]; transcript: RawPayload }>;
  /**
   * Cuts every session of the user; a row that cannot be handled is skipped with its reason and the
   * other rows are still cut (one odd computer name must not keep the attacker connected).
   */
  revokeVpnSessions(user: string): Promise<RevokeResult>;
  sessionTable(ips: IpAddress[]): Promise<{ sessions: FlowSession[]; transcript: RawPayload }>;
  /**
   * Asks the device which policy matches each flow (FortiOS `diagnose firewall iprope lookup`,
   * PAN-OS `test security-policy-match`); read-only. A flow the device cannot be asked about (no
   * interface/zones configured, an address family the command does not take) is skipped with its reason.
   */
  matchedPolicy(queries: PolicyQuery[]): Promise<{ matches: PolicyMatch[]; skipped: Array<{ query: PolicyQuery; reason: string }>; transcript: RawPayload }>;
  close(): Promise<void>;
}

export interface FirewallDriverDeps {
  secrets: SecretStore;
  log?: Logger;
}

export type FirewallDriverFactory = (config: FirewallConfig, deps: FirewallDriverDeps) => FirewallDriver;
