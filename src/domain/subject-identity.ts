import { parseSid } from '../connectors/active-directory/sid';
import { isGuid, parseUpn } from './identity';

/**
 * The account an incident is about, with whatever identifiers the alert gave: a Defender for
 * Identity alert names an on-premises account by SID and DOMAIN\sAMAccountName with no UPN; a
 * Sentinel account entity by Name/NTDomain/Sid/UPNSuffix/AadUserId; a cloud alert by UPN and
 * object id. Any one of them is enough to open an incident; the procedure's lookup resolves the
 * rest in Entra and Active Directory.
 */
export interface SubjectIdentity {
  upn: string | null;
  objectId: string | null;
  sid: string | null;
  samAccountName: string | null;
  /** the domain as the alert wrote it (NetBIOS or DNS name) */
  domain: string | null;
  /** the customer's AD domain it names (customers file activeDirectory.domains), when placed */
  netbios: string | null;
  dnsDomain: string | null;
  /** false when the identifiers do not place the account in the customer's directories (said on the timeline) */
  placed: boolean;
  /** one line: where the account was placed, or why it could not be */
  placement: string;
}

export interface AdDomainNames { netbios: string; dns: string; upnSuffixes?: readonly string[] }

/** Characters AD never allows in a sAMAccountName (and controls): such a value is not kept. */
const SAM = /^[^"/\\[\]:;|=,+*?<>\u0000-\u001f]{1,20}$/;
const DOMAIN = /^[A-Za-z0-9][A-Za-z0-9.\-]{0,254}$/;

export interface RawIdentifiers { upn?: unknown; objectId?: unknown; sid?: unknown; samAccountName?: unknown; domain?: unknown }

/**
 * Validates each identifier on its own (an invalid one is dropped and named in `problems`, the
 * others still count) and places the account among the customer's AD domains.
 */
export function subjectIdentityFrom(raw: RawIdentifiers, domains: readonly AdDomainNames[]): { identity: SubjectIdentity | null; problems: string[] } {
  const problems: string[] = [];
  const take = <T>(v: unknown, f: (x: unknown) => T, what: string): T | null => {
    if (v === undefined || v === null || v === '') return null;
    try { return f(v); } catch (e) { problems.push(`${what}: ${(e as Error).message}`); return null; }
  };
  const upn = take(raw.upn, (v) => parseUpn(v, 'userPrincipalName'), 'UPN');
  const objectId = take(raw.objectId, (v) => { if (!isGuid(v)) throw new Error(`not a GUID: ${JSON.stringify(String(v)).slice(0, 60)}`); return String(v).toLowerCase(); }, 'object id');
  const sid = take(raw.sid, parseSid, 'SID');
  const samAccountName = take(raw.samAccountName, (v) => {
    if (typeof v !== 'string' || !SAM.test(v.trim())) throw new Error(`not a sAMAccountName: ${JSON.stringify(String(v)).slice(0, 60)}`);
    return v.trim();
  }, 'sAMAccountName');
  const domain = take(raw.domain, (v) => {
    if (typeof v !== 'string' || !DOMAIN.test(v.trim())) throw new Error(`not a domain name: ${JSON.stringify(String(v)).slice(0, 60)}`);
    return v.trim();
  }, 'domain');
  if (!upn && !objectId && !sid && !samAccountName) return { identity: null, problems };

  const d = domain?.toLowerCase();
  const byDomain = d ? domains.find((x) => x.netbios.toLowerCase() === d || x.dns.toLowerCase() === d) : undefined;
  const suffix = upn ? upn.slice(upn.lastIndexOf('@') + 1) : undefined;
  const bySuffix = suffix ? domains.find((x) => x.dns.toLowerCase() === suffix || (x.upnSuffixes ?? []).some((s) => s.toLowerCase() === suffix)) : undefined;
  const home = byDomain ?? bySuffix;

  let placed: boolean;
  let placement: string;
  if (domain && !byDomain) {
    placed = false;
    placement = domains.length
      ? `the alert's domain ${domain} is not one of the customer's Active Directory domains (${domains.flatMap((x) => [x.netbios, x.dns]).join(', ')})`
      : `the alert names the on-premises domain ${domain}, and the customer has no activeDirectory section in the customers file`;
  } else if (home) {
    placed = true;
    placement = `Active Directory domain ${home.netbios} (${home.dns})${upn || objectId ? ', and Entra' : ''}`;
  } else if (upn || objectId) {
    placed = true;
    placement = 'Entra (the tenant of the alert)';
  } else if (domains.length === 1) {
    placed = true;
    placement = `Active Directory domain ${domains[0].netbios} (${domains[0].dns}), the customer's only domain`;
  } else {
    placed = false;
    placement = domains.length
      ? 'the alert names no domain and the customer has several: the account cannot be placed'
      : 'the alert names an on-premises account (SID / sAMAccountName only) and the customer has no activeDirectory section in the customers file';
  }
  return {
    identity: { upn, objectId, sid, samAccountName, domain, netbios: home?.netbios ?? null, dnsDomain: home?.dns ?? null, placed, placement },
    problems,
  };
}

/** How the account is named to people (and the incident's subject key): UPN, else DOMAIN\sam, else SID, else object id. */
export function subjectLabel(s: SubjectIdentity): string {
  if (s.upn) return s.upn;
  if (s.samAccountName) return `${s.netbios ?? s.domain ?? ''}${s.netbios || s.domain ? '\\' : ''}${s.samAccountName}`;
  return s.sid ?? s.objectId ?? 'unknown account';
}

/** The identifiers that name an account, each as `kind:value`; any one shared means the same account. */
export interface IdentifierParts {
  upn?: string | null;
  objectId?: string | null;
  sid?: string | null;
  samAccountName?: string | null;
  /** the NetBIOS name of the customer's domain the account is in (a sAMAccountName is unique per domain only) */
  netbios?: string | null;
}

/**
 * The correlation keys of an account (issue 11: one open incident per identity, whatever the
 * alert names it by): `upn:` lower-cased, `sid:` upper-cased, `sam:NETBIOS\name` lower-cased (only
 * with the domain: a bare sAMAccountName is not unique). Invalid values are left out rather than
 * trusted. Case folding by toLowerCase (full Unicode), like subject_key.
 * The Entra object id is not a key yet: alerts that carry one carry the UPN too, and the test
 * fixtures give unrelated subjects Adele's object id (they would all join one incident).
 */
export function subjectIdentifiers(p: IdentifierParts): string[] {
  const out = new Set<string>();
  if (p.upn) { try { out.add(`upn:${parseUpn(p.upn).toLowerCase()}`); } catch { /* not a UPN: not a key */ } }
  if (p.sid) { try { out.add(`sid:${parseSid(p.sid).toUpperCase()}`); } catch { /* not a SID */ } }
  if (p.samAccountName && p.netbios && SAM.test(p.samAccountName) && DOMAIN.test(p.netbios)) out.add(`sam:${p.netbios}\\${p.samAccountName}`.toLowerCase());
  return [...out];
}

/** `sid:S-1-5-…` → 'SID S-1-5-…', for the timeline. */
export function describeIdentifier(key: string): string {
  const i = key.indexOf(':');
  const kind = { upn: 'UPN', oid: 'object id', sid: 'SID', sam: 'DOMAIN\\sAMAccountName' }[key.slice(0, i)] ?? key.slice(0, i);
  return `${kind} ${key.slice(i + 1)}`;
}
