import type { CustomerConfig } from '../../config/customers';
import type { ActionContext, ActionResult } from '../types';

/** What the bot files in a customer's ticketing system for an incident (vendor-neutral). */
export interface TicketRequest {
  incidentId: string;
  shortDescription: string;
  description: string;
  alertWebUrl?: string;
  /** the forensic report, attached byte for byte */
  report: { name: string; bytes: Buffer };
  affectedUserEmail?: string;
}

export interface OpenedTicket { number: string; link: string; sysId: string; created: boolean; attached: boolean }

/** A note added to an incident's ticket after it was opened (a storm round's outcome). */
export interface TicketNote {
  incidentId: string;
  /** the ticket as ticket.open recorded it; else it is found by the incident id */
  sysId?: string;
  /** `[teams-ir-bot <incident> <note>]`: unique per note, how a re-run finds a note already written */
  marker: string;
  /** plain text, one line each; the vendor makes each line inert and bounds the note */
  lines: string[];
}

export interface NotedTicket { number: string; link: string; sysId: string; noted: boolean; warnings: string[] }

/**
 * A customer's ticketing system. `open` is idempotent per incident (a retry finds the ticket and
 * the attachment it already made) and returns the vendor's raw payloads as evidence.
 */
export interface TicketSystem {
  readonly kind: string;
  /** for the approval card: where the ticket goes */
  describe(): string;
  open(req: TicketRequest, ctx: ActionContext): Promise<ActionResult<OpenedTicket>>;
  /** idempotent per marker: a retry finds the note it already wrote */
  note(req: TicketNote, ctx: ActionContext): Promise<ActionResult<NotedTicket>>;
}

export type TicketSystemFactory = (customer: CustomerConfig) => TicketSystem;
