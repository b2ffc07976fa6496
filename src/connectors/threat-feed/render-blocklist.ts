import { ipFamily, ipToBytes, parseIp, type IpAddress } from '../../domain/net';
import type { FeedEntry } from '../../domain/feed-entry';

const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$/;

function compareIps(a: IpAddress, b: IpAddress): number {
  const fa = ipFamily(a);
  const fb = ipFamily(b);
  if (fa !== fb) return fa - fb;
  const x = ipToBytes(a);
  const y = ipToBytes(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/**
 * The External Dynamic List / external-resource file a firewall pulls: one address a line with a
 * comment naming the incident and the expiry (`203.0.113.7 # IR-20261127-7K3Q expires 2026-12-04T09:00:00.000Z`).
 * Only entries not removed and not expired at `now`; IPv4 before IPv6, in address order, so the
 * same state always gives the same bytes. A line is written only from a re-parsed IP.
 */
export function renderBlocklist(entries: FeedEntry[], now: Date): string {
  const at = now.getTime();
  const byIp = new Map<IpAddress, { incidentId: string; expiresAt: string }>();
  for (const e of entries) {
    if (e.removedAt || Date.parse(e.expiresAt) <= at) continue;
    let ip: IpAddress;
    try { ip = parseIp(e.ip); } catch { continue; }
    const prev = byIp.get(ip);
    if (!prev || Date.parse(e.expiresAt) > Date.parse(prev.expiresAt)) byIp.set(ip, { incidentId: e.incidentId, expiresAt: e.expiresAt });
  }
  const lines = [...byIp.entries()].sort(([a], [b]) => compareIps(a, b)).map(([ip, v]) => {
    const incident = INCIDENT_ID.test(v.incidentId) ? v.incidentId : 'incident';
    return `${ip} # ${incident} expires ${new Date(v.expiresAt).toISOString()}`;
  });
  return lines.length ? `${lines.join('\n')}\n` : '';
}
