import type { CustomerConfig } from '../config/customers';

/**
 * Who may approve a destructive step. Pure: group membership is resolved by the caller (through
 * the GroupMembership port) and passed in as the set of the customer's approver groups the
 * person belongs to.
 */

export interface Clicker {
  aadObjectId: string;
  name: string;
  /** the clicker's UPN when the channel tells us (Teams does for members of the tenant) */
  upn?: string | null;
}

export interface GroupMembership {
  /**
   * Which of `groupIds` the person is in (lower-cased), asked of the directory at the time of the
   * call, never from a cache: a vote or a command that changes something must not rest on a
   * membership removed minutes ago. Rejects when the directory does not answer (the caller refuses).
   */
  memberOfNow(objectId: string, groupIds: readonly string[]): Promise<ReadonlySet<string>>;
}

/**
 * Refusal codes: `subject-unknown` while the account lookup has not resolved the subject (its Entra
 * object id, or that it is an on-premises account with no Entra user).
 */
export type RefusalCode = 'subject' | 'subject-unknown' | 'not-approver';
export type PolicyVerdict = { ok: true } | { ok: false; code: RefusalCode; reason: string };

const same = (a: string | null | undefined, b: string | null | undefined): boolean =>
  !!a && !!b && a.trim().toLowerCase() === b.trim().toLowerCase();

/** The incident's subject never approves (or retries) the containment of their own account. */
export function isSubject(clicker: Clicker, incident: { subjectObjectId: string | null; subjectUpn: string }): boolean {
  return same(clicker.aadObjectId, incident.subjectObjectId) || same(clicker.upn, incident.subjectUpn);
}

export function checkApprover(input: {
  customer: Pick<CustomerConfig, 'name' | 'approvers'>;
  incident: { id: string; subjectObjectId: string | null; subjectUpn: string };
  /**
   * Where the account lookup placed the subject (finding `subjectPlacement`), undefined before it
   * ran. `onPremises` means it was found in AD and has no Entra user: no Teams user can be them.
   */
  subjectPlacement?: string | null;
  clicker: Clicker;
  /** the customer's approver groups that the clicker is a member of */
  clickerGroups: ReadonlySet<string>;
  /**
   * Votes: the subject's object id must be known. Teams gives the clicker's object id, never their
   * UPN, so a subject known only by UPN could approve their own containment. An account the lookup
   * found only in AD has no object id to compare, and needs none: it has no Entra (so no Teams) user.
   */
  requireKnownSubject?: boolean;
}): PolicyVerdict {
  const { customer, incident, clicker } = input;
  // Checked first: an approver whose own account is the subject is still refused.
  if (isSubject(clicker, incident)) {
    return { ok: false, code: 'subject', reason: `${clicker.name} is the subject of ${incident.id}: nobody may approve the containment of their own account` };
  }
  if (input.requireKnownSubject && !incident.subjectObjectId && input.subjectPlacement !== 'onPremises') {
    return { ok: false, code: 'subject-unknown', reason: `the Entra object id of ${incident.subjectUpn} is not known yet, so nobody can be sure they are not approving their own containment; wait for the account lookup (or retry it)` };
  }
  if (!isApprover(customer, clicker, input.clickerGroups)) return { ok: false, code: 'not-approver', reason: `${clicker.name} is not an approver for ${customer.name}` };
  return { ok: true };
}

/** Listed by object id: needs no group lookup (and no directory call) to approve. */
export function isApproverById(customer: Pick<CustomerConfig, 'approvers'>, clicker: Pick<Clicker, 'aadObjectId'>): boolean {
  return customer.approvers.objectIds.some((id) => same(id, clicker.aadObjectId));
}

/** An approver of the customer, by object id or through one of `clickerGroups` (the customer's approver groups the person is in). */
export function isApprover(customer: Pick<CustomerConfig, 'approvers'>, clicker: Pick<Clicker, 'aadObjectId'>, clickerGroups: ReadonlySet<string>): boolean {
  return isApproverById(customer, clicker) || customer.approvers.groupIds.some((g) => [...clickerGroups].some((m) => same(m, g)));
}

/** Two distinct approvers when the procedure step asks for it or the customer lists the step. */
export function requiredApprovers(step: { id: string; action: string; twoPerson?: boolean }, customer: Pick<CustomerConfig, 'approvers'>): 1 | 2 {
  if (step.twoPerson) return 2;
  const listed = customer.approvers.twoPersonSteps;
  return listed.includes(step.id) || listed.includes(step.action) ? 2 : 1;
}

/** What the policy reads of an approval (the store's ApprovalRecord has these fields and more). */
export interface ApprovalFacts {
  status: string;
  expiresAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
  reason: string | null;
  votes: ReadonlyArray<{ approverId: string }>;
}

export function hasVoted(approval: Pick<ApprovalFacts, 'votes'>, approverId: string): boolean {
  return approval.votes.some((v) => same(v.approverId, approverId));
}

/** `03:12 UTC` (with the date when it is not the same day as `now`). */
export function formatUtc(iso: string, now?: Date): string {
  const d = new Date(iso);
  const hm = d.toISOString().slice(11, 16);
  if (now && now.toISOString().slice(0, 10) === d.toISOString().slice(0, 10)) return `${hm} UTC`;
  return `${d.toISOString().slice(0, 10)} ${hm} UTC`;
}

/**
 * The sentence shown to someone who clicks an approval that is no longer pending. `retryHint` is
 * the command that asks again (the bot adds it; the timeline stores the sentence without it).
 */
export function describeAnswered(approval: ApprovalFacts, retryHint: string | undefined, now?: Date): string {
  const when = approval.decidedAt ? ` at ${formatUtc(approval.decidedAt, now)}` : '';
  switch (approval.status) {
    case 'approved':
      return `already approved by ${approval.decidedBy ?? 'someone'}${when}`;
    case 'rejected':
      return `already rejected by ${approval.decidedBy ?? 'someone'}${when}${approval.reason ? ` (${approval.reason})` : ''}`;
    case 'expired':
      return `this request expired at ${formatUtc(approval.expiresAt, now)}${retryHint ? `; ask for a new one with ${retryHint}` : ''}`;
    case 'superseded':
      return `this request was replaced by a newer one or the incident was cancelled; use the latest card`;
    default:
      return 'this request is still pending';
  }
}
