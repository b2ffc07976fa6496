import { cleanOutput, keyValues } from './cli-output';
import { macHex, type MacTableEntry, type PortAuthSession, type PortLogLine, type PortNeighbor, type PortStatus } from './port-facts';
import { samePort } from './switch-values';

/**
 * Parsers for Aruba AOS-CX (10.x) show commands, written against real captured outputs
 * (test/fixtures/switch/aruba-aoscx, sources in SOURCES.md). A record cut short is skipped.
 */

const METHODS: Record<string, string> = { dot1x: '802.1X', 'mac-auth': 'MAC-auth', 'port-security': 'port-security', 'device-profile': 'device-profile' };

/**
 * `show aaa authentication port-access interface <if> client-status` (10.04-10.09; 10.10+ also
 * prints it for `show port-access clients interface <if> detail`): one block per client,
 * headed `Client <mac>, <user name>`.
 */
export function parseAoscxPortAccessClients(text: string): PortAuthSession[] {
  const out: PortAuthSession[] = [];
  const blocks = cleanOutput(text).split(/\n(?=Client [0-9a-f]{2}(?::[0-9a-f]{2}){5})/i);
  for (const block of blocks) {
    const head = /^\s*Client ([0-9a-f]{2}(?::[0-9a-f]{2}){5}),\s*(\S*)/im.exec(block);
    if (!head) continue;
    const kv = keyValues(block.slice(head.index + head[0].length), /^\s*([A-Za-z][A-Za-z0-9 ]*?)\s+:\s?(.*)$/);
    const get = (k: string) => kv.find(([key]) => key === k)?.[1];
    const port = get('Port');
    const auth = get('Status');
    // The client's port and its authentication status must both have been printed.
    if (!port || !auth) continue;
    const m = /^(dot1x|mac-auth|port-security|device-profile)\s+(.+)$/.exec(auth);
    const authz = kv.filter(([k]) => k === 'Status')[1]?.[1];
    const vlan = get('VLAN') ?? get('Vlan') ?? get('Access VLAN');
    const ipv4 = get('IPv4 Address');
    out.push({
      interface: port,
      mac: macHex(head[1]),
      userName: head[2] || undefined,
      ipv4: ipv4 || undefined,
      method: m ? METHODS[m[1]] : undefined,
      status: auth,
      authorised: /Authenticated$/.test(auth) && (authz === undefined || authz === 'Applied'),
      vlan: vlan ? /(\d+)/.exec(vlan)?.[1] : undefined,
      role: get('Role') || undefined,
    });
  }
  return out;
}

/** `show mac-address-table [address <mac>]`: `MAC Address  VLAN  Type  Port` rows. */
export function parseAoscxMacTable(text: string): MacTableEntry[] {
  const out: MacTableEntry[] = [];
  for (const line of cleanOutput(text).split('\n')) {
    const m = /^\s*([0-9a-f]{2}(?::[0-9a-f]{2}){5})\s+(\d{1,4})\s+(\S+)\s+(\S+)\s*$/i.exec(line);
    if (m) out.push({ mac: macHex(m[1])!, vlan: m[2], type: m[3], port: m[4] });
  }
  return out;
}

/** `show interface <if>`: `Interface 1/1/12 is up` then indented fields. */
export function parseAoscxInterface(text: string): PortStatus[] {
  const out: PortStatus[] = [];
  const blocks = cleanOutput(text).split(/\n(?=Interface \S+ is )/);
  for (const block of blocks) {
    const head = /^\s*Interface (\S+) is (up|down)\b/m.exec(block);
    if (!head) continue;
    const line = (re: RegExp) => re.exec(block)?.[1]?.trim();
    const admin = line(/^\s*Admin state is (\w+)/m);
    const access = line(/^\s*Access VLAN:\s*(\d+)/m);
    const native = line(/^\s*Native VLAN:\s*(\d+)/m);
    const speed = line(/^\s*Speed (\d+ [MG]b\/s)/m);
    out.push({
      port: head[1],
      description: line(/^\s*Description:[ \t]*(\S.*)$/m) || undefined,
      status: head[2],
      linkUp: head[2] === 'up',
      adminUp: admin ? admin === 'up' : undefined,
      vlan: access ?? native,
      duplex: line(/^\s*((?:Full|Half)-duplex)/m),
      speed,
      type: line(/^\s*Type (\S+)/m),
      linkState: line(/^\s*Link state:\s*(.+)$/m),
    });
  }
  return out;
}

// `2024-01-18T15:55:56.123+01:00 sw intfd[1633]: Event|403|LOG_INFO|AMM|1/1|Link status for interface 1/1/1 is up`
const LOG_LINE = /^(\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d)?)?\s*(?:\S+\s+)?(?:\S+?(?:\[\d+\])?:\s+)?(Event\|\d+\|LOG_[A-Z]+\|[^|]*\|[^|]*)\|(.*)$/;

/**
 * `show logging | include <if>` lines that name the port (`1/1/1` must not match `1/1/12`).
 * Note: no real AOS-CX `show logging` capture was found in the public template suites; this
 * follows the event-log layout AOS-CX documents (`Event|<id>|<severity>|<module>|<slot>|<text>`).
 */
export function parseAoscxLog(text: string, port: string): PortLogLine[] {
  const out: PortLogLine[] = [];
  for (const raw of cleanOutput(text).split('\n')) {
    const m = LOG_LINE.exec(raw.trim());
    if (!m) continue;
    const names = m[3].match(/\b\d{1,2}\/\d{1,2}\/\d{1,3}(?::\d)?\b/g) ?? [];
    if (!names.some((n) => samePort('aruba-aoscx', n, port))) continue;
    out.push({ time: m[1], tag: m[2], message: m[3], raw: raw.trim() });
  }
  return out;
}

/** `show lldp neighbor-info <if>` / `... detail`: blocks of `Key : value` headed by `Port : <if>`. */
export function parseAoscxLldp(text: string): PortNeighbor[] {
  const out: PortNeighbor[] = [];
  for (const block of cleanOutput(text).split(/\n(?=Port\s+:\s)/)) {
    const kv = keyValues(block, /^\s*([A-Za-z][A-Za-z0-9 \-]*?)\s+:\s?(.*)$/);
    const get = (k: string) => kv.find(([key]) => key === k)?.[1] || undefined;
    const port = get('Port');
    const name = get('Neighbor Chassis-Name') ?? get('Neighbor System-Name');
    const chassis = get('Neighbor Chassis-ID');
    if (!port || !(name || chassis)) continue;
    out.push({
      protocol: 'lldp',
      localPort: port,
      deviceId: name ?? chassis,
      address: get('Neighbor Management-Address'),
      platform: get('Neighbor Chassis-Description') ?? get('Neighbor System-Description'),
      remotePort: get('Neighbor Port-ID'),
    });
  }
  return out;
}
