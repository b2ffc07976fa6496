import type { CustomerConfig } from '../../config/customers';
import type { ServiceNowClientOptions } from '../servicenow/client';
import { ServiceNowTicketSystem } from '../servicenow/ticket-system';
import type { TicketSystem, TicketSystemFactory } from './ticket-system';

/** One line per ticketing vendor; the customer's entry in the customers file chooses. */
export function ticketSystems(opts: { serviceNow?: Partial<ServiceNowClientOptions> } = {}): Record<'servicenow', TicketSystemFactory> {
  return {
    servicenow: (customer) => new ServiceNowTicketSystem(customer, opts.serviceNow),
  };
}

/** The customer's ticketing system, or undefined when it has none (the ticket step is skipped then). */
export function ticketSystemFor(customer: CustomerConfig, registry: Record<string, TicketSystemFactory> = ticketSystems()): TicketSystem | undefined {
  return customer.servicenow ? registry.servicenow(customer) : undefined;
}
