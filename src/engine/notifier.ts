import type { ApprovalRecord } from '../store/store';

/**
 * What the engine tells the bot layer. Fire-and-forget from the engine's point of view: the
 * store is the truth, a notification only says "render again"; a failing notifier never stops a
 * step (the engine logs it and carries on).
 */
export interface Notifier {
  /** anything about the incident changed (status, a step, data): re-render its card */
  incidentChanged(incidentId: string): void | Promise<void>;
  /** a destructive step waits for approval: post the approval card */
  approvalRequested(approval: ApprovalRecord): void | Promise<void>;
  /** an approval was approved, rejected, expired or superseded: update its card */
  approvalDecided(approval: ApprovalRecord): void | Promise<void>;
  /** a step produced a result worth a line in the incident's thread */
  stepEvidence(incidentId: string, stepId: string, text: string): void | Promise<void>;
  /** optional: one vote of a two-person approval arrived (the card shows "1 of 2") */
  approvalVoted?(approval: ApprovalRecord): void | Promise<void>;
}

export const silentNotifier: Notifier = {
  incidentChanged() {},
  approvalRequested() {},
  approvalDecided() {},
  stepEvidence() {},
};
