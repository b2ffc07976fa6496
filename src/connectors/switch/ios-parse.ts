import { cleanOutput, keyValues } from './cli-output';
import { macHex, type MacTableEntry, type PortAuthSession, type PortLogLine, type PortNeighbor, type PortStatus } from './port-facts';
import { samePort } from './switch-values';

/**
 * Parsers for Cisco IOS / IOS-XE show commands, written against real captured outputs
 * (test/fixtures/switch/cisco-ios, sources in SOURCES.md). Each tolerates a reply cut short: it
 * returns the complete records it saw and skips a half-printed one.
 */

const METHOD_NAMES: Record<string, string> = { dot1x: '802.1X', mab: 'MAB', webauth: 'web-auth' };

/**
 * `show authentication sessions interface <if> details` / `show access-session interface <if> details`:
 * blocks of `Key:  value` lines, one per session, separated by dashes.
 */
export function parseIosAuthSessions(text: string): PortAuthSession[] {
  const out: PortAuthSession[] = [];
  const lines = cleanOutput(text).split('\n');
  let block: string[] = [];
  const flush = () => {
    const s = sessionFromBlock(block);
    if (s) out.push(s);
    block = [];
  };
  for (const line of lines) {
    if (/^\s*Interface:\s/.test(line) && block.some((l) => /^\s*Interface:\s/.test(l))) flush();
    if (/^-{10,}\s*$/.test(line)) { flush(); continue; }
    block.push(line);
  }
  flush();
  return out;
}

function sessionFromBlock(lines: string[]): PortAuthSession | undefined {
  const kv = keyValues(lines.join('\n'), /^\s*([A-Za-z][A-Za-z0-9 \-]*?)\s*:\s\s?(.*)$/);
  const get = (k: string) => kv.find(([key]) => key === k)?.[1];
  const last = (k: string) => kv.filter(([key]) => key === k).pop()?.[1];
  const iface = get('Interface');
  const status = get('Status');
  // A record without its interface and status was cut off before its heading fields: skip it.
  if (!iface || !status) return undefined;
  let method: string | undefined;
  const listAt = lines.findIndex((l) => /^(Method status list|Runnable methods list):/.test(l.trim()));
  if (listAt >= 0) {
    for (const l of lines.slice(listAt + 1)) {
      const m = /^\s*(dot1x|mab|webauth)\s+(.+?)\s*$/.exec(l);
      if (m && /Auth[cz]? Success/i.test(m[2])) { method = METHOD_NAMES[m[1]]; break; }
    }
  }
  const vlanText = last('Vlan Group') ?? last('Vlan Policy');
  const vlan = vlanText ? /(\d+)\s*$/.exec(vlanText)?.[1] : undefined;
  const mac = get('MAC Address');
  const ipv4 = get('IPv4 Address') ?? get('IP Address');
  const user = get('User-Name');
  return {
    interface: iface,
    mac: mac ? macHex(mac) : undefined,
    userName: user && user !== 'Unknown' ? user : undefined,
    ipv4: ipv4 && /^\d{1,3}(\.\d{1,3}){3}$/.test(ipv4) ? ipv4 : undefined,
    method,
    status,
    authorised: /^(Authorized|Authz Success)$/i.test(status),
    domain: get('Domain'),
    vlan,
    sessionId: get('Common Session ID') ?? get('Session ID'),
  };
}

const MAC_TYPES = /^(dynamic|static|secure|system|sticky|self|igmp|overlay|drop|pv|port-security)$/i;

/**
 * `show mac address-table [address <mac>]` in its several IOS layouts (Catalyst 2960/3850/9300
 * `Vlan Mac Address Type Ports`, 6500 `vlan mac type protocols port` or `... learn age ports`,
 * 2900XL `Destination Address Address Type VLAN Destination Port`).
 */
export function parseIosMacTable(text: string): MacTableEntry[] {
  const out: MacTableEntry[] = [];
  for (const raw of cleanOutput(text).split('\n')) {
    const toks = raw.trim().replace(/^[*+RDSO#]\s+/, '').split(/\s+/);
    const macAt = toks.findIndex((t) => /^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i.test(t));
    if (macAt < 0) continue;
    const typeAt = toks.findIndex((t) => MAC_TYPES.test(t));
    const type = toks[typeAt];
    // The VLAN column comes before the MAC, except on the 2900XL layout (after the type).
    const isVlan = (t: string | undefined) => t !== undefined && /^(\d{1,4}|All)$/.test(t);
    const vlan = isVlan(toks[macAt - 1]) ? toks[macAt - 1] : isVlan(toks[typeAt + 1]) ? toks[typeAt + 1] : undefined;
    const port = toks[toks.length - 1];
    // A row cut before its port column ends on the type or a number: not a complete entry.
    if (!vlan || !type || toks.length < 4 || MAC_TYPES.test(port) || /^\d+$|^(Yes|No|-)$/.test(port) || port === toks[macAt]) continue;
    out.push({ mac: macHex(toks[macAt])!, vlan, type: type.toLowerCase(), port });
  }
  return out;
}

/**
 * `show interfaces [<if>] status`: a fixed-column table whose Name column may hold spaces and
 * keywords; columns are cut where the header puts them.
 */
export function parseIosInterfaceStatus(text: string): PortStatus[] {
  const lines = cleanOutput(text).split('\n');
  const headAt = lines.findIndex((l) => /^Port\s+Name\s+Status\s+Vlan\s+Duplex\s+Speed\s+Type/.test(l));
  if (headAt < 0) return [];
  const head = lines[headAt];
  const nameAt = head.indexOf('Name');
  const statusAt = head.indexOf('Status');
  const vlanAt = head.indexOf('Vlan');
  const out: PortStatus[] = [];
  for (const line of lines.slice(headAt + 1)) {
    if (!line.trim()) continue;
    const port = line.slice(0, nameAt).trim();
    if (!/^[A-Za-z]+[\d/.:]+$/.test(port)) continue;
    const description = line.slice(nameAt, statusAt).trim();
    const status = line.slice(statusAt, vlanAt).trim();
    const rest = /^\s*(pvlan \S+|\S+)\s+(\S+)\s+(\S+)\s*(.*)$/.exec(line.slice(vlanAt));
    // A row cut before its speed column is incomplete: keep only what it surely says.
    if (!status) continue;
    out.push({
      port,
      description: description || undefined,
      status,
      linkUp: status === 'connected',
      adminUp: status !== 'disabled',
      vlan: rest?.[1],
      duplex: rest?.[2],
      speed: rest?.[3],
      type: rest?.[4] || undefined,
    });
  }
  return out;
}

// `065478: Dec  4 11:01:38.694 EST: %MAB-5-SUCCESS: ...`, `*Sep 14 05:59:54.113: %LINK-3-UPDOWN: ...`
const LOG_LINE = /^(?:\d+:\s+)?\*?(?:(.*?):\s+)?%([A-Z0-9_]+-\d-[A-Z0-9_]+):\s+(.*)$/;
const PORT_TOKEN = /[A-Za-z][A-Za-z-]*\d+(?:\/\d+)+/g;

/**
 * `show logging | include <if>`: syslog lines (`%FACILITY-SEVERITY-MNEMONIC: text`) that name
 * the port, either as `GigabitEthernet1/0/12` or `Gi1/0/12`. The device-side include is a regex
 * and may let a neighbour port through (`Gi1/0/1` in `Gi1/0/12`): lines are checked again here.
 */
export function parseIosLog(text: string, port: string): PortLogLine[] {
  const out: PortLogLine[] = [];
  for (const raw of cleanOutput(text).split('\n')) {
    const m = LOG_LINE.exec(raw.trim());
    if (!m) continue;
    const names = m[3].match(PORT_TOKEN) ?? [];
    if (!names.some((n) => samePort('cisco-ios', n, port))) continue;
    out.push({ time: m[1] || undefined, tag: m[2], message: m[3], raw: raw.trim() });
  }
  return out;
}

/** `show cdp neighbors [<if>] detail`: blocks separated by dashes. */
export function parseIosCdpDetail(text: string): PortNeighbor[] {
  const out: PortNeighbor[] = [];
  for (const block of cleanOutput(text).split(/\n-{5,}\s*(?=\n|$)/)) {
    const dev = /^Device ID:\s*(.+?)\s*$/m.exec(block);
    const intf = /^Interface:\s*([^,\s]+),\s+Port ID \(outgoing port\):\s*(.+?)\s*$/m.exec(block);
    // Without both the neighbour's name and the local port the record was cut short.
    if (!dev || !intf) continue;
    out.push({
      protocol: 'cdp',
      localPort: intf[1],
      deviceId: dev[1],
      remotePort: intf[2],
      address: /^\s*IP(?:v4)? address:\s*(\S+)/m.exec(block)?.[1],
      platform: /^Platform:\s*(.+?),\s+Capabilities:/m.exec(block)?.[1],
    });
  }
  return out;
}
