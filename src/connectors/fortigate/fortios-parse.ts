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
