import { isSuspiciousIp, type AlertIp } from './alert';
import { cidrContains, embeddedIpv4, ipToBytes, parseCidr, parseIp, quoteForError, type Cidr, type IpAddress } from './net';

/**
 * Which of the IPs an alert mentions get blocked at the customer's perimeter. Pure: the same
 * alert and customer always give the same answer, and every IP not blocked carries the reason,
 * so the approval card can say exactly what will and will not change.
 */
export interface IpSelection {
  block: IpAddress[];
  notBlocked: Array<{ ip: string; reason: string }>;
}

export interface IpSelectionPolicy {
  customerName: string;
  /** the customer's own egress ranges (CustomerConfig.egressRanges) */
  egressRanges: readonly string[];
}

// Addresses that are never routed on the Internet: blocking one at the perimeter cannot stop an
// attacker and may cut the customer's own network. Documentation ranges are deliberately absent
// (the sandbox's attacker lives in 203.0.113.0/24).
const NON_PUBLIC: Array<{ cidr: Cidr; what: string }> = [
  ['0.0.0.0/8', 'a "this network" address'],
  ['10.0.0.0/8', 'a private address'],
  ['100.64.0.0/10', 'a carrier-grade NAT (shared) address'],
  ['127.0.0.0/8', 'a loopback address'],
  ['169.254.0.0/16', 'a link-local address'],
  ['172.16.0.0/12', 'a private address'],
  ['192.168.0.0/16', 'a private address'],
  ['224.0.0.0/4', 'a multicast address'],
  ['240.0.0.0/4', 'a reserved address'],
  ['::/128', 'the unspecified address'],
  ['::1/128', 'a loopback address'],
  ['fc00::/7', 'a unique-local (private) address'],
  ['fe80::/10', 'a link-local address'],
  ['ff00::/8', 'a multicast address'],
].map(([c, what]) => ({ cidr: parseCidr(c), what }));

/** Why an address is not public, or null when it is. An IPv6 form that embeds IPv4 is judged by its IPv4. */
export function nonPublicReason(ip: IpAddress): string | null {
  const v4 = embeddedIpv4(ipToBytes(ip));
  if (v4) return nonPublicReason(parseIp(v4.join('.')));
  for (const r of NON_PUBLIC) {
    if (cidrContains(r.cidr, ip)) return `${r.what} (${r.cidr.text}): never blocked at the perimeter`;
  }
  return null;
}

export function selectIpsToBlock(ips: readonly AlertIp[], policy: IpSelectionPolicy): IpSelection {
  const egress = policy.egressRanges.map((r) => parseCidr(r, 'egressRanges'));
  // The same address may appear in several evidence items (or several alerts): suspicious if any says so.
  const merged = new Map<string, { ip: IpAddress; suspicious: boolean }>();
  const notBlocked: IpSelection['notBlocked'] = [];
  for (const entry of ips) {
    let ip: IpAddress;
    try {
      ip = parseIp(entry.ip);
    } catch {
      notBlocked.push({ ip: String(entry.ip).slice(0, 80), reason: `not a valid IP address: ${quoteForError(entry.ip)}` });
      continue;
    }
    const seen = merged.get(ip);
    merged.set(ip, { ip, suspicious: (seen?.suspicious ?? false) || isSuspiciousIp(entry) });
  }

  const block: IpAddress[] = [];
  for (const { ip, suspicious } of merged.values()) {
    const nonPublic = nonPublicReason(ip);
    const inEgress = egress.find((r) => cidrContains(r, ip));
    if (nonPublic) notBlocked.push({ ip, reason: nonPublic });
    else if (inEgress) notBlocked.push({ ip, reason: `inside ${policy.customerName} egress ${inEgress.text}` });
    else if (!suspicious) notBlocked.push({ ip, reason: 'not marked suspicious by the alert' });
    else block.push(ip);
  }
  return { block, notBlocked };
}
