import type { StormContainedFinding } from '../domain/incident-findings';
import { roundStepId, STORM_CONTAIN_STEP } from '../domain/storm-coverage';
import { line } from './ciso-email';
import { containedParts, whyLeft, type StormLeftAccount, type StormPrivilegedAccount } from './storm-summary';
import { leftLines, privilegedLine } from './storm-ticket-text';

/**
 * The work note a storm's further containment round adds to the storm's ticket when it ends after
 * the ticket was opened (src/engine/storm-rounds.ts): which round, how many of its accounts are
 * contained and which are left and why, the privileged ones by name, and the storm's total now.
 * The lists use the ticket's own wording (leftLines, privilegedLine, containedParts), so the note
 * reads as the ticket's next paragraph. Plain lines; every value from a directory is one bounded
 * line here, and the connector makes each line inert for the journal and bounds the whole note.
 */

/** accounts listed one per line before "… and K more": the note stays a few screens */
export const NOTE_ACCOUNTS_LISTED = 50;

export interface StormRoundNoteFacts {
  incidentId: string;
  round: number;
  /** how the round ended: succeeded, failed, rejected or expired */
  status: string;
  /** the round's accounts as its approval card listed them (its row's input) */
  accounts: Array<{ label: string; displayName: string | null; privilegedRoles: string[] }>;
  /** what the round did to each (its output), when it succeeded */
  outcomes: StormContainedFinding[];
  /** the round's error, when it failed */
  error: string | null;
  /** who rejected it and why */
  decision: { by: string | null; reason: string | null } | null;
  /** the whole storm now: its accounts and how many are contained */
  storm: { accounts: number; contained: number };
}

export function stormRoundNoteLines(f: StormRoundNoteFacts): string[] {
  const k = f.accounts.length;
  const accounts = `${k} account${k === 1 ? '' : 's'} that joined the storm later`;
  const head = `Round ${f.round} of the alert storm (${roundStepId(STORM_CONTAIN_STEP, f.round)}) ended after this ticket was opened`;
  const total = `The storm now: ${f.storm.contained} of ${f.storm.accounts} accounts contained.`;
  const outcome = new Map(f.outcomes.map((o) => [o.label, o]));
  const privileged = (contained: (label: string) => boolean): StormPrivilegedAccount[] => f.accounts
    .filter((a) => a.privilegedRoles.length > 0)
    .map((a) => ({ label: a.label, displayName: a.displayName, roles: a.privilegedRoles, contained: contained(a.label) }));

  if (f.status === 'succeeded') {
    const contained = f.accounts.filter((a) => outcome.get(a.label)?.status === 'contained');
    const left: StormLeftAccount[] = f.accounts.filter((a) => outcome.get(a.label)?.status !== 'contained')
      .map((a) => ({ label: a.label, kind: 'failed', why: whyLeft(outcome.get(a.label)) }));
    const parts = containedParts(contained.map((a) => outcome.get(a.label)!));
    const priv = privileged((l) => outcome.get(l)?.status === 'contained');
    return [
      `${head}: ${accounts}.`,
      `Contained: ${contained.length} of ${k}${parts ? ` (${parts})` : ''}`,
      ...(contained.length ? listed('Contained accounts', contained.map((a) => a.label)) : []),
      ...(left.length ? leftLines(left) : ['Left: none, every account of this round is contained']),
      ...(priv.length ? [privilegedLine(priv)] : []),
      total,
    ];
  }
  const why = f.status === 'rejected'
    ? `containment of the ${accounts} was rejected${f.decision?.by ? ` by ${line(f.decision.by, 100)}` : ''}${f.decision?.reason ? `: ${line(f.decision.reason, 300)}` : ''}`
    : f.status === 'expired'
      ? `the approval to contain the ${accounts} expired unanswered (an approver can ask again: @ir retry ${f.incidentId} ${roundStepId(STORM_CONTAIN_STEP, f.round)})`
      : `containment of the ${accounts} failed${f.error ? `: ${line(f.error, 300)}` : ''}`;
  const priv = privileged(() => false);
  return [
    `${head}: ${why}. They are not contained.`,
    ...listed('Accounts of this round', f.accounts.map((a) => a.label)),
    ...(priv.length ? [privilegedLine(priv)] : []),
    total,
  ];
}

/** "<title> (the first 50):", one account per line, then "- … and K more". */
function listed(title: string, labels: readonly string[]): string[] {
  const n = NOTE_ACCOUNTS_LISTED;
  return [
    `${title}${labels.length > n ? ` (the first ${n})` : ''}:`,
    ...labels.slice(0, n).map((l) => `- ${line(l, 100)}`),
    ...(labels.length > n ? [`- … and ${labels.length - n} more`] : []),
  ];
}
