import { z } from 'zod';
import { ConnectorError, type ActionContext, type ActionDef, type Preview, type StoredReport, actionList } from '../types';
import { parseInstanceUrl } from './client';
import { attachmentFileName, correlationIdField, safeAlertLink, shortDescriptionField } from './fields';
import { composeReleaseNote, releaseSecurityIncident, type ReleaseSecurityIncidentInput, type ReleaseSecurityIncidentOutput } from './release-security-incident';
import { openSecurityIncident, type OpenSecurityIncidentInput, type OpenSecurityIncidentOutput } from './open-security-incident';

/** What a procedure step gives: plain values. The attachment is the incident's stored report. */
export type OpenIncidentStepInput = Omit<OpenSecurityIncidentInput, 'reportName' | 'reportBytes' | 'incidentId'> & { incidentId?: string };
const openIncidentInput: z.ZodType<OpenIncidentStepInput, z.ZodTypeDef, unknown> = z.object({
  incidentId: z.string().min(1).max(100).optional(),
  shortDescription: z.string().min(1),
  description: z.string(),
  alertWebUrl: z.string().optional(),
  affectedUserEmail: z.string().email().optional(),
}).strict();

/** The latest forensic report of the context's incident, through the context (never the store). */
async function storedReport(ctx: ActionContext): Promise<StoredReport> {
  const reports = ctx.ports?.reports;
  if (!reports) throw new ConnectorError('no report source was given to this action', { source: 'servicenow' });
  const report = await reports.latest(ctx.incidentId);
  if (!report) throw new ConnectorError(`${ctx.incidentId} has no forensic report yet: generate it first (evidence.report)`, { source: 'servicenow' });
  return report;
}

function fullInput(input: OpenIncidentStepInput, ctx: ActionContext, report: StoredReport): OpenSecurityIncidentInput {
  // the ticket is always the context's incident's: a step cannot file one for another incident
  if (input.incidentId !== undefined && input.incidentId !== ctx.incidentId) throw new ConnectorError(`incidentId ${JSON.stringify(input.incidentId.slice(0, 64))} is not this action's incident ${ctx.incidentId}`, { source: 'servicenow' });
  return { ...input, incidentId: ctx.incidentId, reportName: report.name, reportBytes: report.bytes };
}

export const openIncidentAction: ActionDef<OpenIncidentStepInput, OpenSecurityIncidentOutput> = {
  name: 'servicenow.openIncident',
  risk: 'change',
  description: "Opens a High Security Incident in the customer's ServiceNow (one per incident) and attaches the forensic report.",
  input: openIncidentInput,
  async preview(stepInput: OpenIncidentStepInput, ctx: ActionContext): Promise<Preview> {
    const config = ctx.customer.servicenow;
    if (!config) {
      return { title: 'Open a ServiceNow Security Incident', facts: [], changes: [], warnings: [`${ctx.customer.name} has no ServiceNow configured`], nothingToDo: true };
    }
    const input = fullInput(stepInput, ctx, await storedReport(ctx));
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
  run: async (input, ctx) => openSecurityIncident(fullInput(input, ctx, await storedReport(ctx)), ctx),
};

const line = z.string().max(500);
const releaseInput: z.ZodType<ReleaseSecurityIncidentInput, z.ZodTypeDef, unknown> = z.object({
  incidentId: z.string().min(1).max(100),
  reason: z.string().trim().min(1).max(500),
  classification: z.enum(['falsePositive', 'informationalExpectedActivity']),
  releasedBy: z.string().min(1).max(200),
  undone: z.array(line).max(50),
  kept: z.array(line).max(50),
  sysId: z.string().regex(/^[0-9a-f]{32}$/).optional(),
}).strict();

/**
 * The release's ticket update (issue 14): a work note on the incident's Security Incident and the
 * "closed as false positive" state and close code from the customer's config. A change to the
 * ticket, not to the customer's systems: the release's one approval covers it.
 */
export const ticketUpdateAction: ActionDef<ReleaseSecurityIncidentInput, ReleaseSecurityIncidentOutput> = {
  name: 'ticket.update',
  risk: 'change',
  description: "Notes the release on the customer's ServiceNow Security Incident and sets the state and close code for a false positive.",
  input: releaseInput,
  async preview(input, ctx): Promise<Preview> {
    const config = ctx.customer.servicenow;
    if (!config) return { title: 'Update the ServiceNow Security Incident', facts: [], changes: [], warnings: [`${ctx.customer.name} has no ServiceNow configured`], nothingToDo: true };
    return {
      title: `Note the release on the ServiceNow Security Incident of ${ctx.incidentId}`,
      facts: [
        { label: 'Instance', value: parseInstanceUrl(config.instanceUrl).host },
        { label: 'State', value: `code ${config.falsePositiveState}` },
        { label: 'Close code', value: config.falsePositiveCloseCode },
      ],
      changes: [`Add a ${config.notesField} entry (once):\n${composeReleaseNote(input)}`, `Set state ${config.falsePositiveState} and close code ${config.falsePositiveCloseCode}`],
      warnings: [],
    };
  },
  run: (input, ctx) => releaseSecurityIncident(input, ctx),
};

export const serviceNowActions: ActionDef[] = actionList(openIncidentAction, ticketUpdateAction);
