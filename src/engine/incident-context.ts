import type { CustomerConfig } from '../config/customers';
import type { AlertIp } from '../domain/alert';
import { selectIpsToBlock, type IpSelection } from '../domain/ip-selection';
import type { ActionRecord, AlertRecord, IncidentRecord } from '../store/store';
import type { ReferenceContext } from './input-references';

/** The IPs of every alert attached to the incident (normalised Alerts as the store keeps them). */
export function alertIps(alerts: readonly AlertRecord[]): AlertIp[] {
  const out: AlertIp[] = [];
  for (const a of alerts) {
    const ips = (a.alert as { ips?: unknown }).ips;
    if (!Array.isArray(ips)) continue;
    for (const ip of ips) {
      if (!ip || typeof ip !== 'object' || typeof (ip as AlertIp).ip !== 'string') continue;
      const e = ip as Partial<AlertIp>;
      out.push({
        ip: e.ip!,
        countryLetterCode: typeof e.countryLetterCode === 'string' ? e.countryLetterCode : null,
        verdict: typeof e.verdict === 'string' ? e.verdict : null,
        roles: Array.isArray(e.roles) ? e.roles.filter((r): r is string => typeof r === 'string') : [],
      });
    }
  }
  return out;
}

export function ipSelectionFor(alerts: readonly AlertRecord[], customer: CustomerConfig): IpSelection {
  return selectIpsToBlock(alertIps(alerts), { customerName: customer.name, egressRanges: customer.egressRanges });
}

/** What `{ from: ... }` references read when a step is scheduled. */
export function buildReferenceContext(incident: IncidentRecord, customer: CustomerConfig, alerts: readonly AlertRecord[], actions: readonly ActionRecord[]): ReferenceContext {
  const selection = ipSelectionFor(alerts, customer);
  const steps: ReferenceContext['steps'] = {};
  for (const a of actions) {
    if (a.status !== 'succeeded' || !a.result) continue;
    steps[a.stepId] = { output: a.result.output ?? null, summary: String(a.result.summary ?? '') };
  }
  return {
    incident: {
      id: incident.id,
      customerId: incident.customerId,
      tenantId: incident.tenantId,
      subjectUpn: incident.subjectUpn,
      subjectObjectId: incident.subjectObjectId,
      subjectIdentity: incident.subjectIdentity ?? null,
      severity: incident.severity,
      title: incident.title,
      suspiciousIps: selection.block,
      ipsNotBlocked: selection.notBlocked,
      alertIps: [...new Set(alertIps(alerts).map((i) => i.ip))],
    },
    customer: { id: customer.id, name: customer.name },
    steps,
  };
}
