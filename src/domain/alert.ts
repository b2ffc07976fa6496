/** Defender's alert severities (alerts_v2), also the incident's. */
export type Severity = 'unknown' | 'informational' | 'low' | 'medium' | 'high';

/** One alert, whatever sent it (Graph alerts_v2 webhook, the poller, a Sentinel playbook). */
export interface Alert {
  id: string;
  providerAlertId: string | null;
  tenantId: string;
  title: string;                     // inert text: shown escaped, never interpreted
  description: string | null;
  severity: Severity;
  /** as the source said it, kept even when it is an enum member we do not know */
  status: string;
  serviceSource: string | null;
  detectorId: string | null;
  category: string | null;
  alertWebUrl: string | null;
  incidentWebUrl: string | null;
  createdDateTime: string | null;
  lastUpdateDateTime: string | null;
  firstActivityDateTime: string | null;
  lastActivityDateTime: string | null;
  mitreTechniques: string[];
  users: AlertUser[];                // accounts with at least one valid identifier; the first is the incident's subject
  ips: AlertIp[];                    // validated IPs only
  devices: AlertDevice[];
  /** evidence we could not use, with why (unknown types, invalid values): shown on the timeline */
  ignoredEvidence: Array<{ type: string; reason: string }>;
}

/**
 * An account the alert names, by whatever it gave (each identifier validated on its own): a
 * Defender for Identity account has a SID and DOMAIN\sAMAccountName and no UPN.
 */
export interface AlertUser {
  upn: string | null;
  objectId: string | null;
  sid?: string | null;
  samAccountName?: string | null;
  /** NetBIOS or DNS name, as the alert wrote it */
  domain?: string | null;
  displayName: string | null;
  roles: string[];
  verdict: string | null;
}

export interface AlertIp {
  ip: string;
  countryLetterCode: string | null;
  verdict: string | null;            // unknown | suspicious | malicious | noThreatsFound | ...
  roles: string[];                   // e.g. attacker, source, destination, suspicious ...
}

export interface AlertDevice {
  name: string | null;
  mdeDeviceId: string | null;
  azureAdDeviceId: string | null;
  osPlatform: string | null;
}

/** An IP the alert's evidence points at as the attacker's, rather than merely seen. */
export function isSuspiciousIp(ip: AlertIp): boolean {
  const v = (ip.verdict ?? '').toLowerCase();
  const roles = ip.roles.map((r) => r.toLowerCase());
  return v === 'suspicious' || v === 'malicious' || roles.includes('attacker') || roles.includes('suspicious');
}
