import { createHash } from 'node:crypto';
import type { ServiceNowConfig } from '../../config/customers';
import { InvalidInputError } from '../../domain/net';
import { ConnectorError, type ActionContext, type ActionResult } from '../types';
import { ServiceNowClient, sha256Hex, type ServiceNowClientOptions } from './client';
import { encodedQueryAnd, encodedQueryEquals } from './encoded-query';
import { lookUpUsersByEmail, readBackFields } from './stock-fields';
import {
  DESCRIPTION_MAX, REPORT_MAX_BYTES, attachmentFileName, contentTypeForFileName, correlationIdField,
  multilineText, safeAlertLink, shortDescriptionField, truncate,
} from './fields';

export interface OpenSecurityIncidentInput {
  incidentId: string;
  shortDescription: string;
  description: string;
  alertWebUrl?: string;
  reportName: string;
  reportBytes: Buffer;
  /** the compromised user's email: looked up in sys_user for the stock affected_user field */
  affectedUserEmail?: string;
}

export interface OpenSecurityIncidentOutput {
  sysId: string;
  number: string;
  link: string;
  attachmentSysId: string;
  /** false when a previous attempt had already created the record (found by correlation id) */
  created: boolean;
  /** false when the same file (same name, size and hash) was already attached */
  attached: boolean;
  /** fields we set that the instance did not keep (read back after the create), and users not found */
  warnings: string[];
}

/**
 * The journal field that carries the alert link. Not yet in the customer schema (proposed:
 * `servicenow.notesField: 'work_notes' | 'comments'`, default work_notes: internal, not customer-visible).
 */
export type NotesField = 'work_notes' | 'comments';
type ServiceNowSettings = ServiceNowConfig & { notesField?: NotesField };

const SOURCE_TABLE = 'servicenow.table';
const SOURCE_ATTACHMENT = 'servicenow.attachment';
const SYS_ID = /^[0-9a-f]{32}$/;

interface TableRow { sys_id?: unknown; number?: unknown; [field: string]: unknown }
interface AttachmentMeta { sys_id?: unknown; file_name?: unknown; size_bytes?: unknown; hash?: unknown }

/**
 * Opens the customer's Security Incident for one of our incidents and attaches the forensic report.
 * Idempotent by construction: the record is looked up by our incident id (the correlation field)
 * before it is created, and the report by name + size + hash before it is uploaded, so a retry after
 * a crash anywhere in between finishes the job without a second record or a second attachment.
 */
export async function openSecurityIncident(
  input: OpenSecurityIncidentInput,
  ctx: ActionContext,
  clientOptions: Partial<ServiceNowClientOptions> = {},
): Promise<ActionResult<OpenSecurityIncidentOutput>> {
  const config = ctx.customer.servicenow as ServiceNowSettings | undefined;
  if (!config) {
    throw new ConnectorError(`customer ${ctx.customer.id} has no ServiceNow configured (servicenow in the customers file)`, { source: SOURCE_TABLE });
  }
  // Validate everything before the first request: a refused input must not leave half a ticket.
  const correlationId = correlationIdField(input.incidentId);
  const fileName = attachmentFileName(input.reportName);
  if (!Buffer.isBuffer(input.reportBytes) || input.reportBytes.length === 0) throw new InvalidInputError('reportBytes', 'the report is empty');
  if (input.reportBytes.length > REPORT_MAX_BYTES) throw new InvalidInputError('reportBytes', `the report is ${input.reportBytes.length} bytes, over ${REPORT_MAX_BYTES}`);
  if (config.contactField && config.contactField === config.correlationField) {
    throw new ConnectorError(`customer ${ctx.customer.id}: servicenow.contactField and correlationField are both ${config.correlationField}`, { source: SOURCE_TABLE });
  }
  const notesField: NotesField = config.notesField ?? 'work_notes';
  const reportSha256 = sha256Hex(input.reportBytes);
  const { link: alertLink, rejected: linkRejected } = safeAlertLink(input.alertWebUrl);
  const table = config.table;

  const client = ServiceNowClient.fromConfig(config, ctx.secrets, { signal: ctx.signal, now: () => ctx.now(), ...clientOptions });
  const tablePath = `/api/now/table/${table}`;

  // 1. The record: find the one a previous attempt made, else create it.
  let record = await findByCorrelation(client, config, correlationId);
  const created = record === undefined;
  const warnings: string[] = [];
  if (!record) {
    // The stock reference fields hold sys_user sys_ids: look each person up by email first.
    const people = await lookUpUsersByEmail(client, {
      requested_by: config.requestedByEmail,
      caller: config.callerEmail,
      affected_user: input.affectedUserEmail,
    }, SOURCE_TABLE);
    warnings.push(...people.warnings);
    const body: Record<string, string> = {
      short_description: shortDescriptionField(input.shortDescription),
      description: composeDescription(input, correlationId, fileName, reportSha256, alertLink, linkRejected),
      severity: config.severityHigh,
      priority: config.priority,
      ...people.fields,
    };
    if (config.contactField && config.contact) body[config.contactField] = config.contact;
    if (config.correlationField === 'correlation_id') body.correlation_display = 'teams-ir-bot';
    body[config.correlationField] = correlationId; // last, so no configured field can overwrite it
    const create: Record<string, string> = { ...body };
    if (alertLink) create[notesField] = `Microsoft Defender alert: ${alertLink}`;
    const res = await client.request('POST', tablePath, { sysparm_exclude_reference_link: 'true' }, { kind: 'json', value: create },
      { source: SOURCE_TABLE, action: `creating a record in ${table}` });
    record = (res.json as { result?: TableRow } | undefined)?.result;
    const sysId = record?.sys_id;
    if (typeof sysId !== 'string' || !SYS_ID.test(sysId)) {
      throw new ConnectorError(`ServiceNow ${client.instanceHost} answered ${res.status} to the create in ${table} without a sys_id`, { source: SOURCE_TABLE, retryable: true });
    }
    // Read back every field we set: an instance silently drops a field its table does not have.
    const kept = await readBackFields(client, table, sysId, body, SOURCE_TABLE);
    if (kept.dropped.includes(config.correlationField)) {
      // Without the correlation value a retry cannot find this record and would open another one.
      throw new ConnectorError(
        `ServiceNow created ${String(record?.number)} in ${table} but did not store ${config.correlationField}=${correlationId}: ` +
          `check servicenow.correlationField for customer ${ctx.customer.id} (the field must exist on ${table})`,
        { source: SOURCE_TABLE },
      );
    }
    for (const f of kept.dropped) {
      warnings.push(`ServiceNow did not keep ${f}=${JSON.stringify(body[f])} on ${String(record?.number)}: ${table} has no such field on this instance, or a rule changed it${f === config.contactField ? ' (servicenow.contactField)' : ''}`);
    }
  }
  if (!record) throw new ConnectorError(`ServiceNow ${client.instanceHost}: no record after the create in ${table}`, { source: SOURCE_TABLE, retryable: true });
  const sysId = String(record.sys_id);
  const number = String(record.number ?? '');
  const link = `${client.origin}/nav_to.do?uri=${table}.do?sys_id=${sysId}`;

  // 2. The report: reuse an identical attachment, else upload it.
  const existing = await findSameAttachment(client, table, sysId, fileName, input.reportBytes, reportSha256);
  let attachmentSysId: string;
  if (existing) {
    attachmentSysId = existing;
  } else {
    const res = await client.request(
      'POST', '/api/now/attachment/file',
      { table_name: table, table_sys_id: sysId, file_name: fileName },
      { kind: 'bytes', bytes: input.reportBytes, contentType: contentTypeForFileName(fileName) },
      { source: SOURCE_ATTACHMENT, action: `attaching ${fileName} to ${number || sysId}` },
    );
    const meta = (res.json as { result?: AttachmentMeta } | undefined)?.result;
    if (typeof meta?.sys_id !== 'string' || !SYS_ID.test(meta.sys_id)) {
      throw new ConnectorError(`ServiceNow ${client.instanceHost} answered ${res.status} to the attachment upload without a sys_id`, { source: SOURCE_ATTACHMENT, retryable: true });
    }
    attachmentSysId = meta.sys_id;
  }

  ctx.log.info({ customer: ctx.customer.id, incident: correlationId, table, number, created, attached: !existing }, 'servicenow security incident ready');
  const parts = [
    created ? `Opened ServiceNow ${number} (${table})` : `ServiceNow ${number} (${table}) was already open for ${correlationId}`,
    existing ? `report ${fileName} already attached` : `attached ${fileName} (${input.reportBytes.length} bytes)`,
  ];
  if (linkRejected) parts.push(`Defender alert link left out: ${linkRejected}`);
  parts.push(...warnings.map((w) => `warning: ${w}`));
  if (warnings.length) ctx.log.warn({ customer: ctx.customer.id, incident: correlationId, warnings }, 'servicenow fields not kept');
  return {
    output: { sysId, number, link, attachmentSysId, created, attached: !existing, warnings },
    summary: parts.join('; '),
    raw: client.evidence,
  };
}

/** The record a previous call opened for our incident id (the correlation field), if any. */
export async function findByCorrelation(client: ServiceNowClient, config: ServiceNowConfig, correlationId: string): Promise<TableRow | undefined> {
  const res = await client.request(
    'GET', `/api/now/table/${config.table}`,
    {
      sysparm_query: `${encodedQueryEquals(config.correlationField, correlationId, 'incidentId')}^ORDERBYsys_created_on`,
      sysparm_limit: '1',
      sysparm_fields: `sys_id,number,${config.correlationField}`,
      sysparm_exclude_reference_link: 'true',
    },
    undefined,
    { source: SOURCE_TABLE, action: `looking up ${config.table} by ${config.correlationField}` },
  );
  const rows = (res.json as { result?: TableRow[] } | undefined)?.result;
  if (!Array.isArray(rows)) throw new ConnectorError(`ServiceNow ${client.instanceHost} answered the lookup in ${config.table} without a result list`, { source: SOURCE_TABLE, retryable: true });
  const row = rows[0];
  if (!row) return undefined;
  // ServiceNow ignores a condition on a field the table does not have and returns every record:
  // a row that does not carry our id is a configuration error, never "the record we made".
  if (row[config.correlationField] !== correlationId) {
    throw new ConnectorError(
      `ServiceNow ${client.instanceHost} returned ${String(row.number)} for ${config.correlationField}=${correlationId} but that record does not carry it: ` +
        `does ${config.table} have a field ${config.correlationField}? (servicenow.correlationField)`,
      { source: SOURCE_TABLE },
    );
  }
  if (typeof row.sys_id !== 'string' || !SYS_ID.test(row.sys_id)) {
    throw new ConnectorError(`ServiceNow ${client.instanceHost} returned a record without a valid sys_id`, { source: SOURCE_TABLE, retryable: true });
  }
  return row;
}

/** The sys_id of an attachment on the record with this name and exactly these bytes, if there is one. */
async function findSameAttachment(
  client: ServiceNowClient, table: string, sysId: string, fileName: string, bytes: Buffer, sha256: string,
): Promise<string | undefined> {
  const res = await client.request(
    'GET', '/api/now/attachment',
    {
      sysparm_query: encodedQueryAnd([['table_name', table], ['table_sys_id', sysId], ['file_name', fileName, 'reportName']]),
      sysparm_limit: '20',
    },
    undefined,
    { source: SOURCE_ATTACHMENT, action: `listing the attachments of ${sysId}` },
  );
  const list = (res.json as { result?: AttachmentMeta[] } | undefined)?.result;
  if (!Array.isArray(list)) return undefined;
  const md5 = createHash('md5').update(bytes).digest('hex');
  for (const meta of list) {
    if (typeof meta.sys_id !== 'string' || !SYS_ID.test(meta.sys_id) || meta.file_name !== fileName) continue;
    if (meta.size_bytes !== undefined && String(meta.size_bytes) !== String(bytes.length)) continue;
    const hash = typeof meta.hash === 'string' ? meta.hash.toLowerCase() : '';
    if (/^[0-9a-f]{64}$/.test(hash)) {
      if (hash === sha256) return meta.sys_id;
      continue;
    }
    if (/^[0-9a-f]{32}$/.test(hash)) {
      if (hash === md5) return meta.sys_id;
      continue;
    }
    // No hash we can read on this instance: compare the bytes themselves.
    const file = await client.request('GET', `/api/now/attachment/${meta.sys_id}/file`, {}, undefined,
      { source: SOURCE_ATTACHMENT, action: `downloading attachment ${meta.sys_id} to compare it` });
    if (file.bytes.equals(bytes)) return meta.sys_id;
  }
  return undefined;
}

function composeDescription(
  input: OpenSecurityIncidentInput, correlationId: string, fileName: string, sha256: string,
  alertLink: string | undefined, linkRejected: string | undefined,
): string {
  const trailer = [
    '',
    alertLink ? `Microsoft Defender alert: ${alertLink}` : linkRejected ? `Microsoft Defender alert link left out (${linkRejected}).` : undefined,
    `Opened by teams-ir-bot for incident ${correlationId}. Forensic report attached: ${fileName} (SHA-256 ${sha256}).`,
  ].filter((l): l is string => l !== undefined).join('\n');
  const summary = multilineText(input.description).trim();
  const room = DESCRIPTION_MAX - trailer.length - 1;
  const marker = '\n[truncated: the full text is in the attached report]';
  const body = Array.from(summary).length > room ? truncate(summary, room - marker.length) + marker : summary;
  return `${body}\n${trailer}`;
}
