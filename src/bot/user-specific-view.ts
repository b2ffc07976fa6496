import { inert } from './inert-text';

/**
 * Universal Actions user-specific views for an open approval card. The card posted in the channel
 * is the read-only view (everyone sees it); `refresh.userIds` lists the customer's approvers, whose
 * Teams clients fetch their own view (`ir.refresh`) with Approve/Reject. Teams lists at most 60
 * users there. The click is checked on the server whatever view the clicker had.
 */
export const MAX_REFRESH_USERS = 60;
export const REFRESH_VERB = 'ir.refresh';
const VOTE_VERBS = new Set(['ir.approve', 'ir.reject']);

export interface ViewOptions {
  approvalId: string;
  /** the approvers' Teams ids (MRIs) */
  userIds: string[];
  /** who may approve, for the read-only view: "Alex Wilber (Contoso's approvers)" */
  whoMayApprove: string;
}

function withRefresh(card: Record<string, unknown>, o: ViewOptions): Record<string, unknown> {
  return {
    ...card,
    refresh: { action: { type: 'Action.Execute', verb: REFRESH_VERB, data: { approvalId: o.approvalId } }, userIds: o.userIds.slice(0, MAX_REFRESH_USERS) },
  };
}

/** The approver's view: the card as rendered, which keeps refreshing for the listed approvers. */
export function approverView(card: Record<string, unknown>, o: ViewOptions): Record<string, unknown> {
  return withRefresh(card, o);
}

/** Everyone else's view: no Approve/Reject, and a line saying who may approve. */
export function readOnlyView(card: Record<string, unknown>, o: ViewOptions): Record<string, unknown> {
  const actions = ((card.actions as Array<Record<string, unknown>> | undefined) ?? []).filter((a) => !VOTE_VERBS.has(String(a.verb)));
  const body = [
    ...((card.body as unknown[] | undefined) ?? []),
    { type: 'TextBlock', wrap: true, isSubtle: true, text: `Read-only for you: ${inert(o.whoMayApprove, 400)} may approve or reject this step.` },
  ];
  return withRefresh({ ...card, body, actions }, o);
}
