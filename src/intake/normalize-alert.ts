import { z } from 'zod';
import type { Alert, AlertDevice, AlertIp, AlertUser } from '../domain/alert';
import { parseIp, InvalidInputError } from '../domain/net';
import { isGuid, parseUpn } from '../domain/identity';
import { subjectIdentityFrom } from '../domain/subject-identity';
import type { Severity } from '../store/store';

/**
 * Turns whatever an alert source posts into our one Alert type:
 *  - a Microsoft Graph security alert (alerts_v2), alone or as `{ "value": [ ... ] }`;
 *  - the SecurityAlert body a Microsoft Sentinel playbook (Logic App) posts.
 * Graph adds enum members and evidence types over time: unknown ones are kept or listed as
 * ignored, never fatal. What we act on (tenant, subject UPN, IPs) is validated strictly.
 */

const SEVERITIES: Severity[] = ['unknown', 'informational', 'low', 'medium', 'high'];
const MAX_TEXT = 1000;

/** Display text is kept inert: control characters removed and length bounded. Escaping is the renderer's job. */
export function boundedText(v: unknown, max = MAX_TEXT, multiline = false): string | null {
  if (typeof v !== 'string') return null;
  // eslint-disable-next-line no-control-regex
  let s = v.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
  s = (multiline ? s.replace(/\r\n?/g, '\n') : s.replace(/[\r\n\u2028\u2029]+/g, ' ')).trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 date-time');
const optText = z.string().max(100_000).nullish();

const evidenceSchema = z.object({ '@odata.type': z.string().max(200) }).passthrough();

export const graphAlertSchema = z.object({
  id: z.string().min(1).max(200).regex(/^[A-Za-z0-9_\-:.$]+$/, 'must be an alert id (letters, digits, _ - : . $)'),
  tenantId: z.string().refine(isGuid, 'must be a GUID'),
  title: optText,
  description: optText,
  severity: z.string().max(50).nullish(),
  status: z.string().max(50).nullish(),
  providerAlertId: optText,
  serviceSource: optText,
  detectorId: optText,
  category: optText,
  alertWebUrl: optText,
  incidentWebUrl: optText,
  createdDateTime: isoDate.nullish(),
  lastUpdateDateTime: isoDate.nullish(),
  firstActivityDateTime: isoDate.nullish(),
  lastActivityDateTime: isoDate.nullish(),
  mitreTechniques: z.array(z.string().max(50)).max(200).nullish(),
  evidence: z.array(evidenceSchema).max(1000),
}).passthrough();
export type GraphAlert = z.infer<typeof graphAlertSchema>;

export class AlertValidationError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'AlertValidationError';
  }
}

function fail(issue: z.ZodIssue, prefix: string): never {
  const field = [prefix.replace(/\.$/, ''), ...issue.path.map(String)].filter(Boolean).join('.');
  throw new AlertValidationError(field || '(body)', issue.message);
}

function severityOf(v: unknown): Severity {
  const s = typeof v === 'string' ? v.toLowerCase() : '';
  return (SEVERITIES as string[]).includes(s) ? (s as Severity) : 'unknown';
}

function safeUrl(v: unknown): string | null {
  const s = boundedText(v, 2048);
  if (!s) return null;
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.toString() : null;
  } catch {
    return null;
  }
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').map((x) => boundedText(x, 100) ?? '') : [];
}

function rec(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function normalizeGraphAlert(body: unknown, prefix = ''): Alert {
  const parsed = graphAlertSchema.safeParse(body);
  if (!parsed.success) fail(parsed.error.issues[0], prefix);
  const a = parsed.data;
  const users: AlertUser[] = [];
  const ips: AlertIp[] = [];
  const devices: AlertDevice[] = [];
  const ignored: Alert['ignoredEvidence'] = [];
  const mailboxOwners: AlertUser[] = [];

  a.evidence.forEach((ev, i) => {
    const type = String(ev['@odata.type']).replace(/^#?microsoft\.graph\.security\./, '');
    const verdict = boundedText(ev.verdict, 50);
    const roles = strings(ev.roles);
    if (type === 'userEvidence') {
      // accountName@domainName is not a UPN (CONTOSO\adm-avance's UPN is adm-avance@contoso.com):
      // the identifiers are kept apart, each validated on its own, and the lookup resolves the rest.
      const acct = rec(ev.userAccount);
      const { identity, problems } = subjectIdentityFrom({
        upn: acct.userPrincipalName, objectId: acct.azureAdUserId, sid: acct.userSid, samAccountName: acct.accountName, domain: acct.domainName,
      }, []);
      // One identifier that is not what it claims makes the whole account doubtful: not used.
      if (identity && problems.length === 0) {
        users.push({
          upn: identity.upn, objectId: identity.objectId, sid: identity.sid, samAccountName: identity.samAccountName, domain: identity.domain,
          displayName: boundedText(acct.displayName, 200), roles, verdict,
        });
      } else {
        ignored.push({ type, reason: problems.length ? `evidence.${i}.userAccount: ${problems.join('; ')}` : 'no UPN, object id, SID or sAMAccountName' });
      }
    } else if (type === 'mailboxEvidence' && rec(ev.userAccount).userPrincipalName) {
      // A mailbox names its owner: used as the subject only when no userEvidence does (below).
      try {
        const acct = rec(ev.userAccount);
        mailboxOwners.push({ upn: parseUpn(acct.userPrincipalName, `${prefix}evidence.${i}.userAccount.userPrincipalName`), objectId: isGuid(acct.azureAdUserId) ? String(acct.azureAdUserId).toLowerCase() : null, displayName: boundedText(acct.displayName, 200), roles, verdict });
      } catch (e) {
        ignored.push({ type, reason: (e as Error).message });
      }
    } else if (type === 'ipEvidence') {
      try {
        const ip = parseIp(ev.ipAddress, `${prefix}evidence.${i}.ipAddress`);
        const cc = typeof ev.countryLetterCode === 'string' && /^[A-Za-z]{2}$/.test(ev.countryLetterCode) ? ev.countryLetterCode.toUpperCase() : null;
        if (!ips.some((x) => x.ip === ip)) ips.push({ ip, countryLetterCode: cc, verdict, roles });
      } catch (e) {
        ignored.push({ type, reason: (e as Error).message });
      }
    } else if (type === 'deviceEvidence') {
      devices.push({
        name: boundedText(ev.deviceDnsName, 255),
        mdeDeviceId: boundedText(ev.mdeDeviceId, 100),
        azureAdDeviceId: isGuid(ev.azureAdDeviceId) ? String(ev.azureAdDeviceId) : null,
        osPlatform: boundedText(ev.osPlatform, 50),
      });
    } else {
      ignored.push({ type: boundedText(type, 100) ?? 'unknown', reason: 'evidence type not used by this bot' });
    }
  });

  if (users.length === 0) users.push(...mailboxOwners);
  if (users.length === 0) {
    const why = ignored.find((x) => x.type === 'userEvidence')?.reason;
    throw new AlertValidationError(`${prefix}evidence`, why ? `no usable userEvidence (${why})` : 'no userEvidence naming an account (UPN, object id, SID or sAMAccountName): the alert names no account to contain');
  }

  return {
    id: a.id,
    providerAlertId: boundedText(a.providerAlertId, 200),
    tenantId: a.tenantId.toLowerCase(),
    title: boundedText(a.title, 300) || 'Untitled alert',
    description: boundedText(a.description, 4000, true),
    severity: severityOf(a.severity),
    status: boundedText(a.status, 50) ?? 'unknown',
    serviceSource: boundedText(a.serviceSource, 100),
    detectorId: boundedText(a.detectorId, 100),
    category: boundedText(a.category, 100),
    alertWebUrl: safeUrl(a.alertWebUrl),
    incidentWebUrl: safeUrl(a.incidentWebUrl),
    createdDateTime: a.createdDateTime ?? null,
    lastUpdateDateTime: a.lastUpdateDateTime ?? null,
    firstActivityDateTime: a.firstActivityDateTime ?? null,
    lastActivityDateTime: a.lastActivityDateTime ?? null,
    mitreTechniques: strings(a.mitreTechniques),
    users,
    ips,
    devices,
    ignoredEvidence: ignored,
  };
}

// --- Microsoft Sentinel (SecurityAlert as a Logic App playbook posts it) ------------------------

const sentinelSchema = z.object({
  SystemAlertId: z.string().min(1).max(200).regex(/^[A-Za-z0-9_\-:.]+$/, 'must be an alert id'),
  AlertDisplayName: optText,
  Description: optText,
  Severity: z.string().max(50).nullish(),
  Status: z.string().max(50).nullish(),
  TenantId: z.string().nullish(),
  ProviderName: optText,
  AlertType: optText,
  AlertLink: optText,
  StartTimeUtc: isoDate.nullish(),
  EndTimeUtc: isoDate.nullish(),
  TimeGenerated: isoDate.nullish(),
  Entities: z.union([z.string().max(1_000_000), z.array(z.record(z.unknown()))]).nullish(),
}).passthrough();

export function isSentinelBody(body: unknown): boolean {
  return !!body && typeof body === 'object' && 'SystemAlertId' in (body as object);
}

export function normalizeSentinelAlert(body: unknown): Alert {
  const parsed = sentinelSchema.safeParse(body);
  if (!parsed.success) fail(parsed.error.issues[0], '');
  const s = parsed.data;
  let entities: Array<Record<string, unknown>> = [];
  if (typeof s.Entities === 'string') {
    try {
      const e = JSON.parse(s.Entities);
      if (!Array.isArray(e)) throw new Error('not an array');
      entities = e.map(rec);
    } catch (e) {
      throw new AlertValidationError('Entities', `not a JSON array of entities (${(e as Error).message})`);
    }
  } else if (Array.isArray(s.Entities)) entities = s.Entities.map(rec);

  const evidence: unknown[] = [];
  let tenantId = typeof s.TenantId === 'string' ? s.TenantId : undefined;
  for (const e of entities) {
    const type = String(e.Type ?? e.type ?? '').toLowerCase();
    if (type === 'account') {
      // Sentinel's account entity: Name is the sAMAccountName (on-premises) or the UPN's local part,
      // NTDomain the NetBIOS domain, UPNSuffix the UPN's domain, Sid and AadUserId as they are.
      const name = typeof e.Name === 'string' ? e.Name : undefined;
      const upn = e.UserPrincipalName ?? (name && e.UPNSuffix ? `${name}@${e.UPNSuffix}` : name && name.includes('@') ? name : undefined);
      if (!tenantId && typeof e.AadTenantId === 'string') tenantId = e.AadTenantId;
      const onPrem = e.NTDomain || e.Sid || !upn;
      evidence.push({
        '@odata.type': '#microsoft.graph.security.userEvidence',
        roles: [],
        userAccount: {
          userPrincipalName: upn ?? null, azureAdUserId: e.AadUserId ?? null, displayName: e.DisplayName ?? null,
          userSid: e.Sid ?? null, accountName: onPrem && name && !name.includes('@') ? name : null, domainName: e.NTDomain ?? null,
        },
      });
    } else if (type === 'ip') {
      evidence.push({ '@odata.type': '#microsoft.graph.security.ipEvidence', ipAddress: e.Address, roles: [], verdict: 'suspicious', countryLetterCode: rec(e.Location).CountryCode ?? null });
    } else if (type === 'host') {
      evidence.push({ '@odata.type': '#microsoft.graph.security.deviceEvidence', deviceDnsName: e.HostName ?? e.DnsDomain ?? null, osPlatform: e.OSFamily ?? null, roles: [] });
    } else {
      evidence.push({ '@odata.type': `#sentinel.${type || 'unknown'}Entity`, roles: [] });
    }
  }
  const alert = normalizeGraphAlert({
    id: s.SystemAlertId,
    tenantId,
    title: s.AlertDisplayName,
    description: s.Description,
    severity: s.Severity,
    status: s.Status,
    serviceSource: s.ProviderName,
    detectorId: s.AlertType,
    alertWebUrl: s.AlertLink,
    createdDateTime: s.TimeGenerated ?? s.StartTimeUtc,
    firstActivityDateTime: s.StartTimeUtc,
    lastActivityDateTime: s.EndTimeUtc,
    evidence,
  });
  return alert;
}

/** One body → one or more alerts. Errors name the field (value.2.tenantId, evidence, ...). */
export function normalizeAlertBody(body: unknown): Alert[] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new AlertValidationError('(body)', 'expected a JSON object: an alerts_v2 alert, {"value": [...]}, or a Sentinel SecurityAlert');
  }
  const b = body as Record<string, unknown>;
  if ('value' in b) {
    if (!Array.isArray(b.value) || b.value.length === 0) throw new AlertValidationError('value', 'must be a non-empty array of alerts');
    if (b.value.length > 100) throw new AlertValidationError('value', 'at most 100 alerts per request');
    return b.value.map((v, i) => (isSentinelBody(v) ? normalizeSentinelAlert(v) : normalizeGraphAlert(v, `value.${i}.`)));
  }
  if (isSentinelBody(b)) return [normalizeSentinelAlert(b)];
  return [normalizeGraphAlert(b)];
}

export { InvalidInputError };
