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
 * An IPv6 form that embeds an IPv4 address (see embeddedIpv4) comes back AS that IPv4 address, so
 * the egress exclusion, the private ranges, the block list and the feed all judge the one host it
 * names, and a card shows `198.51.100.7`, not `::ffff:c633:6407`.
 */
export function parseIp(value: unknown, field = 'ip'): IpAddress {
  const literal = parseIpLiteral(value, field);
  if (isIP(literal) !== 6) return literal;
  const v4 = embeddedIpv4(ipToBytes(literal));
  return v4 ? (v4.join('.') as IpAddress) : literal;
}

/** The canonical text of an address exactly as written: an IPv6 form stays IPv6. */
function parseIpLiteral(value: unknown, field: string): IpAddress {
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

/**
 * The IPv6 forms that stand for one IPv4 host, with the bit where the IPv4 address starts:
 * IPv4-mapped ::ffff:a.b.c.d (a dual-stack socket's view of an IPv4 peer), SIIT's IPv4-translated
 * ::ffff:0:a.b.c.d, NAT64's well-known prefix 64:ff9b::/96 (RFC 6052), 6to4 2002:AABB:CCDD::/48
 * (RFC 3056: the site behind that IPv4 relay) and the deprecated IPv4-compatible ::a.b.c.d (only
 * from 1.0.0.0 up, so :: and ::1 stay themselves).
 */
const EMBEDDINGS: Array<{ name: string; prefix: number[]; at: number; test?: (b: number[]) => boolean }> = [
  { name: 'IPv4-mapped', prefix: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], at: 12 },
  { name: 'IPv4-translated', prefix: [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0], at: 12 },
  { name: 'NAT64', prefix: [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], at: 12 },
  { name: '6to4', prefix: [0x20, 0x02], at: 2 },
  { name: 'IPv4-compatible', prefix: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], at: 12, test: (b) => b[12] !== 0 },
];

function embeddingOf(bytes: number[]): (typeof EMBEDDINGS)[number] | undefined {
  if (bytes.length !== 16) return undefined;
  return EMBEDDINGS.find((e) => e.prefix.every((x, i) => bytes[i] === x) && (!e.test || e.test(bytes)));
}

/** The IPv4 address (4 bytes) an IPv6 address embeds, or undefined. */
export function embeddedIpv4(bytes: number[]): number[] | undefined {
  const e = embeddingOf(bytes);
  return e ? bytes.slice(e.at, e.at + 4) : undefined;
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

/**
 * A range. One written in an IPv6 form that embeds IPv4 (::ffff:198.51.100.0/120,
 * 2002:c633:6400::/40) is the IPv4 range it stands for, since addresses are compared as IPv4 (see
 * parseIp); one too wide to name any IPv4 network (::ffff:0:0/96 is every IPv4 address) is refused.
 */
export function parseCidr(value: string, field = 'cidr'): Cidr {
  const [addr, prefixText, ...rest] = String(value).split('/');
  if (rest.length) throw new InvalidInputError(field, `not a CIDR range: ${quoteForError(value)}`);
  const ip = parseIpLiteral(addr, field);
  const family = ipFamily(ip);
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) {
    throw new InvalidInputError(field, `bad prefix length in ${quoteForError(value)}`);
  }
  const bytes = ipToBytes(ip);
  const e = family === 6 ? embeddingOf(bytes) : undefined;
  if (e && prefix >= e.at * 8) {
    const v4prefix = Math.min(32, prefix - e.at * 8);
    if (v4prefix < 8) throw new InvalidInputError(field, `${quoteForError(value)} is an ${e.name} range covering /${v4prefix} of IPv4: write the IPv4 range itself`);
    const v4 = bytes.slice(e.at, e.at + 4);
    return { network: v4, prefix: v4prefix, family: 4, text: `${v4.join('.')}/${v4prefix}` };
  }
  return { network: bytes, prefix, family, text: `${ip}/${prefix}` };
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
