/**
 * What the bot asks of the rest of the application. The bot parses clicks and commands, calls
 * these, and renders the answers; it never calls a connector. main.ts wires them to the engine,
 * the evidence service and the handoff scheduler.
 */
export interface Clicker { aadObjectId: string; name: string; upn?: string }

export type OpResult = { ok: true; message?: string } | { ok: false; reason: string };

export interface BotOperations {
  decide(input: { approvalId: string; vote: 'approve' | 'reject'; clicker: Clicker; reason?: string; edits?: Record<string, unknown> }): Promise<OpResult>;
  decideByStep(input: { incidentId: string; stepId: string; vote: 'approve' | 'reject'; clicker: Clicker; reason?: string }): Promise<OpResult>;
  retry(input: { incidentId: string; stepId: string; clicker: Clicker }): Promise<OpResult>;
  cancel(input: { incidentId: string; clicker: Clicker }): Promise<OpResult>;
  /** the customer an account belongs to: the one named, or the one whose domain the UPN has */
  customerFor(input: { upn: string; customerId?: string }): { customerId: string } | { error: string };
  contain(input: { upn: string; customerId?: string; clicker: Clicker }): Promise<OpResult & { incidentId?: string }>;
  report(input: { incidentId: string; clicker: Clicker }): Promise<OpResult>;
  verify(input: { incidentId: string }): Promise<OpResult>;
  handoff(input: { clicker: Clicker }): Promise<OpResult>;
  close(input: { incidentId: string; reason: string; clicker: Clicker }): Promise<OpResult>;
  /** `release <incident> <reason>`: the release plan put to one approval; its id for the card */
  release(input: { incidentId: string; reason: string; clicker: Clicker }): Promise<OpResult & { approvalId?: string }>;
}
