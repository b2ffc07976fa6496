import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Links to a forensic report that work from a Teams message: signed with HMAC-SHA256 and expiring,
 * so nobody can guess another incident's link, and a leaked link dies on its own. The key is
 * derived from the operator API token, so rotating that token revokes every link.
 */
export class ReportLinks {
  private readonly key: Buffer;

  constructor(apiToken: string, private readonly baseUrl: string, private readonly ttlMs = 7 * 24 * 3_600_000) {
    this.key = createHmac('sha256', 'teams-ir-bot report links').update(apiToken).digest();
  }

  private sign(incidentId: string, exp: number): string {
    return createHmac('sha256', this.key).update(`${incidentId}\n${exp}`).digest('base64url');
  }

  url(incidentId: string, now = new Date()): string {
    const exp = Math.floor((now.getTime() + this.ttlMs) / 1000);
    return `${this.baseUrl.replace(/\/+$/, '')}/reports/${encodeURIComponent(incidentId)}.md?exp=${exp}&sig=${this.sign(incidentId, exp)}`;
  }

  verify(incidentId: string, exp: unknown, sig: unknown, now = new Date()): boolean {
    if (typeof exp !== 'string' || !/^\d{1,12}$/.test(exp) || typeof sig !== 'string') return false;
    if (Number(exp) * 1000 < now.getTime()) return false;
    const want = Buffer.from(this.sign(incidentId, Number(exp)));
    const got = Buffer.from(sig);
    return want.length === got.length && timingSafeEqual(want, got);
  }
}
