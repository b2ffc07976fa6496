/**
 * Vendor-neutral facts about one access port, as the parsers read them from the CLI. Every field
 * is optional: a truncated or odd reply gives fewer facts, never a made-up one.
 */

/** One authentication session on the port (IOS session details, AOS-CX port-access client). */
export interface PortAuthSession {
  interface: string;
  /** 12 lower-case hex digits */
  mac?: string;
  userName?: string;
  ipv4?: string;
  /** the method that authenticated the client: '802.1X', 'MAB', 'web-auth' */
  method?: string;
  /** the device's own status text: 'Authorized', 'Authz Success', 'mac-auth Authenticated' */
  status?: string;
  authorised: boolean;
  domain?: string;
  vlan?: string;
  role?: string;
  sessionId?: string;
}

export interface MacTableEntry {
  /** 12 lower-case hex digits */
  mac: string;
  vlan: string;
  type: string;
  port: string;
}

export interface PortStatus {
  port: string;
  description?: string;
  /** 'connected', 'notconnect', 'disabled', 'err-disabled' (IOS); 'up', 'down' (AOS-CX) */
  status: string;
  linkUp: boolean;
  adminUp?: boolean;
  vlan?: string;
  duplex?: string;
  speed?: string;
  type?: string;
  /** AOS-CX: 'up for 9 months (since Wed Jan 18 15:55:56 CET 2023)' */
  linkState?: string;
}

export interface PortLogLine {
  /** the device's timestamp text as printed (no year on IOS) */
  time?: string;
  /** IOS `LINK-3-UPDOWN`, AOS-CX `Event|403|LOG_INFO|AMM|1/1` */
  tag: string;
  message: string;
  raw: string;
}

export interface PortNeighbor {
  localPort: string;
  deviceId?: string;
  address?: string;
  platform?: string;
  remotePort?: string;
  protocol: 'cdp' | 'lldp';
}

/** The MAC in 12 lower-case hex digits, from any vendor spelling, or undefined. */
export function macHex(text: string): string | undefined {
  const m = /^(?:[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}|[0-9a-f]{2}(?::[0-9a-f]{2}){5}|[0-9a-f]{2}(?:-[0-9a-f]{2}){5})$/i.exec(text);
  return m ? text.replace(/[.:-]/g, '').toLowerCase() : undefined;
}
