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

/**
 * A customer's ticketing system. `open` is idempotent per incident (a retry finds the ticket and
 * the attachment it already made) and returns the vendor's raw payloads as evidence.
 */
export interface TicketSystem {
  readonly kind: string;
  /** for the approval card: where the ticket goes */
  describe(): string;
  open(req: TicketRequest, ctx: ActionContext): Promise<ActionResult<OpenedTicket>>;
}

export type TicketSystemFactory = (customer: CustomerConfig) => TicketSystem;
