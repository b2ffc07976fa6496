import { isIP } from 'node:net';
import type { PanOsConfig } from './panos-state';

/**
 * The device's security-rule lookup, shared by the CLI (`test security-policy-match`) and the XML
 * API (`<test><security-policy-match>`) emulators: the index of the first rule of `config` that
 * matches the flow, or -1 (the interzone/intrazone default applies).
 */
export function firstMatchingRule(config: PanOsConfig, q: { from?: string; to?: string; src: string; dst?: string; proto?: number; port?: number }): number {
  return config.rules.findIndex((r) => zoneOk(r.from, q.from) && zoneOk(r.to, q.to)
    && r.source.some((a) => addressHas(config, a, q.src, new Set()))
    && (!r.destination || (q.dst !== undefined && r.destination.some((a) => addressHas(config, a, q.dst!, new Set()))))
    && (!r.service || r.service.some((sv) => sv.proto === q.proto && sv.port === q.port)));
}

/** Whether an address object (ip-netmask), a static group, or `any` contains `ip`. */
function addressHas(c: PanOsConfig, name: string, ip: string, seen: Set<string>): boolean {
  if (name === 'any') return true;
  if (seen.has(name)) return false;
  seen.add(name);
  const a = c.address.get(name);
  if (a) return cidrHas(a.ipNetmask, ip);
  const g = c.addressGroup.get(name);
  return !!g && g.static.some((m) => addressHas(c, m, ip, seen));
}

const zoneOk = (ruleZones: string[] | undefined, asked: string | undefined) => !ruleZones || ruleZones.includes('any') || asked === undefined || ruleZones.includes(asked);

/** Whether `ip` falls in `net[/len]` (same family only). */
function cidrHas(netmask: string, ip: string): boolean {
  const [net, lenText] = netmask.split('/');
  const fam = isIP(net);
  if (fam !== isIP(ip)) return false;
  const bits = fam === 4 ? 32 : 128;
  const len = lenText === undefined ? bits : Number(lenText);
  const big = (a: string) => (fam === 4
    ? a.split('.').reduce((n, o) => (n << 8n) | BigInt(o), 0n)
    : expand6(a).reduce((n, h) => (n << 16n) | BigInt(parseInt(h, 16)), 0n));
  const shift = BigInt(bits - len);
  return (big(net) >> shift) === (big(ip) >> shift);
}

function expand6(a: string): string[] {
  const [head, tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  return tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
}
