import type { FlowSession, VpnSession } from '../firewall/driver';

/** Error lines PAN-OS prints; commit validation details follow `Commit failed` as `a -> b` lines. */
const PANOS_ERROR = /^(Invalid syntax\.?|Unknown command:?.*|Server error.*|Commit failed.*|Error:.*|Validation Error:?.*|.* -> .* is not a valid reference.*|.* is missing '.*'.*)$/;

export function panOsErrorLines(output: string): string[] {
  return output.split('\n').map((l) => l.trim()).filter((l) => PANOS_ERROR.test(l));
}

/** Members of `static` in `show address-group <name>` (configure mode), or undefined when absent. */
export function parseStaticMembers(showOutput: string, group: string): string[] | undefined {
  const text = showOutput.split('\n').filter((l) => l.trim() !== '[edit]').join('\n');
  const esc = group.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const block = new RegExp(`(?:^|\\n)\\s*"?${esc}"? \\{([\\s\\S]*?)\\n\\s*\\}`).exec(text);
  if (!block) return undefined;
  const list = /static \[([^\]]*)\];/.exec(block[1]);
  if (list) return list[1].trim().split(/\s+/).filter(Boolean).map(unquote);
  const single = /static ("[^"]*"|\S+);/.exec(block[1]);
  return single ? [unquote(single[1])] : [];
}

export function showsObject(showOutput: string, name: string): boolean {
  return showOutput.split('\n').some((l) => l.trim() === `${name} {` || l.trim() === `"${name}" {`);
}

const unquote = (s: string) => (s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s);

/**
 * `show global-protect-gateway current-user`: per user a `Tunnel Name : <gateway>` line followed by
 * `Key : value` lines (Domain-User Name, Computer, Private IP, Public IP (connected), Login Time, ...).
 */
export function parseGlobalProtectUsers(output: string, firewallId: string): VpnSession[] {
  const out: VpnSession[] = [];
  let cur: Record<string, string> | undefined;
  const flush = () => {
    if (!cur) return;
    const domainUser = cur['Primary Username'] || cur['Domain-User Name'] || cur['Username'] || '';
    const user = domainUser.includes('\\') ? domainUser.slice(domainUser.lastIndexOf('\\') + 1) : domainUser;
    const ip = (v: string | undefined) => (v && v !== '::' ? v : null);
    out.push({
      firewallId, kind: 'globalprotect', user,
      sourceIp: ip(cur['Public IP (connected)'] ?? cur['Client IP'] ?? cur['Public IP']),
      tunnelIp: ip(cur['Private IP']),
      durationSeconds: null, bytesIn: null, bytesOut: null,
      handle: { gateway: cur['Tunnel Name'], computer: cur['Computer'] || undefined },
      loginTime: cur['Login Time'],
    });
  };
  for (const line of output.split('\n')) {
    const m = /^\s*([A-Za-z][A-Za-z0-9 ()/\-]*?)\s*:\s?(.*)$/.exec(line);
    if (!m || /^GlobalProtect Gateway$/.test(m[1])) continue;
    const [, key, value] = m;
    if (key === 'Tunnel Name') { flush(); cur = {}; }
    if (cur) cur[key] = value.trim();
  }
  flush();
  return out;
}

/**
 * `show session all filter ...`: two lines a session, after the dashed header:
 * `ID App State Type Flag Src[Sport]/Zone/Proto (xlat)` then `Vsys Dst[Dport]/Zone (xlat)`.
 */
export function parsePanOsSessions(output: string, firewallId: string): FlowSession[] {
  const lines = output.split('\n');
  const out: FlowSession[] = [];
  const PROTO: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmp6' };
  for (let i = 0; i < lines.length - 1; i++) {
    const a = /^(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(?:\S+\s+)?(\S+)\[(\d+)\]\/([^/\s]+)\/(\d+)/.exec(lines[i]);
    if (!a) continue;
    const b = /^(\S+)\s+(\S+)\[(\d+)\]\/(\S+)/.exec(lines[i + 1]);
    if (!b) continue;
    out.push({
      firewallId, id: a[1], application: a[2], state: a[3],
      proto: PROTO[a[8]] ?? a[8],
      src: a[5], srcPort: Number(a[6]), dst: b[2], dstPort: Number(b[3]),
      durationSeconds: null, bytesOriginal: null, bytesReply: null,
    });
    i++;
  }
  return out;
}

/** One rule block of `test security-policy-match`. */
export interface PanOsRuleMatch { name: string; index: number | null; action: string; from: string | null; to: string | null }

/**
 * `test security-policy-match ...`: the matching rule(s), first match first, each as
 * `"<name>; index: <n>" {` then `key value;` lines and `}` (layout of the ntc-templates capture,
 * test/fixtures/panos/SOURCES.md). Names may contain spaces; the quotes are optional.
 */
export function parseSecurityPolicyMatch(output: string): PanOsRuleMatch[] {
  const out: PanOsRuleMatch[] = [];
  let cur: PanOsRuleMatch | undefined;
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    const head = /^"?(.+?); index: (\d+)"? \{$/.exec(line) ?? /^"?(.+?)"? \{$/.exec(line);
    if (head) { cur = { name: head[1], index: head[2] !== undefined ? Number(head[2]) : null, action: '', from: null, to: null }; continue; }
    if (!cur) continue;
    if (line === '}') { out.push(cur); cur = undefined; continue; }
    const kv = /^(action|from|to) (.+?);?$/.exec(line);
    if (kv) cur[kv[1] as 'action' | 'from' | 'to'] = kv[2];
  }
  return out.filter((r) => r.action);
}
