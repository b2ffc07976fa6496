import type { ServiceNowConfig } from '../../config/customers';
import { InvalidInputError } from '../../domain/net';
import { ConnectorError } from '../types';
import type { ServiceNowClient } from './client';
import { encodedQueryAnd } from './encoded-query';
import { truncate } from './fields';
import { findByCorrelation } from './open-security-incident';

/**
 * What the notes the bot adds to a Security Incident share (the release's note, a storm round's
 * note): the record found as ours, each line made inert, and the journal searched for a note's
 * marker so that a re-run after a crash never writes the same note twice.
 */

const SYS_ID = /^[0-9a-f]{32}$/;

/**
 * One line of text for a journal entry. Journal fields are plain text, except that an instance with
 * glide.ui.security.allow_codetag renders what is between [code] and [/code] as HTML: those tags are
 * broken up, and control characters (CRLF included) become spaces, so a value cannot start a line
 * of its own that looks like ours.
 */
export function journalLine(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const oneLine = value.normalize('NFC').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  const inert = oneLine.replace(/\[(\/?)(code)\]/gi, '($1$2)');
  return truncate(inert, max);
}

export interface IncidentRow { sys_id?: unknown; number?: unknown; [field: string]: unknown }

/**
 * The Security Incident of our incident: the recorded sys_id (checked to carry our correlation id,
 * so a wrong id never updates another record), else the one found by the correlation id.
 */
export async function findIncidentRecord(
  client: ServiceNowClient, config: ServiceNowConfig, correlationId: string, sysId: string | undefined, source: string,
): Promise<{ sysId: string; number: string }> {
  if (sysId !== undefined && !SYS_ID.test(sysId)) throw new InvalidInputError('sysId', 'is not a ServiceNow sys_id (32 hex digits)');
  let record: IncidentRow | undefined;
  if (sysId) {
    const res = await client.request('GET', `/api/now/table/${config.table}/${sysId}`, {
      sysparm_fields: `sys_id,number,${config.correlationField}`, sysparm_exclude_reference_link: 'true',
    }, undefined, { source, action: `reading ${config.table} ${sysId}` });
    record = (res.json as { result?: IncidentRow } | undefined)?.result;
    if (record?.[config.correlationField] !== correlationId) {
      throw new ConnectorError(`ServiceNow ${client.instanceHost}: ${config.table} ${sysId} does not carry ${config.correlationField}=${correlationId}; not updating a record that is not this incident's`, { source });
    }
  } else {
    record = await findByCorrelation(client, config, correlationId);
  }
  if (!record) throw new ConnectorError(`ServiceNow ${client.instanceHost}: no ${config.table} record with ${config.correlationField}=${correlationId}: was a ticket opened for this incident?`, { source });
  return { sysId: String(record.sys_id), number: String(record.number ?? '') };
}

/** Whether the record's journal already holds an entry of `field` that starts with `marker` (sys_journal_field). */
export async function hasJournalEntry(client: ServiceNowClient, table: string, sysId: string, field: string, marker: string, source: string): Promise<boolean> {
  const res = await client.request('GET', '/api/now/table/sys_journal_field', {
    sysparm_query: encodedQueryAnd([['element_id', sysId], ['element', field], ['name', table]]),
    sysparm_fields: 'element_id,element,value',
    sysparm_limit: '500',
  }, undefined, { source, action: `reading the ${field} of ${sysId}` });
  const rows = (res.json as { result?: Array<{ element_id?: unknown; element?: unknown; value?: unknown }> } | undefined)?.result;
  if (!Array.isArray(rows)) throw new ConnectorError(`ServiceNow ${client.instanceHost} answered the journal lookup without a result list`, { source, retryable: true });
  // a condition on an unknown field is ignored by the instance: check each row ourselves
  return rows.some((r) => r.element_id === sysId && r.element === field && typeof r.value === 'string' && r.value.startsWith(marker));
}
