import { InvalidInputError, quoteForError } from '../../domain/net';

/**
 * An outgoing email, independent of how it travels (SMTP here, Graph sendMail in connectors/graph).
 * validateOutgoingMail is the one gate: every address is a plain, strictly checked address and no
 * header-bound text (subject, file names) can carry a line break, so header injection cannot happen
 * whatever the transport does with the values.
 */

export interface MailAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface OutgoingMail {
  /** defaults to the transport's configured sender */
  from?: string;
  subject: string;
  bodyText: string;
  /** optional HTML alternative; the caller escapes anything it interpolates */
  bodyHtml?: string;
  to: string[];
  cc?: string[];
  attachments?: MailAttachment[];
}

/** An OutgoingMail that passed validateOutgoingMail: addresses normalised and de-duplicated. */
export type ValidatedMail = OutgoingMail & { readonly __validated: true; to: EmailAddress[]; cc: EmailAddress[]; from?: EmailAddress; attachments: MailAttachment[] };

export type EmailAddress = string & { readonly __brand: 'EmailAddress' };

export const MAIL_LIMITS = {
  subjectChars: 255,
  recipients: 100,
  bodyChars: 1_000_000,
  /** SMTP servers commonly accept 25 MB; base64 adds a third, so the raw total stays under 18 MB */
  attachmentsTotalBytes: 18 * 1024 * 1024,
  attachments: 20,
} as const;

// A dot-atom local part (RFC 5322 atext, no quoted strings) and an LDH domain with a letter TLD.
// Deliberately narrower than the RFC: nothing that needs quoting can reach a header or the envelope.
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const TLD = /^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$/;

export function parseEmailAddress(value: unknown, field: string): EmailAddress {
  if (typeof value !== 'string') throw new InvalidInputError(field, `not a string: ${quoteForError(value)}`);
  // Surrounding spaces are forgiven; a control character anywhere is not (a trailing CRLF is an injection attempt).
  const v = value.replace(/^ +| +$/g, '');
  const at = v.lastIndexOf('@');
  const local = v.slice(0, at);
  const domain = v.slice(at + 1);
  const labels = domain.split('.');
  const ok =
    at > 0 && v.length <= 254 && local.length <= 64 && domain.length <= 253 && LOCAL.test(local) &&
    labels.length >= 2 && labels.every((l) => LABEL.test(l)) && TLD.test(labels[labels.length - 1]);
  if (!ok) throw new InvalidInputError(field, `not a plain email address (name@example.com): ${quoteForError(value)}`);
  return `${local}@${domain.toLowerCase()}` as EmailAddress;
}

// C0/C1 controls, DEL and the Unicode line/paragraph separators: none belongs in a header.
const HEADER_BREAKERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function parseSubject(value: unknown): string {
  if (typeof value !== 'string') throw new InvalidInputError('subject', `not a string: ${quoteForError(value)}`);
  if (/[\r\n]/.test(value)) throw new InvalidInputError('subject', `contains a line break (CR/LF), which would start a new mail header: ${quoteForError(value)}`);
  if (HEADER_BREAKERS.test(value)) throw new InvalidInputError('subject', `contains a control character: ${quoteForError(value)}`);
  const v = value.trim();
  if (v === '') throw new InvalidInputError('subject', 'is empty');
  if (Array.from(v).length > MAIL_LIMITS.subjectChars) throw new InvalidInputError('subject', `is longer than ${MAIL_LIMITS.subjectChars} characters`);
  return v;
}

const FILE_NAME = /^[^\\/:*?"<>|]{1,255}$/;
const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;

function parseAttachment(a: MailAttachment, i: number): MailAttachment {
  const field = `attachments[${i}]`;
  if (typeof a?.filename !== 'string' || HEADER_BREAKERS.test(a.filename) || !FILE_NAME.test(a.filename) || a.filename.trim() !== a.filename) {
    throw new InvalidInputError(`${field}.filename`, `not a plain file name: ${quoteForError(a?.filename)}`);
  }
  if (typeof a.contentType !== 'string' || !MIME_TYPE.test(a.contentType)) {
    throw new InvalidInputError(`${field}.contentType`, `not a MIME type such as text/markdown: ${quoteForError(a.contentType)}`);
  }
  if (!Buffer.isBuffer(a.content)) throw new InvalidInputError(`${field}.content`, 'must be a Buffer');
  return { filename: a.filename, contentType: a.contentType.toLowerCase(), content: a.content };
}

function parseRecipients(list: unknown, field: string): EmailAddress[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new InvalidInputError(field, 'must be a list of addresses');
  return list.map((v, i) => parseEmailAddress(v, `${field}[${i}]`));
}

/** Checks and normalises a mail; throws InvalidInputError naming the field, before anything is sent. */
export function validateOutgoingMail(mail: OutgoingMail): ValidatedMail {
  const subject = parseSubject(mail.subject);
  const from = mail.from === undefined ? undefined : parseEmailAddress(mail.from, 'from');

  // De-duplicate case-insensitively; an address in both To and Cc stays in To only.
  const seen = new Set<string>();
  const dedupe = (addrs: EmailAddress[]): EmailAddress[] => addrs.filter((a) => {
    const k = a.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const to = dedupe(parseRecipients(mail.to, 'to'));
  const cc = dedupe(parseRecipients(mail.cc, 'cc'));
  if (to.length === 0) throw new InvalidInputError('to', 'needs at least one recipient');
  if (to.length + cc.length > MAIL_LIMITS.recipients) throw new InvalidInputError('to', `more than ${MAIL_LIMITS.recipients} recipients`);

  if (typeof mail.bodyText !== 'string') throw new InvalidInputError('bodyText', 'must be text');
  if (mail.bodyText.length > MAIL_LIMITS.bodyChars) throw new InvalidInputError('bodyText', `is longer than ${MAIL_LIMITS.bodyChars} characters`);
  if (mail.bodyHtml !== undefined && (typeof mail.bodyHtml !== 'string' || mail.bodyHtml.length > MAIL_LIMITS.bodyChars)) {
    throw new InvalidInputError('bodyHtml', `must be text of at most ${MAIL_LIMITS.bodyChars} characters`);
  }
  // NUL has no business in a mail body and some MTAs truncate at it.
  const bodyText = mail.bodyText.replace(/\u0000/g, '');

  const attachments = (mail.attachments ?? []).map(parseAttachment);
  if (attachments.length > MAIL_LIMITS.attachments) throw new InvalidInputError('attachments', `more than ${MAIL_LIMITS.attachments} attachments`);
  const total = attachments.reduce((n, a) => n + a.content.length, 0);
  if (total > MAIL_LIMITS.attachmentsTotalBytes) throw new InvalidInputError('attachments', `${total} bytes in total, over ${MAIL_LIMITS.attachmentsTotalBytes}`);

  return { __validated: true, from, subject, bodyText, bodyHtml: mail.bodyHtml, to, cc, attachments };
}
