import type { Refusal } from '../engine/results';

/**
 * The engine's refusals in the words a person reads in the chat: the engine's sentence, and, where
 * a command helps, that command with this installation's bot name (the engine never writes chat
 * syntax; the timeline keeps the plain sentence).
 */

/** A vote or command refused because Microsoft Graph did not answer whether the person is still in an approvers' group. */
export const ROLE_UNCONFIRMED = 'could not confirm your approver role with Microsoft Graph just now: try again (nothing was done)';

/** `@ir retry IR-20261127-7K3Q entra-contain` */
export function retryCommand(botName: string, incidentId: string, stepId: string): string {
  return `@${botName} retry ${incidentId} ${stepId}`;
}

export function refusalText(r: Pick<Refusal, 'code' | 'reason' | 'params'>, botName: string): string {
  const { incidentId, stepId } = r.params ?? {};
  // The timeline names the person; the person reads it about themselves.
  if (r.code === 'role-unconfirmed') return ROLE_UNCONFIRMED;
  if (r.code === 'expired' && incidentId && stepId) return `${r.reason}; ask for a new one with ${retryCommand(botName, incidentId, stepId)}`;
  return r.reason;
}

/**
 * A timeline line as the chat shows it: a step that failed or whose approval expired gets the
 * command that tries it again (the stored event has only its kind and step id).
 */
export function timelineText(e: { kind: string; summary: string; data?: Record<string, unknown> | null }, incidentId: string, botName: string): string {
  const step = e.data?.step;
  if (e.data?.retryable !== true || typeof step !== 'string') return e.summary;
  if (e.kind === 'step.failed') return `${e.summary}; ${retryCommand(botName, incidentId, step)} to try again`;
  if (e.kind === 'step.expired') return `${e.summary}; ask for a new approval with ${retryCommand(botName, incidentId, step)}`;
  return e.summary;
}
