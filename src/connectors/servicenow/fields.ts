import { InvalidInputError, quoteForError } from '../../domain/net';

/**
 * Turning incident text into values ServiceNow fields accept. Everything here is data placed in a
 * JSON body; nothing from an alert is ever put into a URL path or an encoded query unvalidated.
 */

/** sys_dictionary max_length of task.short_description */
export const SHORT_DESCRIPTION_MAX = 160;
/** task.description is 4,000 characters on a stock instance; the full text is in the attached report */
export const DESCRIPTION_MAX = 4000;
/** task.correlation_id is 100 characters */
export const CORRELATION_ID_MAX = 100;
/** a forensic report is a few hundred KB at most; anything near this is a bug upstream */
export const REPORT_MAX_BYTES = 20 * 1024 * 1024;

const CONTROL_EXCEPT_NEWLINE_TAB = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/g;
const ALL_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** Cuts to `max` characters (code points, so a surrogate pair is never split), marking the cut with "…". */
export function truncate(value: string, max: number): string {
  const chars = Array.from(value);
  if (chars.length <= max) return value;
  return `${chars.slice(0, max - 1).join('')}…`;
}

/** One line for short_description: control characters and line breaks become spaces, then truncated to 160. */
export function shortDescriptionField(title: string): string {
  const oneLine = title.normalize('NFC').replace(ALL_CONTROL, ' ').replace(/\s+/g, ' ').trim();
  if (oneLine === '') throw new InvalidInputError('shortDescription', 'is empty');
  return truncate(oneLine, SHORT_DESCRIPTION_MAX);
}

/** Multi-line text: CRLF normalised, other control characters removed. */
export function multilineText(text: string): string {
  return text.normalize('NFC').replace(/\r\n?/g, '\n').replace(CONTROL_EXCEPT_NEWLINE_TAB, '');
}

/**
 * Our incident id as the correlation id. It is also used in an encoded query (sysparm_query), so
 * it is restricted to characters that cannot separate or extend one.
 */
const CORRELATION = /^[A-Za-z0-9][A-Za-z0-9._:\-]*$/;
export function correlationIdField(incidentId: string): string {
  if (incidentId.length > CORRELATION_ID_MAX || !CORRELATION.test(incidentId)) {
    throw new InvalidInputError('incidentId', `must be letters, digits and . _ : - (at most ${CORRELATION_ID_MAX}) to be a ServiceNow correlation id: ${quoteForError(incidentId)}`);
  }
  return incidentId;
}

/** A file name for the Attachment API (also used in an encoded query): a plain name, no paths. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._ ()\-]*\.[A-Za-z0-9]{1,8}$/;
export function attachmentFileName(name: string): string {
  if (name.length > 100 || !FILE_NAME.test(name) || name.includes('..')) {
    throw new InvalidInputError('reportName', `must be a plain file name such as IR-20261127-7K3Q-report.md (letters, digits, . _ - space, parentheses; an extension; at most 100): ${quoteForError(name)}`);
  }
  return name;
}

export function contentTypeForFileName(name: string): string {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  const known: Record<string, string> = {
    md: 'text/markdown', txt: 'text/plain', json: 'application/json', pdf: 'application/pdf',
    html: 'text/html', csv: 'text/csv', zip: 'application/zip',
  };
  return known[ext] ?? 'application/octet-stream';
}

/**
 * The Defender alert link, when it is one: an absolute https URL without credentials. Anything else
 * (javascript:, data:, http:, a relative path) is dropped, and the caller says so in the ticket.
 */
export function safeAlertLink(value: string | undefined): { link?: string; rejected?: string } {
  if (value === undefined || value.trim() === '') return {};
  if (value.length > 2048) return { rejected: 'longer than 2,048 characters' };
  let u: URL;
  try {
    u = new URL(value.trim());
  } catch {
    return { rejected: 'not an absolute URL' };
  }
  if (u.protocol !== 'https:') return { rejected: 'not an https link' };
  if (u.username || u.password) return { rejected: 'it carries credentials' };
  return { link: u.href };
}
