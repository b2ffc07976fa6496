/** What an emulated Cisco IOS-XE access switch knows: its ports, 802.1X sessions, MAC table, log, CDP. */
export interface IosPort {
  /** full name: GigabitEthernet1/0/12 */
  name: string;
  description?: string;
  /** link present (a device plugged in) */
  link: boolean;
  adminShut: boolean;
  vlan: string;
  type: string;
}

export interface IosAuthSession {
  interface: string;
  /** 12 lower-case hex digits */
  mac: string;
  userName: string;
  ipv4?: string;
  method: 'dot1x' | 'mab';
  vlan: string;
  authorised: boolean;
  sessionId: string;
}

export interface IosCdpNeighbor { localPort: string; deviceId: string; ip: string; platform: string; remotePort: string }

export interface IosSwitchState {
  hostname: string;
  ports: IosPort[];
  sessions: IosAuthSession[];
  /** learnt MACs: port as IOS abbreviates it in the table (Gi1/0/12) */
  macTable: Array<{ vlan: string; mac: string; type: 'DYNAMIC' | 'STATIC'; port: string }>;
  /** the log buffer, oldest first, lines as IOS prints them */
  log: string[];
  cdp: IosCdpNeighbor[];
  cdpEnabled: boolean;
}

export type IosSwitchStateInit = Partial<IosSwitchState>;

export function emptyIosSwitchState(hostname = 'Switch'): IosSwitchState {
  return { hostname, ports: [], sessions: [], macTable: [], log: [], cdp: [], cdpEnabled: true };
}

/** The sandbox story: Adele Vance's laptop on Gi1/0/12 of sw-lis-3, VLAN 20, 802.1X. */
export function contosoAccessSwitchState(): IosSwitchState {
  return {
    hostname: 'sw-lis-3',
    ports: [
      { name: 'GigabitEthernet1/0/1', description: 'uplink core', link: true, adminShut: false, vlan: 'trunk', type: '10/100/1000BaseTX' },
      { name: 'GigabitEthernet1/0/11', description: 'desk 3.11', link: false, adminShut: false, vlan: '20', type: '10/100/1000BaseTX' },
      { name: 'GigabitEthernet1/0/12', description: 'desk 3.12', link: true, adminShut: false, vlan: '20', type: '10/100/1000BaseTX' },
    ],
    sessions: [
      { interface: 'GigabitEthernet1/0/12', mac: '3c22fb123456', userName: 'adele.vance', ipv4: '10.20.0.15', method: 'dot1x', vlan: '20', authorised: true, sessionId: '0A14000C0000001A2B3C4D5E' },
    ],
    macTable: [
      { vlan: '20', mac: '3c22fb123456', type: 'STATIC', port: 'Gi1/0/12' },
      { vlan: '1', mac: '00a2eeb1c201', type: 'DYNAMIC', port: 'Gi1/0/1' },
    ],
    log: [
      '000411: Nov 27 08:41:00.004: %LINK-3-UPDOWN: Interface GigabitEthernet1/0/12, changed state to up',
      '000412: Nov 27 08:41:01.009: %LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet1/0/12, changed state to up',
      "000413: Nov 27 08:41:02.118: %AUTHMGR-5-START: Starting 'dot1x' for client (3c22.fb12.3456) on Interface Gi1/0/12 AuditSessionID 0A14000C0000001A2B3C4D5E",
      '000414: Nov 27 08:41:02.870: %DOT1X-5-SUCCESS: Authentication successful for client (3c22.fb12.3456) on Interface Gi1/0/12 AuditSessionID 0A14000C0000001A2B3C4D5E',
      '000415: Nov 27 08:41:02.874: %AUTHMGR-5-SUCCESS: Authorization succeeded for client (3c22.fb12.3456) on Interface Gi1/0/12 AuditSessionID 0A14000C0000001A2B3C4D5E',
      '000416: Nov 27 08:52:40.310: %LINK-3-UPDOWN: Interface GigabitEthernet1/0/1, changed state to up',
    ],
    cdp: [],
    cdpEnabled: true,
  };
}
