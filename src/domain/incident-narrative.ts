import { forwardingRules, stepRank, type IncidentFindings, type StepKind, type TokenActivityFinding, type TravelHop } from './incident-findings';
import { roundForPeople } from './travel';

/**
 * The incident told as a CISO reads it: what happened (the impossible travel with its cities,
 * distance and speed; the countries; a forwarding rule) and what we did (the containment actions
 * only, in the order they ran). Plain sentences from IncidentFindings; the CISO email and the
 * report's summary both use them, each escaping for its own medium.
 */

/** When a step of the incident ended (its action row's last change), for the order of "what we did". */
export interface StepRun {
  stepId: string;
  status: string;
  endedAt: string;
}

const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const people = (n: number) => number.format(roundForPeople(n));

let regionNames: Intl.DisplayNames | undefined;
/** 'PT' → 'Portugal (PT)'; a code the runtime does not know stays as it is. */
export function countryName(code: string): string {
  try {
    regionNames ??= new Intl.DisplayNames(['en'], { type: 'region' });
    const name = /^[A-Z]{2}$/.test(code) ? regionNames.of(code) : undefined;
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}

/** 'Lisbon, Portugal (PT)'; 'Singapore (SG)' when the city is its country. */
function place(end: TravelHop['from']): string {
  const city = end.city ?? end.place;
  if (!end.country) return city;
  const country = countryName(end.country);
  return country === `${city} (${end.country})` ? country : `${city}, ${country}`;
}

const hhmm = (iso: string) => `${new Date(iso).toISOString().slice(11, 16)} UTC`;

function duration(minutes: number): string {
  const m = Math.max(1, Math.round(minutes));
  return m < 60 ? `${m} minute${m === 1 ? '' : 's'}` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** 'signed in from Lisbon, Portugal (PT) at 12:10 UTC and from Singapore (SG) 50 minutes later: 11,900 km apart, …' */
export function travelSentence(hop: TravelHop): string {
  return `signed in from ${place(hop.from)} at ${hhmm(hop.from.at)} and from ${place(hop.to)} ${duration(hop.minutes)} later: ` +
    `${people(hop.distanceKm)} km apart, which would take ${people(hop.speedKmh)} km/h (impossible travel)`;
}

function list(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** One or two sentences (more only when there are several hops): what happened to the account. */
export function whatHappened(f: IncidentFindings, subject: string): string[] {
  const out: string[] = [];
  const hops = f.impossibleTravel ?? [];
  for (const hop of hops.slice(0, 2)) out.push(`${subject} ${travelSentence(hop)}.`);
  if (hops.length > 2) out.push(`${hops.length - 2} more impossible-travel hop(s) are in the report.`);
  if (f.countries?.length) {
    const n = f.signIns24h;
    out.push(`${n !== undefined ? `Its ${number.format(n)} sign-ins of the last 24 hours came` : 'Its sign-ins of the last 24 hours came'} from ${list(f.countries.map(countryName))}.`);
  }
  for (const rule of forwardingRules(f).slice(0, 2)) {
    out.push(`A mail forwarding rule was set at ${Number.isNaN(Date.parse(rule.at)) ? 'an unknown time' : hhmm(rule.at)} (${rule.operation}): it ${rule.detail}.`);
  }
  return out;
}

// Actions of the default procedure whose findings say exactly what changed; any other containment
// step is told by its title and result summary.
const CONTAINMENT_ACTIONS = new Set(['entra.contain', 'radius.disconnect', 'firewall.block']);

function kindOf(step: IncidentFindings['steps'][number]): StepKind {
  // Incidents recorded before the engine wrote the kind: the default procedure's containment actions.
  return step.kind ?? (step.action && CONTAINMENT_ACTIONS.has(step.action) ? 'containment' : 'lookup');
}

const ENTRA_CHANGE: Record<string, [done: string, already: string]> = {
  disable: ['Disabled the account', 'The account was already disabled'],
  revokeSessions: ['Revoked all its sign-in sessions and refresh tokens', 'Its sessions were already revoked'],
  resetPassword: ['Reset its password (a change is forced at the next sign-in)', 'Its password had already been reset'],
  confirmCompromised: ['Confirmed the user compromised in Identity Protection', 'The user was already confirmed compromised'],
  adDisable: ['Disabled the account in Active Directory', 'The account was already disabled in Active Directory'],
  adResetPassword: ['Reset its Active Directory password to one nobody knows', 'Its Active Directory password had already been reset'],
};

function days(fromIso: string, toIso: string): number {
  return Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 86_400_000);
}

function describeContainment(f: IncidentFindings, step: IncidentFindings['steps'][number]): string[] {
  if ((step.action === 'entra.contain' || step.action === 'identity.contain') && f.entraChanges?.length) {
    return f.entraChanges.map((c) => (c.changed ? ENTRA_CHANGE[c.step][0] : ENTRA_CHANGE[c.step][1]));
  }
  if (step.action === 'radius.disconnect' && f.sessionsDisconnected !== undefined) {
    const n = f.sessionsDisconnected;
    return [n === 0 ? 'No network (RADIUS) session was active to end' : `Ended ${n} network (RADIUS) session${n === 1 ? '' : 's'} of the account`];
  }
  if (step.action === 'firewall.block' && (f.ipBlocks?.length || f.ipsBlocked)) {
    const out: string[] = [];
    const blocks = f.ipBlocks ?? [];
    if (blocks.length) {
      const byPeriod = new Map<string, string[]>();
      for (const b of blocks) {
        const d = days(b.addedAt, b.expiresAt);
        const key = `for ${d} day${d === 1 ? '' : 's'} (until ${b.expiresAt.slice(0, 10)})`;
        byPeriod.set(key, [...(byPeriod.get(key) ?? []), b.ip]);
      }
      for (const [period, ips] of byPeriod) out.push(`Blocked ${list(ips)} at the firewall ${period}`);
    } else if (f.ipsBlocked?.length) {
      out.push(`Blocked ${list(f.ipsBlocked)} at the firewall`);
    } else {
      out.push('No new IP needed blocking at the firewall');
    }
    const cut = f.vpnSessionsRevoked ?? 0;
    if (cut > 0) out.push(`Cut ${cut} VPN session${cut === 1 ? '' : 's'} of the account`);
    return out;
  }
  return [`${step.title}${step.summary ? `: ${step.summary}` : ''}`];
}

/**
 * The containment actions that succeeded, in the order they ran (read-only look-ups and the
 * follow-up report, ticket and email are not things we did to the account).
 */
export function whatWeDid(f: IncidentFindings, runs: readonly StepRun[], describe?: (step: IncidentFindings['steps'][number]) => string[] | undefined): string[] {
  const ended = new Map(runs.map((r) => [r.stepId, r]));
  const done = f.steps
    .filter((s) => kindOf(s) === 'containment' && (ended.get(s.id)?.status ?? s.status) === 'succeeded')
    .sort((a, b) => (ended.get(a.id)?.endedAt ?? '').localeCompare(ended.get(b.id)?.endedAt ?? '') || stepRank(f, a.id) - stepRank(f, b.id));
  // `describe`: a reader's own words for some steps (the storm email's account counts), the usual ones for the rest
  return done.flatMap((s) => describe?.(s) ?? describeContainment(f, s));
}

/** The containment steps not (yet) done, with why: for "what is left". */
export function containmentNotDone(f: IncidentFindings, runs: readonly StepRun[]): Array<{ stepId: string; title: string; status: string }> {
  const byId = new Map(runs.map((r) => [r.stepId, r]));
  return f.steps
    .filter((s) => kindOf(s) === 'containment')
    .map((s) => ({ stepId: s.id, title: s.title, status: byId.get(s.id)?.status ?? s.status ?? 'waiting' }))
    .filter((s) => s.status !== 'succeeded');
}

/**
 * The token-activity sentence of the card and the report: the sessions and which kinds of sign-in
 * were counted, so that an interactive-only count is never read as the whole picture.
 */
export function tokenActivityText(a: TokenActivityFinding): string {
  const n = `${a.sessions} session${a.sessions === 1 ? '' : 's'} in 24 h`;
  if (a.nonInteractive === null) {
    return `${n} from ${a.interactive} interactive sign-ins; interactive sign-ins only were counted (non-interactive ones were not available${a.onlyInteractiveBecause ? `: ${a.onlyInteractiveBecause}` : ''})`;
  }
  return `${n} from ${a.interactive} interactive and ${a.nonInteractive} non-interactive sign-ins (both kinds counted)`;
}
