import { ConnectorError } from '../types';
import type { ServiceNowClient } from './client';
import { encodedQueryEquals } from './encoded-query';

const SYS_ID = /^[0-9a-f]{32}$/;
const EMAIL = /^[^\s@^]+@[^\s@^]+\.[^\s@^]+$/;

/**
 * The stock reference fields of sn_si_incident (requested_by, caller, affected_user) hold sys_user
 * sys_ids. Each email is looked up in sys_user; a person not found (or found twice) leaves the field
 * unset with a warning rather than failing the ticket.
 */
export async function lookUpUsersByEmail(
  client: ServiceNowClient, wanted: Record<string, string | undefined>, source: string,
): Promise<{ fields: Record<string, string>; warnings: string[] }> {
  const fields: Record<string, string> = {};
  const warnings: string[] = [];
  const cache = new Map<string, string[]>();
  for (const [field, email] of Object.entries(wanted)) {
    if (!email) continue;
    if (!EMAIL.test(email)) { warnings.push(`${field} left empty: ${JSON.stringify(email)} is not an email address`); continue; }
    let ids = cache.get(email.toLowerCase());
    if (!ids) {
      const res = await client.request('GET', '/api/now/table/sys_user', {
        sysparm_query: encodedQueryEquals('email', email, field),
        sysparm_fields: 'sys_id,email',
        sysparm_limit: '2',
        sysparm_exclude_reference_link: 'true',
      }, undefined, { source, action: `looking up ${field} (${email}) in sys_user` });
      const rows = (res.json as { result?: Array<{ sys_id?: unknown; email?: unknown }> } | undefined)?.result;
      if (!Array.isArray(rows)) throw new ConnectorError(`ServiceNow ${client.instanceHost} answered the sys_user lookup without a result list`, { source, retryable: true });
      // The instance ignores a condition on a field it does not know: keep only rows that carry the email.
      ids = rows.filter((r) => typeof r.email === 'string' && r.email.toLowerCase() === email.toLowerCase() && typeof r.sys_id === 'string' && SYS_ID.test(r.sys_id)).map((r) => String(r.sys_id));
      cache.set(email.toLowerCase(), ids);
    }
    if (ids.length === 1) fields[field] = ids[0];
    else warnings.push(`${field} left empty: ${ids.length ? 'several' : 'no'} sys_user record(s) with email ${email}`);
  }
  return { fields, warnings };
}

/** Reads the record back and names every field whose stored value is not the one we sent. */
export async function readBackFields(
  client: ServiceNowClient, table: string, sysId: string, sent: Record<string, string>, source: string,
): Promise<{ dropped: string[] }> {
  const names = Object.keys(sent);
  const res = await client.request('GET', `/api/now/table/${table}/${sysId}`, {
    sysparm_fields: names.join(','),
    sysparm_exclude_reference_link: 'true',
    sysparm_display_value: 'false',
  }, undefined, { source, action: `reading back ${table} ${sysId}` });
  const row = (res.json as { result?: Record<string, unknown> } | undefined)?.result;
  if (!row || typeof row !== 'object') throw new ConnectorError(`ServiceNow ${client.instanceHost} answered the read-back of ${sysId} without a record`, { source, retryable: true });
  return { dropped: names.filter((n) => row[n] !== sent[n]) };
}
