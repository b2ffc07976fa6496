import type { FirewallConfig } from '../../config/customers';
import type { PolicyMatch, PolicyQuery } from '../firewall/driver';
import { checkedQuery, parseDeviceToken } from '../firewall/cli-values';
import type { RawPayload } from '../types';

/** The rule a PAN-OS security-policy-match names (CLI text or XML API), or none. */
export interface MatchedRule { name: string; index: number | null; action: string }

/**
 * The zones a PAN-OS policy lookup asks between (the customer's `policyLookup`), or the skip every
 * query gets when they are not configured: both drivers (CLI, XML API) answer the same way.
 */
export function panOsLookupZones(config: FirewallConfig, queries: PolicyQuery[], source: string, contentType: string):
  { zones: { from: string; to: string }; checked: PolicyQuery[] } | { skippedAll: { matches: PolicyMatch[]; skipped: Array<{ query: PolicyQuery; reason: string }>; transcript: RawPayload } } {
  const checked = queries.map(checkedQuery);
  const lk = config.policyLookup;
  if (!lk?.fromZone || !lk.toZone) {
    const reason = `${config.id} has no policyLookup.fromZone/toZone configured (the zones the attacker's traffic crosses)`;
    return { skippedAll: { matches: [], skipped: checked.map((query) => ({ query, reason })), transcript: { source, contentType, body: Buffer.alloc(0), collectedAt: new Date().toISOString(), note: `${config.id}: policy lookup not configured, nothing sent`, recordCount: 0 } } };
  }
  return { zones: { from: parseDeviceToken(lk.fromZone, 'policyLookup.fromZone'), to: parseDeviceToken(lk.toZone, 'policyLookup.toZone') }, checked };
}

/** No rule named: the predefined default applies (interzone-default denies, intrazone-default allows). */
export function panOsPolicyMatch(firewallId: string, query: PolicyQuery, zones: { from: string; to: string }, rule: MatchedRule | undefined): PolicyMatch {
  const context = `from ${zones.from} to ${zones.to}`;
  if (!rule) {
    const intra = zones.from === zones.to;
    return { firewallId, query, policyId: null, policyName: intra ? 'intrazone-default' : 'interzone-default', action: intra ? 'allow' : 'deny', allows: intra, implicit: true, context };
  }
  return { firewallId, query, policyId: rule.index === null ? null : String(rule.index), policyName: rule.name, action: rule.action, allows: rule.action === 'allow', implicit: /^(intra|inter)zone-default$/.test(rule.name), context };
}
