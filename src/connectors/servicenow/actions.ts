import { z } from 'zod';
import type { ActionContext, ActionDef, Preview } from '../types';
import { parseInstanceUrl } from './client';
import { attachmentFileName, correlationIdField, safeAlertLink, shortDescriptionField } from './fields';
import { openSecurityIncident, type OpenSecurityIncidentInput, type OpenSecurityIncidentOutput } from './open-security-incident';

const openIncidentInput: z.ZodType<OpenSecurityIncidentInput, z.ZodTypeDef, unknown> = z.object({
  incidentId: z.string().min(1).max(100),
  shortDescription: z.string().min(1),
  description: z.string(),
  alertWebUrl: z.string().optional(),
  reportName: z.string().min(1).max(100),
  reportBytes: z.instanceof(Buffer),
  affectedUserEmail: z.string().email().optional(),
});

export const openIncidentAction: ActionDef<OpenSecurityIncidentInput, OpenSecurityIncidentOutput> = {
  name: 'servicenow.openIncident',
  risk: 'change',
  description: "Opens a High Security Incident in the customer's ServiceNow (one per incident) and attaches the forensic report.",
  input: openIncidentInput,
  async preview(input: OpenSecurityIncidentInput, ctx: ActionContext): Promise<Preview> {
    const config = ctx.customer.servicenow;
    if (!config) {
      return { title: 'Open a ServiceNow Security Incident', facts: [], changes: [], warnings: [`${ctx.customer.name} has no ServiceNow configured`], nothingToDo: true };
    }
    // The same checks the run makes, so the card never promises what the run will refuse.
    correlationIdField(input.incidentId);
    attachmentFileName(input.reportName);
    const { rejected } = safeAlertLink(input.alertWebUrl);
    const host = parseInstanceUrl(config.instanceUrl).host;
    return {
      title: `Open a ServiceNow Security Incident for ${input.incidentId}`,
      facts: [
        { label: 'Instance', value: host },
        { label: 'Table', value: config.table },
        { label: 'Severity', value: `High (code ${config.severityHigh})` },
        { label: 'Short description', value: shortDescriptionField(input.shortDescription) },
        { label: 'Priority', value: `code ${config.priority}` },
        { label: 'Requested by', value: config.requestedByEmail ?? 'not set' },
        { label: 'Caller', value: config.callerEmail ?? 'not set' },
        ...(config.contactField ? [{ label: 'Contact (custom field)', value: `${config.contactField} = ${config.contact}` }] : []),
      ],
      changes: [
        `Create a record in ${config.table} with ${config.correlationField} = ${input.incidentId} (reused if one exists)`,
        `Attach ${input.reportName} (${input.reportBytes.length} bytes)`,
      ],
      warnings: rejected ? [`The Defender alert link is left out: ${rejected}`] : [],
    };
  },
  run: (input, ctx) => openSecurityIncident(input, ctx),
};

export const serviceNowActions: ActionDef[] = [openIncidentAction as unknown as ActionDef];
