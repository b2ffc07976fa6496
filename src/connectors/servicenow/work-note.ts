import type { ServiceNowConfig } from '../../config/customers';
import { InvalidInputError } from '../../domain/net';
import { ConnectorError, type ActionContext, type ActionResult } from '../types';
import { ServiceNowClient, type ServiceNowClientOptions } from './client';
import { correlationIdField, truncate } from './fields';
import { findIncidentRecord, hasJournalEntry, journalLine } from './journal';

/**
 * One work note on the Security Incident of our incident (a storm round's outcome, added after the
 * ticket was opened). Exactly once: the note starts with its marker, and the record's journal is
 * searched for that marker before the note is written, so a re-run after a crash (or a replay)
 * finds its note instead of adding a second one. Every line is made inert (journalLine) and the
 * whole note is bounded: a name from a directory cannot add a line that looks like ours.
 */

export interface WorkNoteInput {
  incidentId: string;
  /** unique per note of this incident, starts the note: `[teams-ir-bot <incident> <what>]` */
  marker: string;
  lines: string[];
  /** the record the incident recorded when it opened the ticket; else it is found by correlation id */
  sysId?: string;
}

export interface WorkNoteOutput {
  sysId: string;
  number: string;
  link: string;
  /** false when the note was already on the record (a re-run) */
  noted: boolean;
  warnings: string[];
}

const SOURCE = 'servicenow.table';
/** journal entries are long text, but an analyst reads this one on a form: a few screens at most */
export const WORK_NOTE_MAX = 8000;
const LINE_MAX = 600;
const MARKER = /^\[teams-ir-bot [A-Za-z0-9:._-]{1,100} [a-z0-9-]{1,80}\]$/;
const CUT = '… (cut here: the forensic report has every account)';

/** The note as written: the marker and the first line, then the others, each one inert line, cut at whole lines. */
export function composeWorkNote(marker: string, lines: readonly string[]): string {
  const out: string[] = [];
  let size = 0;
  const all = lines.map((l, i) => (i === 0 ? `${marker} ${journalLine(l, LINE_MAX)}` : journalLine(l, LINE_MAX)));
  const budget = WORK_NOTE_MAX - CUT.length - 1;
  for (const l of all) {
    if (size + l.length + 1 > budget) { out.push(CUT); break; }
    out.push(l);
    size += l.length + 1;
  }
  return truncate(out.join('\n'), WORK_NOTE_MAX);
}

export async function addWorkNote(input: WorkNoteInput, ctx: ActionContext, clientOptions: Partial<ServiceNowClientOptions> = {}): Promise<ActionResult<WorkNoteOutput>> {
  const config = ctx.customer.servicenow as ServiceNowConfig | undefined;
  if (!config) throw new ConnectorError(`customer ${ctx.customer.id} has no ServiceNow configured (servicenow in the customers file)`, { source: SOURCE });
  if (input.incidentId !== ctx.incidentId) throw new InvalidInputError('incidentId', `is not this action's incident ${ctx.incidentId}`);
  const correlationId = correlationIdField(input.incidentId);
  if (!MARKER.test(input.marker) || !input.marker.includes(` ${correlationId} `)) throw new InvalidInputError('marker', `must be [teams-ir-bot ${correlationId} <note>]`);
  if (input.lines.length === 0) throw new InvalidInputError('lines', 'the note is empty');
  const note = composeWorkNote(input.marker, input.lines);
  // internal: the note names the customer's accounts and why each is not contained (never customer-visible comments)
  const field = 'work_notes';
  const table = config.table;
  const client = ServiceNowClient.fromConfig(config, ctx.secrets, { signal: ctx.signal, now: () => ctx.now(), ...clientOptions });

  const { sysId, number } = await findIncidentRecord(client, config, correlationId, input.sysId, SOURCE);
  const already = await hasJournalEntry(client, table, sysId, field, input.marker, SOURCE);
  const warnings: string[] = [];
  if (!already) {
    await client.request('PATCH', `/api/now/table/${table}/${sysId}`, { sysparm_exclude_reference_link: 'true', sysparm_fields: 'sys_id,number' },
      { kind: 'json', value: { [field]: note } }, { source: SOURCE, action: `adding a work note to ${number || sysId}` });
    if (!(await hasJournalEntry(client, table, sysId, field, input.marker, SOURCE))) warnings.push(`ServiceNow did not keep the ${field} entry on ${number}`);
  }
  if (warnings.length) ctx.log.warn({ customer: ctx.customer.id, incident: correlationId, warnings }, 'servicenow work note not kept');
  return {
    output: { sysId, number, link: `${client.origin}/nav_to.do?uri=${table}.do?sys_id=${sysId}`, noted: !already, warnings },
    summary: [`ServiceNow ${number}: ${already ? 'note already there, not added again' : `noted in ${field}`}`, ...warnings.map((w) => `warning: ${w}`)].join('; '),
    raw: client.evidence,
  };
}
