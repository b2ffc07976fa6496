import { roundRows, STORM_CONTAIN_STEP, type RoundRow } from './storm-coverage';

/**
 * Which endings of a storm's further containment rounds (`storm-contain-<n>`, n ≥ 2) its ticket
 * hears of. The ticket is opened once (ticket.open); a round that ends after that gets one work
 * note (ticket.noteStormRound), and a round that had ended before is counted in the ticket's
 * description instead. One note per ENDING, not per round: a round rejected (or expired, or
 * failed) may be asked again with @ir retry, with a new approval, and its later outcome is what
 * the analyst most needs to read; the approval it ended under tells the endings apart, so a crash,
 * a retry of the note or a replay finds the same note id again.
 */

export const STORM_ROUND_NOTE_ACTION = 'ticket.noteStormRound';
export const TICKET_OPEN_ACTION = 'ticket.open';

/**
 * The endings noted: contained (or failed on some accounts), failed, rejected, expired. A round
 * cancelled because a release was asked is not: the release notes the ticket itself (ticket.update).
 */
const NOTED = new Set(['succeeded', 'failed', 'rejected', 'expired']);

export interface RoundEnding {
  round: number;
  /** the round's approval it ended under, 0 for the first (the row's preview.approvalRound) */
  approvalRound: number;
  status: string;
  /** the note's step id (its action row `<incident>:<noteStepId>`, its idempotency key) */
  noteStepId: string;
}

export function roundNoteStepId(round: number, approvalRound: number): string {
  return approvalRound === 0 ? `storm-ticket-note-${round}` : `storm-ticket-note-${round}-retry-${approvalRound}`;
}

/**
 * The further rounds that have ended as they stand now, each with its note's id. A round that ended
 * without ever being put to an approval (its card could not be prepared) changed nothing and was
 * asked of no one: not an ending the ticket hears of.
 */
export function stormRoundEndings<T extends RoundRow & { preview?: Record<string, unknown> | null }>(rows: readonly T[]): RoundEnding[] {
  return roundRows(rows, STORM_CONTAIN_STEP).flatMap((r) => {
    const approvalRound = r.preview?.approvalRound;
    if (r.round < 2 || !NOTED.has(r.status) || typeof approvalRound !== 'number' || !Number.isInteger(approvalRound) || approvalRound < 0) return [];
    return [{ round: r.round, approvalRound, status: r.status, noteStepId: roundNoteStepId(r.round, approvalRound) }];
  });
}
