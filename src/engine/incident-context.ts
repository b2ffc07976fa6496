import type { CustomerConfig } from '../config/customers';
import type { AlertDevice, AlertIp } from '../domain/alert';
import { selectIpsToBlock, type IpSelection } from '../domain/ip-selection';
import type { ActionRecord, AlertRecord, IncidentRecord } from '../store/store';
import type { ReferenceContext } from './input-references';
import { isStormSubject, stormAccountIdentities } from '../intake/storm';

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

/** The device evidence of every alert attached to the incident, as the intake normalised it. */
export function alertDevices(alerts: readonly AlertRecord[]): AlertDevice[] {
  const out: AlertDevice[] = [];
  const s = (v: unknown) => (typeof v === 'string' ? v : null);
  for (const a of alerts) {
    const devices = (a.alert as { devices?: unknown }).devices;
    if (!Array.isArray(devices)) continue;
    for (const d of devices) {
      if (!d || typeof d !== 'object') continue;
      const e = d as Record<string, unknown>;
      out.push({ name: s(e.name), mdeDeviceId: s(e.mdeDeviceId), azureAdDeviceId: s(e.azureAdDeviceId), osPlatform: s(e.osPlatform) });
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
      alertDevices: alertDevices(alerts),
      stormAccounts: isStormSubject(incident.subjectUpn) ? stormAccountIdentities(alerts, customer.activeDirectory?.domains ?? []) : [],
    },
    customer: { id: customer.id, name: customer.name },
    steps,
  };
}
