import { isSuspiciousIp, type Alert } from '../domain/alert';
import { RECORDED_FINDINGS, type StormContainedFinding } from '../domain/incident-findings';
import { stormCoverage } from '../domain/storm-coverage';
import { PART_TEXT } from '../connectors/storm/identity-many';
import { stormAccounts } from '../intake/storm';
import type { IncidentSnapshot } from '../read-model/incident-snapshot';

/**
 * A storm incident told as its ticket and its CISO email tell it (src/procedures/storm-containment.yaml):
 * which campaign hit how many accounts of the customer, how many are contained and which are left
 * (with why), the privileged ones by name, where the attackers came from and what was blocked. The
 * values are raw here (names and titles from alerts and directories): each writer makes them one
 * line of plain text for its own medium (src/evidence/storm-ticket-text.ts, storm-ciso-email.ts).
 */

export interface StormLeftAccount {
  label: string;
  /** failed: a containment ran and failed on it; notFound: no look-up resolved it; open: no containment has run on it yet */
  kind: 'failed' | 'notFound' | 'open';
  /** why it is not contained: failed (with the error), not resolved (with why), awaiting approval, joined late … */
  why: string;
}

export interface StormPrivilegedAccount {
  label: string;
  displayName: string | null;
  roles: string[];
  contained: boolean;
}

export interface StormAttackerIp {
  ip: string;
  /** the alerts' country code for it (the first one given), when any */
  country: string | null;
  /** how many of the storm's accounts an alert with this IP named */
  accounts: number;
}

export interface StormSummary {
  /** the alerts' title (the campaign as Defender names it) */
  campaign: string;
  detectorId: string | null;
  /** every account of the storm, in the order its alerts came, each once */
  accounts: string[];
  firstAlertAt: Date | null;
  lastAlertAt: Date | null;
  threshold: { minUsers: number; windowMinutes: number } | null;
  contained: StormContainedFinding[];
  left: StormLeftAccount[];
  privileged: StormPrivilegedAccount[];
  /** the IPs the alerts mark as the attackers', most accounts first */
  attackerIps: StormAttackerIp[];
  /** what the firewall step blocked, with when each block ends when known */
  blocked: Array<{ ip: string; until: string | null }>;
  notBlocked: Array<{ ip: string; reason: string }>;
  /** RADIUS sessions the storm's disconnect step ended (undefined: it did not run) */
  sessionsEnded: number | undefined;
}

const IN_FLIGHT = new Set(['waiting', 'ready', 'running']);

function validDate(v: unknown): Date | null {
  if (typeof v !== 'string') return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : new Date(t);
}

/** Why an account no containment changed is left, from the containment round that covers it (if any). */
function whyNotContained(status: string | undefined): string {
  if (status === undefined) return 'joined after the approval: a further approval is asked for it';
  if (status === 'awaiting_approval') return 'awaiting approval';
  if (IN_FLIGHT.has(status)) return 'containment in progress';
  if (status === 'rejected') return 'containment rejected';
  if (status === 'expired') return 'the approval expired';
  if (status === 'skipped') return 'containment skipped';
  if (status === 'failed') return 'containment failed';
  return `not contained (${status})`;
}

export function stormSummary(s: Pick<IncidentSnapshot, 'incident' | 'findings' | 'alerts' | 'actions'>): StormSummary {
  const { findings: f, alerts, actions } = s;
  const accounts = stormAccounts(alerts);

  const times = alerts.map((r) => validDate((r.alert as Partial<Alert>).createdDateTime) ?? validDate(r.receivedAt)).filter((d): d is Date => d !== null).sort((a, b) => a.getTime() - b.getTime());

  // every round's outcome per account (storm-rounds merges them into stormContained); the last word wins
  const coverage = stormCoverage(actions, accounts);
  const outcome = new Map<string, StormContainedFinding>();
  for (const a of f.stormContained ?? []) outcome.set(a.label, a);
  // and the rounds' rows themselves, in round order: a round that has just succeeded counts at once,
  // before a scheduler pass has merged it into the findings (the ticket may be opened in between)
  for (const r of coverage.containRows) if (r.status === 'succeeded') for (const a of roundOutcomes(r)) outcome.set(a.label, a);
  const contained = [...outcome.values()].filter((a) => a.status === 'contained');
  const unresolved = new Map((f.stormUnresolved ?? []).map((u) => [u.label, u.reason]));
  // the containment round whose input lists the account: its status says why the account is still open
  const roundOf = new Map<string, string>();
  for (const r of coverage.containRows) {
    const list = Array.isArray(r.input?.accounts) ? (r.input!.accounts as Array<{ label?: unknown }>) : [];
    for (const a of list) if (typeof a.label === 'string') roundOf.set(a.label, r.status);
  }
  const left: StormLeftAccount[] = [];
  for (const label of accounts) {
    const o = outcome.get(label);
    if (o?.status === 'contained') continue;
    if (o?.status === 'failed') left.push({ label, kind: 'failed', why: whyLeft(o) });
    else if (unresolved.has(label)) left.push({ label, kind: 'notFound', why: `not found in the directories: ${unresolved.get(label)}` });
    else left.push({ label, kind: 'open', why: whyNotContained(roundOf.get(label)) });
  }

  const seen = new Set<string>();
  const privileged: StormPrivilegedAccount[] = [];
  for (const a of f.stormResolved ?? []) {
    if (!a.privilegedRoles.length || seen.has(a.label)) continue;
    seen.add(a.label);
    privileged.push({ label: a.label, displayName: a.displayName, roles: a.privilegedRoles, contained: outcome.get(a.label)?.status === 'contained' });
  }

  const byIp = new Map<string, { country: string | null; accounts: Set<string> }>();
  for (const r of alerts) {
    const alert = r.alert as Partial<Alert>;
    const account = stormAccounts([r])[0] ?? r.id;
    for (const ip of Array.isArray(alert.ips) ? alert.ips : []) {
      if (!ip || typeof ip.ip !== 'string' || !Array.isArray(ip.roles) || !isSuspiciousIp(ip)) continue;
      const entry = byIp.get(ip.ip) ?? { country: null, accounts: new Set<string>() };
      entry.country ??= typeof ip.countryLetterCode === 'string' && ip.countryLetterCode ? ip.countryLetterCode : null;
      entry.accounts.add(account);
      byIp.set(ip.ip, entry);
    }
  }
  const attackerIps = [...byIp.entries()]
    .map(([ip, e]) => ({ ip, country: e.country, accounts: e.accounts.size }))
    .sort((a, b) => b.accounts - a.accounts || a.ip.localeCompare(b.ip));

  const blocked = (f.ipBlocks?.length ? f.ipBlocks.map((b) => ({ ip: b.ip, until: b.expiresAt })) : (f.ipsBlocked ?? []).map((ip) => ({ ip, until: null })))
    .filter((b, i, all) => all.findIndex((x) => x.ip === b.ip) === i);

  return {
    campaign: f.storm?.title ?? s.incident.title,
    detectorId: f.storm?.detectorId ?? null,
    accounts,
    firstAlertAt: times[0] ?? null,
    lastAlertAt: times.at(-1) ?? null,
    threshold: f.storm ? { minUsers: f.storm.minUsers, windowMinutes: f.storm.windowMinutes } : null,
    contained,
    left,
    privileged,
    attackerIps,
    blocked,
    notBlocked: f.ipSelection?.notBlocked ?? [],
    sessionsEnded: f.stormSessionsEnded,
  };
}

/** What a containment round that succeeded did to each of its accounts (its output), as the findings keep it. */
export function roundOutcomes(row: { result: Record<string, unknown> | null }): StormContainedFinding[] {
  const list = ((row.result?.output ?? null) as { accounts?: unknown } | null)?.accounts;
  const parsed = RECORDED_FINDINGS.stormContained.safeParse(list ?? []);
  return parsed.success ? parsed.data : [];
}

/** Why an account of a round that succeeded is not contained: the round's word on it, else that it has none. */
export function whyLeft(o: StormContainedFinding | undefined): string {
  if (!o) return 'no result for it in the round';
  return `containment failed${o.error ? `: ${o.error}` : ''}`;
}

/** "a; b; c … and 9 more": the first `n` items, then how many are not shown. */
export function firstAndMore(items: readonly string[], n: number, sep = '; '): string {
  return items.length <= n ? items.join(sep) : `${items.slice(0, n).join(sep)} … and ${items.length - n} more`;
}

/** "11 disabled in Entra, 11 sessions revoked, …": what the contained accounts are now, whether changed now or found already so. */
export function containedParts(contained: readonly StormContainedFinding[]): string {
  const count = (part: string) => contained.filter((a) => a.changed.includes(part) || a.already.includes(part)).length;
  return Object.keys(PART_TEXT).map((p) => [p, count(p)] as const).filter(([, n]) => n > 0).map(([p, n]) => `${n} ${PART_TEXT[p]}`).join(', ');
}

/** " between 2026-12-02 08:50 and 08:52 UTC" (the day again when it changed); "" without alert times. */
export function alertWindow(s: Pick<StormSummary, 'firstAlertAt' | 'lastAlertAt'>): string {
  const first = s.firstAlertAt;
  const last = s.lastAlertAt;
  if (!first || !last) return '';
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const hhmm = (d: Date) => d.toISOString().slice(11, 16);
  return ` between ${day(first)} ${hhmm(first)} and ${day(last) === day(first) ? '' : `${day(last)} `}${hhmm(last)} UTC`;
}
