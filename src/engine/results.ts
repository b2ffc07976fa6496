import type { ApprovalRecord } from '../store/store';

/**
 * Why the engine refused a person's request. `code` is what callers branch on; `reason` is the
 * plain sentence the timeline records (it names no chat command: the bot's name is configurable);
 * `params` say which incident and step the refusal is about, so the bot can add the command that
 * helps (src/bot/refusal-text.ts).
 */
export type RefusalCode =
  | 'not-found' // no such incident, step or approval
  | 'not-approver'
  | 'role-unconfirmed' // the directory did not answer whether the person is (still) in an approver group
  | 'subject' // the person is the incident's subject
  | 'subject-unknown' // the subject's object id is not looked up yet
  | 'already-decided' // approved, rejected or superseded before this click
  | 'already-voted'
  | 'expired' // the approval expired: a retry asks again
  | 'not-pending' // the step is not waiting for approval, or not in a state the request fits
  | 'incident-closed' // the incident is no longer live
  | 'changed' // the step moved while the request was on its way
  | 'edit-refused' // an approver's edit the action does not allow, or that does not validate
  | 'not-contained' // a release of an incident that is not contained
  | 'still-running' // a release while containment steps have not ended
  | 'already-released' // a release already requested, under way or done
  | 'invalid-request'; // a customer or account that does not fit

export interface Refusal {
  ok: false;
  code: RefusalCode;
  reason: string;
  params?: { incidentId?: string; stepId?: string };
}

export function refusal(code: RefusalCode, reason: string, params?: Refusal['params']): Refusal {
  return params ? { ok: false, code, reason, params } : { ok: false, code, reason };
}

/** What the engine answers a person's request with (the bot words it). */
export type DecideResult = { ok: true; decided: boolean; approval: ApprovalRecord } | Refusal;
export type CommandResult = { ok: true; message: string } | Refusal;
export type StartResult = { ok: true; incidentId: string; created: boolean } | Refusal;
