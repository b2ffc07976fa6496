import { isIP } from 'node:net';

/** An IP address that has been parsed and re-serialised: safe to place in a CLI line, a query or a card. */
export type IpAddress = string & { readonly __brand: 'IpAddress' };

export class InvalidInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'InvalidInputError';
  }
}

/** Shows at most 80 characters of a hostile value, with control characters made visible. */
export function quoteForError(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const cut = s.length > 80 ? `${s.slice(0, 80)}…` : s;
  return JSON.stringify(cut);
}

/**
 * Parses an IPv4 or IPv6 address (no zone id, no prefix) and returns its canonical text.
 * Everything an alert claims is an IP goes through here before it reaches a firewall or a feed.
 */
export function parseIp(value: unknown, field = 'ip'): IpAddress {
  if (typeof value !== 'string') throw new InvalidInputError(field, `not a string: ${quoteForError(value)}`);
  const v = value.trim();
  const family = isIP(v);
  if (family === 4) {
    // node accepts only dotted-quad without leading zeros; re-join to be sure of the canonical form.
    return v.split('.').map((o) => String(Number(o))).join('.') as IpAddress;
  }
  if (family === 6) return canonicalIpv6(v) as IpAddress;
  throw new InvalidInputError(field, `not an IPv4 or IPv6 address: ${quoteForError(value)}`);
}

export function ipFamily(ip: IpAddress): 4 | 6 {
  return isIP(ip) === 6 ? 6 : 4;
}

/** 16 bytes (IPv6) or 4 bytes (IPv4) */
export function ipToBytes(ip: string): number[] {
  if (isIP(ip) === 4) return ip.split('.').map(Number);
  let [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const parseGroups = (part: string | undefined): number[] => {
    if (!part) return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const b = g.split('.').map(Number);
        out.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = parseGroups(head);
  const t = parseGroups(tail);
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function canonicalIpv6(ip: string): string {
  const b = ipToBytes(ip);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  // RFC 5952: compress the longest run (>1) of zero groups, lower-case hex.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export interface Cidr { network: number[]; prefix: number; family: 4 | 6; text: string }

export function parseCidr(value: string, field = 'cidr'): Cidr {
  const [addr, prefixText, ...rest] = String(value).split('/');
  if (rest.length) throw new InvalidInputError(field, `not a CIDR range: ${quoteForError(value)}`);
  const ip = parseIp(addr, field);
  const family = ipFamily(ip);
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) {
    throw new InvalidInputError(field, `bad prefix length in ${quoteForError(value)}`);
  }
  return { network: ipToBytes(ip), prefix, family, text: `${ip}/${prefix}` };
}

export function cidrContains(range: Cidr, ip: IpAddress): boolean {
  if (ipFamily(ip) !== range.family) return false;
  const b = ipToBytes(ip);
  let bits = range.prefix;
  for (let i = 0; i < b.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((b[i] & mask) !== (range.network[i] & mask)) return false;
  }
  return true;
}
