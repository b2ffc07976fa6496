import type { CustomerConfig } from '../../config/customers';
import type { TicketNote, TicketRequest, TicketSystem } from '../ticketing/ticket-system';
import type { ActionContext } from '../types';
import { parseInstanceUrl, type ServiceNowClientOptions } from './client';
import { openSecurityIncident } from './open-security-incident';
import { addWorkNote } from './work-note';

/** ServiceNow Security Incident Response as the customer's ticketing system. */
export class ServiceNowTicketSystem implements TicketSystem {
  readonly kind = 'servicenow';
  constructor(private readonly customer: CustomerConfig, private readonly clientOptions: Partial<ServiceNowClientOptions> = {}) {}

  describe(): string {
    const c = this.customer.servicenow;
    return c ? `ServiceNow ${parseInstanceUrl(c.instanceUrl).host} (${c.table})` : 'no ServiceNow configured';
  }

  async open(req: TicketRequest, ctx: ActionContext) {
    const r = await openSecurityIncident({
      incidentId: req.incidentId,
      shortDescription: req.shortDescription,
      description: req.description,
      alertWebUrl: req.alertWebUrl,
      reportName: req.report.name,
      reportBytes: req.report.bytes,
      affectedUserEmail: req.affectedUserEmail,
    }, ctx, this.clientOptions);
    const o = r.output;
    return { output: { number: o.number, link: o.link, sysId: o.sysId, created: o.created, attached: o.attached }, summary: r.summary, raw: r.raw };
  }

  /** a work note (internal), written once per marker */
  note(req: TicketNote, ctx: ActionContext) {
    return addWorkNote({ incidentId: req.incidentId, sysId: req.sysId, marker: req.marker, lines: req.lines }, ctx, this.clientOptions);
  }
}
