import { countryName, whatWeDid } from '../domain/incident-narrative';
import { STORM_CONTAIN_ACTION, STORM_DISCONNECT_ACTION } from '../domain/storm-coverage';
import { stepRuns } from '../read-model/incident-snapshot';
import { containmentNotDoneLines, line, networkLines, ticketOf, wrap, type CisoSnapshot, type EmailDraft } from './ciso-email';
import { alertWindow, containedParts, firstAndMore, stormSummary } from './storm-summary';

/**
 * The CISO email of a storm incident (mail.notifyCiso on src/procedures/storm-containment.yaml):
 * the same one screen, review card, recipients and send-once path as an account's email
 * (src/evidence/ciso-email.ts), told about the storm: how many accounts, where the attackers came
 * from, what was contained (counts, the privileged accounts by name) and what is left. Every value
 * from an alert or a directory is one bounded line of plain text, as in the account's email.
 */

/** accounts and IPs named in a list before "… and K more" (the report has them all) */
const NAMED = 5;

export function draftStormCisoEmail(s: CisoSnapshot): EmailDraft {
  const { incident: inc, findings } = s.snapshot;
  const sum = stormSummary(s.snapshot);
  const ticket = ticketOf(inc);
  const runs = stepRuns(s.snapshot.actions);
  const n = sum.accounts.length;
  const customer = line(s.customer.name, 60);
  const next = new Date(s.now.getTime() + (s.nextUpdateMinutes ?? 120) * 60_000);

  const what = `What happened: Microsoft Defender raised "${line(sum.campaign, 90)}" for ${n} account${n === 1 ? '' : 's'} at ${customer}${alertWindow(sum)}: ` +
    'an alert storm, one attack against many accounts at once (a password spray or similar). We handle it as one incident.';
  const from = sum.attackerIps.length
    ? `Where from: the attackers signed in from ${firstAndMore(sum.attackerIps.map((ip) => `${line(ip.ip, 64)}${ip.country ? ` (${line(countryName(ip.country), 60)})` : ''}`), NAMED, ', ')}.`
    : 'Where from: the alerts name no attacker IP address.';

  // the storm's steps in its own words; the firewall block as for one account
  const done = whatWeDid(findings, runs, (step) => {
    if (step.action === STORM_CONTAIN_ACTION) {
      const contained = sum.contained.length;
      const out = [`Contained ${contained} of ${n} accounts${contained ? `: ${containedParts(sum.contained)}` : ''}`];
      const privileged = sum.privileged.filter((p) => p.contained);
      if (privileged.length) out.push(`Privileged accounts contained: ${firstAndMore(privileged.map((p) => `${line(p.label, 80)}${p.displayName ? ` (${line(p.displayName, 80)})` : ''}, ${line(p.roles.join(', '), 80)}`), NAMED)}`);
      return out;
    }
    if (step.action === STORM_DISCONNECT_ACTION && sum.sessionsEnded !== undefined) {
      return [sum.sessionsEnded === 0 ? 'No network (RADIUS) session of these accounts was active to end' : `Ended ${sum.sessionsEnded} network (RADIUS) session${sum.sessionsEnded === 1 ? '' : 's'} of these accounts`];
    }
    return undefined;
  }).map((d) => wrap(`- ${line(d, 400)}.`, '  ')).flat();

  const left: string[] = [];
  // grouped by why, the gist only: the connector's errors are in the ticket and the report
  const groups = new Map<string, string[]>();
  for (const a of sum.left) {
    const why = a.kind === 'failed' ? 'could not be contained yet (we are on it)' : a.kind === 'notFound' ? 'not found in your directories' : `not contained (${line(a.why, 80)})`;
    groups.set(why, [...(groups.get(why) ?? []), line(a.label, 80)]);
  }
  for (const [why, labels] of groups) left.push(...wrap(`- ${labels.length} account${labels.length === 1 ? '' : 's'} ${why}: ${firstAndMore(labels, NAMED, ', ')}.`, '  '));
  const privilegedLeft = sum.privileged.filter((p) => !p.contained);
  if (privilegedLeft.length) left.push(...wrap(`- Privileged and NOT contained: ${firstAndMore(privilegedLeft.map((p) => `${line(p.label, 80)} (${line(p.roles.join(', '), 80)})`), NAMED)}.`, '  '));
  left.push(...containmentNotDoneLines(findings, runs));
  left.push('- Please tell us which of these accounts are service or shared accounts, and of any business impact.');

  const body = [
    `Dear ${line(s.customer.contacts.ciso.name, 60)},`,
    '',
    ...wrap(what),
    ...wrap(from),
    ...networkLines(findings),
    '',
    'What we did:',
    ...(done.length ? done : ['- Investigation started; no change made yet.']),
    '',
    'What is left:',
    ...left,
    '',
    `Next update: by ${next.toISOString().slice(11, 16)} UTC on ${next.toISOString().slice(0, 10)}, or sooner if anything changes.`,
    `Incident: ${inc.id}${ticket ? ` · ServiceNow: ${line(ticket.number, 40)}` : ''}`,
    '',
    line(s.signature ?? 'MSP Security Operations', 80),
  ];
  // the engine calls a storm contained once its steps ended: the CISO also hears how many accounts are not
  const status = inc.status === 'contained' ? (sum.left.length ? 'partly contained' : 'contained') : inc.status === 'closed' ? 'closed' : 'in progress';
  return {
    to: [s.customer.contacts.ciso.email],
    cc: [s.customer.contacts.onCall.email, ...(s.mspOnCall ? [s.mspOnCall.email] : [])].filter((v, i, all) => all.indexOf(v) === i && v !== s.customer.contacts.ciso.email),
    subject: line(`[${inc.id}] Alert storm ${status}: ${n} accounts at ${customer}${sum.left.length ? `, ${sum.left.length} not contained` : ''}${ticket ? ` (${ticket.number})` : ''}`, 200),
    body: body.join('\n'),
  };
}
