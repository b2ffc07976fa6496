import type { ServiceNowConfig } from '../../config/customers';
import { InvalidInputError } from '../../domain/net';
import { ConnectorError, type ActionContext, type ActionResult } from '../types';
import { ServiceNowClient, type ServiceNowClientOptions } from './client';
import { correlationIdField, truncate } from './fields';
import { findIncidentRecord, hasJournalEntry, journalLine } from './journal';
import { readBackFields } from './stock-fields';

/**
 * The release's ServiceNow follow-through (issue 14): the Security Incident opened for our incident
 * gets one work note (what was released, by whom, why, the classification) and the state and close
 * code the customer's config gives for "closed as false positive". A re-run after a crash never adds
 * a second note: the note carries a marker with our incident id, and the record's journal
 * (sys_journal_field) is searched for it before writing. The state fields are set idempotently and
 * read back; a field the instance did not keep is reported, not hidden.
 */

export interface ReleaseSecurityIncidentInput {
  incidentId: string;
  reason: string;
  classification: string;
  releasedBy: string;
  /** what the release undid, one short line each */
  undone: string[];
  /** what stays as it is, and why */
  kept: string[];
  /** the record the incident recorded when it opened the ticket; else it is found by correlation id */
  sysId?: string;
}

export interface ReleaseSecurityIncidentOutput {
  sysId: string;
  number: string;
  link: string;
  /** false when the note was already on the record (a re-run) */
  noted: boolean;
  state: string;
  closeCode: string;
  warnings: string[];
}

const SOURCE = 'servicenow.table';
const NOTE_MAX = 4000;

export { journalLine };

/** The marker that makes the note findable: one per incident, the correlation id already validated. */
export const releaseNoteMarker = (incidentId: string): string => `[teams-ir-bot release ${correlationIdField(incidentId)}]`;

export function composeReleaseNote(input: ReleaseSecurityIncidentInput): string {
  const lines = [
    `${releaseNoteMarker(input.incidentId)} Containment released as ${journalLine(input.classification, 40)} by ${journalLine(input.releasedBy, 100)}.`,
    `Reason: ${journalLine(input.reason, 500)}`,
    'Undone:',
    ...(input.undone.length ? input.undone.map((u) => `- ${journalLine(u, 200)}`) : ['- nothing (no containment step was undone)']),
    ...(input.kept.length ? ['Stays as it is:', ...input.kept.map((k) => `- ${journalLine(k, 300)}`)] : []),
  ];
  return truncate(lines.join('\n'), NOTE_MAX);
}

export async function releaseSecurityIncident(
  input: ReleaseSecurityIncidentInput, ctx: ActionContext, clientOptions: Partial<ServiceNowClientOptions> = {},
): Promise<ActionResult<ReleaseSecurityIncidentOutput>> {
  const config = ctx.customer.servicenow as ServiceNowConfig | undefined;
  if (!config) throw new ConnectorError(`customer ${ctx.customer.id} has no ServiceNow configured (servicenow in the customers file)`, { source: SOURCE });
  if (input.incidentId !== ctx.incidentId) throw new InvalidInputError('incidentId', `is not this action's incident ${ctx.incidentId}`);
  const correlationId = correlationIdField(input.incidentId);
  const note = composeReleaseNote(input);
  const marker = releaseNoteMarker(correlationId);
  const notesField = config.notesField ?? 'work_notes';
  const table = config.table;
  const client = ServiceNowClient.fromConfig(config, ctx.secrets, { signal: ctx.signal, now: () => ctx.now(), ...clientOptions });

  // 1. The record: the recorded one (checked to be ours), else the one carrying our correlation id.
  const { sysId, number } = await findIncidentRecord(client, config, correlationId, input.sysId, SOURCE);

  // 2. The note, unless a previous attempt already wrote it.
  const already = await hasJournalEntry(client, table, sysId, notesField, marker, SOURCE);
  const fields: Record<string, string> = {
    state: config.falsePositiveState,
    close_code: config.falsePositiveCloseCode,
    close_notes: journalLine(`Released by teams-ir-bot (${correlationId}) as ${input.classification}: ${input.reason}`, 1000),
  };
  await client.request('PATCH', `/api/now/table/${table}/${sysId}`, { sysparm_exclude_reference_link: 'true', sysparm_fields: 'sys_id,number' },
    { kind: 'json', value: { ...fields, ...(already ? {} : { [notesField]: note }) } }, { source: SOURCE, action: `updating ${number || sysId}` });

  // 3. Read back: every field set, and the note in the journal.
  const warnings: string[] = [];
  const kept = await readBackFields(client, table, sysId, fields, SOURCE);
  for (const f of kept.dropped) warnings.push(`ServiceNow did not keep ${f}=${JSON.stringify(fields[f])} on ${number}: ${table} has no such field or choice on this instance, or a rule (e.g. close only from Review) changed it`);
  if (!already && !(await hasJournalEntry(client, table, sysId, notesField, marker, SOURCE))) warnings.push(`ServiceNow did not keep the ${notesField} entry on ${number} (servicenow.notesField)`);
  if (warnings.length) ctx.log.warn({ customer: ctx.customer.id, incident: correlationId, warnings }, 'servicenow release fields not kept');

  return {
    output: { sysId, number, link: `${client.origin}/nav_to.do?uri=${table}.do?sys_id=${sysId}`, noted: !already, state: fields.state, closeCode: fields.close_code, warnings },
    summary: [
      `ServiceNow ${number}: ${already ? 'release note already there, not added again' : `release noted in ${notesField}`}; state ${fields.state}, close code ${fields.close_code}`,
      ...warnings.map((w) => `warning: ${w}`),
    ].join('; '),
    raw: client.evidence,
  };
}
