import type { FlowSession, VpnSession } from '../firewall/driver';

/** Error lines FortiOS prints instead of (or after) doing what was asked. */
const FORTIOS_ERROR = /^(Command fail\. Return code -?\d+|Unknown action \d+|entry not found in datasource|node_check_object fail!?.*|command parse error before .*|value parse error before .*|Attribute '[^']*' MUST be set\.?|The entry is used by other \d+ entries|invalid (?:ip|netmask|address|value|input)\b.*)$/i;

export function fortiOsErrorLines(output: string): string[] {
  return output.split('\n').map((l) => l.trim()).filter((l) => FORTIOS_ERROR.test(l));
}

/** The quoted (or bare) tokens after `set member` in `show firewall addrgrp <name>` output. */
export function parseGroupMembers(showOutput: string, group: string): string[] | undefined {
  const lines = showOutput.split('\n').map((l) => l.trim());
  const start = lines.findIndex((l) => l === `edit "${group}"` || l === `edit ${group}`);
  if (start < 0) return undefined;
  for (let i = start + 1; i < lines.length && lines[i] !== 'next'; i++) {
    const m = /^set member (.*)$/.exec(lines[i]);
    if (m) return tokens(m[1]);
  }
  return [];
}

/** Whether `show firewall address <name>` printed that entry. */
export function showsEntry(showOutput: string, name: string): boolean {
  return showOutput.split('\n').some((l) => l.trim() === `edit "${name}"`);
}

function tokens(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
  return out;
}

const IP_TOKEN = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/;
const num = (s: string | undefined): number | null => (s !== undefined && /^\d+$/.test(s) ? Number(s) : null);

/**
 * `get vpn ssl monitor` / `execute vpn sslvpn list`: two tables, "SSL VPN Login Users" (web
 * logins; cut with del-web <index>) and "SSL VPN sessions" (tunnels; cut with del-tunnel <index>).
 * Columns are whitespace-separated; user names with spaces cannot be matched and are skipped.
 */
export function parseSslVpnMonitor(output: string, firewallId: string): VpnSession[] {
  const out: VpnSession[] = [];
  let section: 'web' | 'tunnel' | undefined;
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (/^SSL[- ]VPN Login Users:?/i.test(line)) { section = 'web'; continue; }
    if (/^SSL[- ]VPN sessions:?/i.test(line)) { section = 'tunnel'; continue; }
    if (!section || !line || /^Index\b/i.test(line)) continue;
    const t = line.split(/\s+/);
    const index = num(t[0]);
    if (index === null || t.length < 3) continue;
    const ipAt = t.findIndex((x, i) => i >= 2 && IP_TOKEN.test(x));
    if (section === 'web') {
      out.push({
        firewallId, kind: 'sslvpn-web', user: t[1], sourceIp: ipAt >= 0 ? t[ipAt] : null, tunnelIp: null,
        durationSeconds: null, bytesIn: null, bytesOut: null, handle: { index },
      });
    } else {
      // Index User Group SourceIP Duration In/Out TunnelIP
      const io = ipAt >= 0 ? t[ipAt + 2] : undefined;
      const [bin, bout] = io && /^\d+\/\d+$/.test(io) ? io.split('/').map(Number) : [null, null];
      const last = t[t.length - 1];
      out.push({
        firewallId, kind: 'sslvpn-tunnel', user: t[1], sourceIp: ipAt >= 0 ? t[ipAt] : null,
        tunnelIp: IP_TOKEN.test(last) && t.length - 1 !== ipAt ? last : null,
        durationSeconds: ipAt >= 0 ? num(t[ipAt + 1]) : null, bytesIn: bin, bytesOut: bout, handle: { index },
      });
    }
  }
  return out;
}

/** Splits `addr:port` where addr may be IPv6 (the port is after the last colon). */
function hostPort(s: string): { host: string; port: number | null } {
  const i = s.lastIndexOf(':');
  return i < 0 ? { host: s, port: null } : { host: s.slice(0, i), port: num(s.slice(i + 1)) };
}

/**
 * `diagnose sys session list` / `session6 list`: blocks starting `session info:` (or `session6
 * info:`). Takes proto, duration, the org/reply byte counters and the original direction's tuple.
 */
export function parseSessionList(output: string, firewallId: string): FlowSession[] {
  const blocks = output.split(/^(?=session6? info:)/m).filter((b) => /^session6? info:/.test(b));
  const out: FlowSession[] = [];
  for (const b of blocks) {
    const proto = /\bproto=(\d+)/.exec(b)?.[1] ?? '?';
    const duration = num(/\bduration=(\d+)/.exec(b)?.[1]);
    const stats = /org=(\d+)\/\d+\/\d+ reply=(\d+)\/\d+\/\d+/.exec(b);
    const tuple = /dir=org act=\S+ (\S+)->(\S+?)(?:\(|\s|$)/m.exec(b);
    if (!tuple) continue;
    const src = hostPort(tuple[1]);
    const dst = hostPort(tuple[2]);
    out.push({
      firewallId,
      id: /\bserial=([0-9a-f]+)/.exec(b)?.[1] ?? null,
      proto: ({ '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmp6' } as Record<string, string>)[proto] ?? proto,
      src: src.host, srcPort: src.port, dst: dst.host, dstPort: dst.port,
      durationSeconds: duration,
      bytesOriginal: stats ? Number(stats[1]) : null,
      bytesReply: stats ? Number(stats[2]) : null,
    });
  }
  return out;
}

/** One IKE gateway entry of `diagnose vpn ike gateway list` that a dial-up user owns. */
export interface IkeDialupEntry {
  /** the gateway (instance) name, e.g. `FCT-Dialup_0`: what `diagnose vpn ike gateway clear name` takes */
  name: string;
  user: string;
  remoteIp: string | null;
  assignedIp: string | null;
  createdSeconds: number | null;
  /** `initiator/responder` IKE SA cookies from the `id/spi:` line: unique per IKE SA */
  ikeSa: string | null;
}

/**
 * `diagnose vpn ike gateway list`: one block per gateway, each starting `vd: <vdom>/<n>` (or
 * `name:` where the vd line is absent), then `key: value` lines. Only blocks naming a user
 * (`xauth-user:` for IKEv1 XAuth, `eap-user:` for IKEv2 EAP) are dial-up clients; site-to-site
 * gateways carry none and are left out. The user is the rest of the line (spaces allowed).
 */
export function parseIkeGateways(output: string): IkeDialupEntry[] {
  const out: IkeDialupEntry[] = [];
  let cur: Record<string, string> | undefined;
  const flush = () => {
    if (!cur?.name) return;
    const user = cur['xauth-user'] ?? cur['eap-user'];
    if (!user) return;
    // `addr: <local>:<port> -> <remote>:<port>` (older releases print `->` without the space)
    const addr = /->\s*(\S+)/.exec(cur.addr ?? '');
    const remote = addr ? hostPort(addr[1]).host : null;
    const assigned = /^(\S+?)\//.exec(cur['assigned IPv4 address'] ?? '')?.[1] ?? null;
    const spi = /^\d+\s+([0-9a-f]+\/[0-9a-f]+)$/.exec(cur['id/spi'] ?? '')?.[1] ?? null;
    out.push({ name: cur.name, user, remoteIp: remote, assignedIp: assigned, createdSeconds: num(/^(\d+)s ago$/.exec(cur.created ?? '')?.[1]), ikeSa: spi });
  };
  for (const raw of output.split('\n')) {
    const m = /^(\s*)([A-Za-z0-9][A-Za-z0-9 _/()\-]*?):\s?(.*)$/.exec(raw);
    if (!m) continue;
    const [, indent, key, value] = m;
    if (!indent && (key === 'vd' || (key === 'name' && cur?.name !== undefined))) { flush(); cur = {}; }
    cur ??= {};
    // the first `id/spi` (the current IKE SA) and the top-level keys; nested lines do not overwrite them
    if (cur[key] === undefined) cur[key] = value.trim();
  }
  flush();
  return out;
}

/** `<src [a-1] dst [b-2] proto tcp dev port2> matches policy id: 5` → 5 (0: the implicit deny). */
export function parseIpropeLookup(output: string): number | undefined {
  const m = /matches policy id:\s*(\d+)/.exec(output);
  return m ? Number(m[1]) : undefined;
}

/** The name and action of `edit <id>` in `show firewall policy <id>`; `set action` absent means deny (the default). */
export function parsePolicy(showOutput: string, id: number): { name: string | null; action: 'accept' | 'deny' | 'ipsec' } | undefined {
  const lines = showOutput.split('\n').map((l) => l.trim());
  const start = lines.findIndex((l) => l === `edit ${id}`);
  if (start < 0) return undefined;
  let name: string | null = null;
  let action: 'accept' | 'deny' | 'ipsec' = 'deny';
  for (let i = start + 1; i < lines.length && lines[i] !== 'next'; i++) {
    const n = /^set name (.*)$/.exec(lines[i]);
    if (n) name = tokens(n[1])[0] ?? null;
    const a = /^set action (accept|deny|ipsec)$/.exec(lines[i]);
    if (a) action = a[1] as typeof action;
  }
  return { name, action };
}
