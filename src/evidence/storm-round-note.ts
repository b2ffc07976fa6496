import { z } from 'zod';
import type { TicketSystem } from '../connectors/ticketing/ticket-system';
import { ConnectorError, type ActionContext, type ActionDef, type ActionResult } from '../connectors/types';
import { InvalidInputError } from '../domain/net';
import { roundStepId, STORM_CONTAIN_STEP } from '../domain/storm-coverage';
import { roundNoteStepId, stormRoundEndings, STORM_ROUND_NOTE_ACTION, TICKET_OPEN_ACTION } from '../domain/storm-round-notes';
import { isStormSubject } from '../intake/storm';
import { loadIncidentSnapshot } from '../read-model/incident-snapshot';
import type { Store } from '../store/store';
import { stormRoundNoteLines, type StormRoundNoteFacts } from './storm-round-note-text';
import { roundOutcomes, stormSummary } from './storm-summary';

/**
 * ticket.noteStormRound: the work note of one ending of a storm's further containment round on the
 * storm's ticket (src/domain/storm-round-notes.ts says which endings; src/engine/storm-rounds.ts
 * makes the row, one per ending, so the engine runs it once). The note is composed from the store
 * when it runs and written through the customer's ticketing system, which finds a note it already
 * wrote by its marker (the note's step id): a crash between the write and the record adds nothing.
 */

const input = z.object({
  round: z.number().int().min(2).max(9999),
  approvalRound: z.number().int().min(0).max(1000),
}).strict();
export type StormRoundNoteInput = z.infer<typeof input>;

export interface StormRoundNoteOutput {
  ticket: { number: string; sysId: string; link: string } | null;
  noted: boolean;
  /** the round was asked again since this ending: its next ending gets its own note */
  superseded?: boolean;
  warnings: string[];
}

export function stormRoundNoteAction(o: { store: Store; ticketSystem: (ctx: ActionContext) => TicketSystem | undefined }): ActionDef<StormRoundNoteInput, StormRoundNoteOutput> {
  return {
    name: STORM_ROUND_NOTE_ACTION,
    risk: 'change',
    description: "Adds a work note to a storm's ticket when a further containment round ends after the ticket was opened (once per round's outcome).",
    input,
    async run(req, ctx): Promise<ActionResult<StormRoundNoteOutput>> {
      const snapshot = await loadIncidentSnapshot(o.store, ctx.incidentId);
      if (!snapshot) throw new InvalidInputError('incidentId', `no incident ${ctx.incidentId}`);
      const { incident, actions, approvals } = snapshot;
      if (incident.customerId !== ctx.customer.id) throw new InvalidInputError('incidentId', `${incident.id} is not an incident of ${ctx.customer.id}`);
      if (!isStormSubject(incident.subjectUpn)) throw new InvalidInputError('incidentId', `${incident.id} is not a storm incident`);
      const ticketRow = actions.find((a) => a.name === TICKET_OPEN_ACTION && a.status === 'succeeded');
      const ticket = ((ticketRow?.result?.output ?? null) as { ticket?: { number?: unknown; sysId?: unknown; link?: unknown } } | null)?.ticket;
      if (!ticket || typeof ticket.sysId !== 'string') throw new ConnectorError(`${incident.id} has no ticket yet: a round's note follows the ticket`, { source: 'ticket' });
      const system = o.ticketSystem(ctx);
      if (!system) throw new ConnectorError(`${ctx.customer.name} has no ticketing system configured (customers file: servicenow)`, { source: 'ticket' });
      const found = { number: String(ticket.number ?? ''), sysId: ticket.sysId, link: String(ticket.link ?? '') };

      const stepId = roundStepId(STORM_CONTAIN_STEP, req.round);
      const row = actions.find((a) => a.stepId === stepId);
      if (!row) throw new InvalidInputError('round', `${incident.id} has no ${stepId}`);
      const ending = stormRoundEndings([row])[0];
      if (!ending || ending.approvalRound !== req.approvalRound) {
        // asked again (@ir retry) before this note ran: what it would say is no longer so
        return { output: { ticket: found, noted: false, superseded: true, warnings: [] }, summary: `${stepId} was asked again since: its next outcome is noted instead`, raw: [] };
      }
      const decided = approvals.filter((p) => p.actionId === row.id && p.status === 'rejected').at(-1);
      const summary = stormSummary(snapshot);
      const facts: StormRoundNoteFacts = {
        incidentId: incident.id,
        round: req.round,
        status: ending.status,
        accounts: roundAccounts(row.input),
        outcomes: ending.status === 'succeeded' ? roundOutcomes(row) : [],
        error: row.error,
        decision: ending.status === 'rejected' && decided ? { by: decided.decidedBy, reason: decided.reason } : null,
        storm: { accounts: summary.accounts.length, contained: summary.contained.length },
      };
      const marker = `[teams-ir-bot ${incident.id} ${roundNoteStepId(req.round, req.approvalRound)}]`;
      const r = await system.note({ incidentId: incident.id, sysId: found.sysId, marker, lines: stormRoundNoteLines(facts) }, ctx);
      return {
        output: { ticket: { number: r.output.number, sysId: r.output.sysId, link: r.output.link }, noted: r.output.noted, warnings: r.output.warnings },
        summary: `${stepId} (${ending.status}): ${r.summary}`,
        raw: r.raw,
      };
    },
  };
}

/** The round's accounts as its card listed them: label, display name, privileged roles. */
function roundAccounts(rowInput: Record<string, unknown> | null): StormRoundNoteFacts['accounts'] {
  const list = Array.isArray(rowInput?.accounts) ? (rowInput!.accounts as Array<Record<string, unknown>>) : [];
  return list.flatMap((a) => (a && typeof a.label === 'string'
    ? [{
      label: a.label,
      displayName: typeof a.displayName === 'string' ? a.displayName : null,
      privilegedRoles: Array.isArray(a.privilegedRoles) ? a.privilegedRoles.filter((x): x is string => typeof x === 'string') : [],
    }]
    : []));
}
