import { countryName } from '../domain/incident-narrative';
import { line } from './ciso-email';
import { alertWindow, containedParts, firstAndMore, type StormLeftAccount, type StormPrivilegedAccount, type StormSummary } from './storm-summary';

/**
 * The ticket of a storm incident (ticket.open on src/procedures/storm-containment.yaml): ONE
 * ticket about the storm, never about `storm:<customer>:<key>` as if it were a user. Plain text,
 * every value from an alert or a directory one bounded line (as the CISO email makes them), so a
 * name cannot add a line that looks like ours; the ticketing connector adds the report's name and
 * SHA-256 and the incident id below it.
 */

/** how many accounts and IPs the ticket names in each list before "… and K more" (the report has them all) */
const NAMED = 5;

export interface StormTicketText { shortDescription: string; description: string }

export function stormTicketText(s: StormSummary, o: { customerName: string }): StormTicketText {
  const n = s.accounts.length;
  const campaign = line(s.campaign, 120);
  const customer = line(o.customerName, 60);
  const contained = s.contained.length;
  const when = alertWindow(s);
  const threshold = s.threshold ? ` (storm threshold: ${s.threshold.minUsers} accounts within ${s.threshold.windowMinutes} min)` : '';

  const lines = [
    `Alert storm at ${customer}: Microsoft Defender raised "${campaign}"${s.detectorId ? ` (detector ${line(s.detectorId, 80)})` : ''} for ${n} account${n === 1 ? '' : 's'}${when}${threshold}. ` +
      'One incident and one approval per action for all of them.',
    '',
    `Accounts affected: ${n}`,
    `Contained: ${contained} of ${n}${contained ? ` (${containedParts(s.contained)})` : ''}`,
    ...(s.left.length ? leftLines(s.left) : ['Left: none, every account of the storm is contained']),
    ...(s.privileged.length ? [privilegedLine(s.privileged)] : []),
    s.attackerIps.length
      ? `Attacker IPs named by the alerts: ${firstAndMore(s.attackerIps.map((ip) => `${line(ip.ip, 64)}${ip.country ? ` ${line(countryName(ip.country), 60)}` : ''}, ${ip.accounts} account${ip.accounts === 1 ? '' : 's'}`), NAMED)}`
      : 'Attacker IPs named by the alerts: none',
    s.blocked.length
      ? `Blocked at the firewall: ${firstAndMore(s.blocked.map((b) => `${line(b.ip, 64)}${b.until ? ` until ${line(b.until, 40).slice(0, 10)}` : ''}`), NAMED, ', ')}`
      : 'Blocked at the firewall: nothing',
    ...(s.notBlocked.length ? [`Not blocked: ${firstAndMore(s.notBlocked.map((b) => `${line(b.ip, 80)} (${line(b.reason, 160)})`), NAMED)}`] : []),
    ...(s.sessionsEnded !== undefined ? [`RADIUS sessions ended: ${s.sessionsEnded}`] : []),
    '',
    "Every account's look-up and containment outcome, with the raw results, is in the attached forensic report.",
  ];
  return {
    // the count before the campaign: a long title is cut, the count must stay
    shortDescription: line(`Alert storm at ${customer}: ${n} accounts hit by "${campaign}" (${contained} contained)`, 200),
    description: lines.join('\n'),
  };
}

/** "Left: 7 not contained (the first 5):", the first five with why, "- … and 2 more" (the ticket and a round's note). */
export function leftLines(left: readonly StormLeftAccount[]): string[] {
  return [
    `Left: ${left.length} not contained${left.length > NAMED ? ` (the first ${NAMED})` : ''}:`,
    ...left.slice(0, NAMED).map((a) => `- ${line(a.label, 100)}: ${line(a.why, 300)}`),
    ...(left.length > NAMED ? [`- … and ${left.length - NAMED} more`] : []),
  ];
}

/** "Privileged accounts: upn "Name" (roles): contained; …" with the first five (the ticket and a round's note). */
export function privilegedLine(privileged: readonly StormPrivilegedAccount[]): string {
  return `Privileged accounts: ${firstAndMore(privileged.map((p) => `${line(p.label, 100)}${p.displayName ? ` "${line(p.displayName, 100)}"` : ''} (${line(p.roles.join(', '), 120)}): ${p.contained ? 'contained' : 'NOT contained'}`), NAMED)}`;
}
