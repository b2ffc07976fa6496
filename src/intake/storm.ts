import { createHash } from 'node:crypto';
import type { Alert } from '../domain/alert';
import type { AlertRecord } from '../store/store';
import { subjectIdentityFrom, type AdDomainNames, type SubjectIdentity } from '../domain/subject-identity';

/**
 * Alert storms: a password spray or a replay sends one customer the same alert for many accounts
 * within minutes. Past a threshold (the customers file's `storm`, per customer) the further alerts
 * go to ONE storm incident whose subject is the storm itself, `storm:<customer>:<key>`, so the
 * store's one-open-incident-per-subject index makes concurrent intakes (other replicas included)
 * agree on that one incident; every alert is still recorded in exactly one incident.
 */

export interface StormSettings { enabled: boolean; minUsers: number; windowMinutes: number }

/** What makes alerts "the same": Defender's detector, else the title (case and spacing aside). */
export function stormKeyOf(alert: Pick<Alert, 'detectorId' | 'title'>): string | undefined {
  const basis = alert.detectorId ? `detector:${alert.detectorId}` : alert.title.trim() ? `title:${alert.title.trim().replace(/\s+/g, ' ').toLowerCase()}` : '';
  if (!basis) return undefined;
  // A short digest: the subject key stays bounded and free of whatever the title contains.
  return createHash('sha256').update(basis).digest('hex').slice(0, 16);
}

export function stormSubject(customerId: string, key: string): string {
  return `storm:${customerId}:${key}`;
}

export function isStormSubject(subjectUpn: string): boolean {
  return subjectUpn.startsWith('storm:');
}

/** The account an alert is about, as the storm counts and lists it. */
export function alertAccount(alert: Pick<Alert, 'users'>): string | undefined {
  const u = alert.users[0];
  if (!u) return undefined;
  const label = u.upn ?? (u.samAccountName ? `${u.domain ? `${u.domain}\\` : ''}${u.samAccountName}` : undefined) ?? u.sid ?? u.objectId ?? undefined;
  return label?.toLowerCase();
}

export interface StormCount {
  /** distinct accounts with an alert of this key in the window, this alert's included */
  users: number;
  /** incidents of the window's earlier alerts of this key that are not storm incidents */
  singleIncidents: string[];
}

/** Counts the window's accounts for one storm key from the customer's recent alerts. */
export function countStorm(recent: AlertRecord[], key: string, account: string): StormCount {
  const users = new Set<string>([account]);
  const singles = new Set<string>();
  for (const r of recent) {
    const a = r.alert as unknown as Alert;
    if (!a || !Array.isArray(a.users) || typeof a.title !== 'string') continue;
    if (stormKeyOf({ detectorId: a.detectorId ?? null, title: a.title }) !== key) continue;
    const acct = alertAccount(a);
    if (acct) users.add(acct);
    singles.add(r.incidentId);
  }
  return { users: users.size, singleIncidents: [...singles] };
}

/** The accounts of a storm incident, in the order their alerts arrived, each once. */
export function stormAccounts(alerts: Array<Pick<AlertRecord, 'alert'>>): string[] {
  const seen = new Set<string>();
  for (const r of alerts) {
    const a = r.alert as unknown as Alert;
    const acct = a && Array.isArray(a.users) ? alertAccount(a) : undefined;
    if (acct) seen.add(acct);
  }
  return [...seen];
}

/**
 * The storm's accounts with every identifier their alerts gave, placed among the customer's AD
 * domains as a single incident's subject is (intake subjectOf): what storm-accounts resolves.
 */
export function stormAccountIdentities(alerts: ReadonlyArray<Pick<AlertRecord, 'alert'>>, domains: readonly AdDomainNames[]): Array<{ label: string; identity: SubjectIdentity | null }> {
  const seen = new Map<string, { label: string; identity: SubjectIdentity | null }>();
  for (const r of alerts) {
    const a = r.alert as unknown as Alert;
    const label = a && Array.isArray(a.users) ? alertAccount(a) : undefined;
    if (!label || seen.has(label)) continue;
    const u = a.users[0];
    seen.set(label, { label, identity: subjectIdentityFrom({ upn: u.upn, objectId: u.objectId, sid: u.sid, samAccountName: u.samAccountName, domain: u.domain }, domains).identity });
  }
  return [...seen.values()];
}
