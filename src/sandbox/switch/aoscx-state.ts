/** What an emulated Aruba AOS-CX (10.x) access switch knows: its ports, port-access clients, MAC table, event log, LLDP. */
export interface AoscxPort {
  /** member/slot/port: 1/1/12 */
  name: string;
  description?: string;
  /** link present (a device plugged in) */
  link: boolean;
  adminShut: boolean;
  /** access VLAN */
  vlan: string;
  /** `Type` as `show interface` prints it: 1GbT, 5G-SmartRate, ... */
  type: string;
  /** the port's own MAC (`Hardware: Ethernet, MAC Address:`) */
  hwMac: string;
}

export interface AoscxClient {
  port: string;
  /** 12 lower-case hex digits */
  mac: string;
  userName: string;
  ipv4?: string;
  method: 'dot1x' | 'mac-auth';
  authenticated: boolean;
  role: string;
  sessionSeconds: number;
}

export interface AoscxLldpNeighbor { port: string; chassisName: string; chassisId: string; description: string; managementAddress: string; portId: string }

export interface AoscxSwitchState {
  hostname: string;
  ports: AoscxPort[];
  clients: AoscxClient[];
  /** learnt MACs; `type` as AOS-CX prints it (dynamic, port-access-security, static) */
  macTable: Array<{ mac: string; vlan: string; type: string; port: string }>;
  /** the event log, oldest first, lines as `show logging` prints them */
  log: string[];
  lldp: AoscxLldpNeighbor[];
}

export type AoscxSwitchStateInit = Partial<AoscxSwitchState>;

export function emptyAoscxSwitchState(hostname = 'switch'): AoscxSwitchState {
  return { hostname, ports: [], clients: [], macTable: [], log: [], lldp: [] };
}

/** An AOS-CX event-log line: `<ISO time> <host> <daemon>[pid]: Event|<id>|LOG_<sev>|<module>|<slot>|<text>`. */
export function aoscxLogLine(hostname: string, time: string, daemon: string, id: number, text: string): string {
  return `${time} ${hostname} ${daemon}: Event|${id}|LOG_INFO|AMM|1/1|${text}`;
}

/**
 * A second Contoso access switch, Aruba AOS-CX, in the Porto office: Megan Bowen's laptop on 1/1/12,
 * VLAN 30, 802.1X. (Used by the tests; the sandbox walkthrough keeps its one Cisco switch.)
 */
export function contosoAoscxSwitchState(): AoscxSwitchState {
  const host = 'sw-opo-1';
  return {
    hostname: host,
    ports: [
      { name: '1/1/1', description: 'uplink core', link: true, adminShut: false, vlan: '1', type: '10G-SFP+', hwMac: '88:25:10:38:11:01' },
      { name: '1/1/11', description: 'desk 1.11', link: false, adminShut: false, vlan: '30', type: '1GbT', hwMac: '88:25:10:38:11:0b' },
      { name: '1/1/12', description: 'desk 1.12', link: true, adminShut: false, vlan: '30', type: '1GbT', hwMac: '88:25:10:38:11:0c' },
    ],
    clients: [
      { port: '1/1/12', mac: '8c8caa4b5c6d', userName: 'megan.bowen', ipv4: '10.30.0.21', method: 'dot1x', authenticated: true, role: 'contoso-staff', sessionSeconds: 1534 },
    ],
    macTable: [
      { mac: '8c8caa4b5c6d', vlan: '30', type: 'port-access-security', port: '1/1/12' },
      { mac: '00a2eeb1c202', vlan: '1', type: 'dynamic', port: '1/1/1' },
    ],
    log: [
      aoscxLogLine(host, '2026-11-27T08:40:58.113+00:00', 'intfd[1633]', 403, 'Link status for interface 1/1/12 is up'),
      aoscxLogLine(host, '2026-11-27T08:41:01.402+00:00', 'port-accessd[2210]', 10503, 'Client 8c:8c:aa:4b:5c:6d on port 1/1/12 authenticated via dot1x'),
      aoscxLogLine(host, '2026-11-27T08:52:40.310+00:00', 'intfd[1633]', 403, 'Link status for interface 1/1/1 is up'),
    ],
    lldp: [],
  };
}
