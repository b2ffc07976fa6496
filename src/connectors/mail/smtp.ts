import { createHash, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { CustomerConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import { ConnectorError, type RawPayload } from '../types';
import { parseEmailAddress, validateOutgoingMail, type OutgoingMail } from './message';

export type SmtpMailConfig = Extract<CustomerConfig['mail'], { via: 'smtp' }>;

export interface SmtpSendResult {
  messageId: string;
  accepted: string[];
  rejected: string[];
  raw: RawPayload;
}

export interface SmtpSendOptions {
  timeoutMs?: number;
  /** extra trust anchors (PEM) for a server with a private CA; never a way to switch verification off */
  ca?: string | Buffer;
  now?: () => Date;
}

const SOURCE = 'smtp.send';
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * How nodemailer connects. Implicit TLS when `secure`, otherwise STARTTLS whenever the server offers
 * it; on anything but loopback STARTTLS is required, so credentials and incident details never
 * cross a network in clear text. Certificates are always verified.
 */
export function smtpTransportOptions(config: SmtpMailConfig, secrets: SecretStore, opts: SmtpSendOptions = {}): SMTPTransport.Options {
  if (Boolean(config.usernameRef) !== Boolean(config.passwordRef)) {
    throw new ConnectorError('SMTP config needs both usernameRef and passwordRef, or neither', { source: SOURCE });
  }
  const timeout = opts.timeoutMs ?? 30_000;
  return {
    host: config.host,
    port: config.port,
    secure: config.secure,
    requireTLS: !config.secure && !LOOPBACK.has(config.host),
    auth: config.usernameRef && config.passwordRef
      ? { type: 'login', user: secrets.get(config.usernameRef), pass: secrets.get(config.passwordRef) }
      : undefined,
    tls: {
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
      ...(isIP(config.host) ? {} : { servername: config.host }),
      ...(opts.ca ? { ca: opts.ca } : {}),
    },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/**
 * Sends one mail over SMTP. The message is validated first (nothing is sent if any part is refused),
 * composed once, and those exact bytes are sent, so the evidence hash is the hash of what left.
 */
export async function sendMailViaSmtp(
  config: SmtpMailConfig,
  message: OutgoingMail,
  secrets: SecretStore,
  opts: SmtpSendOptions = {},
): Promise<SmtpSendResult> {
  const mail = validateOutgoingMail(message);
  const from = mail.from ?? parseEmailAddress(config.from, 'mail.from');
  const messageId = `<${randomUUID()}@${from.slice(from.lastIndexOf('@') + 1)}>`;
  const server = `${config.host}:${config.port}`;

  const composed = new MailComposer({
    from,
    to: mail.to,
    cc: mail.cc.length ? mail.cc : undefined,
    subject: mail.subject,
    text: mail.bodyText,
    html: mail.bodyHtml,
    messageId,
    date: (opts.now ?? (() => new Date()))(),
    attachments: mail.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })),
    disableFileAccess: true,
    disableUrlAccess: true,
  }).compile();
  const bytes = await composed.build();
  const envelope = { from, to: [...mail.to, ...mail.cc] };

  const transport = nodemailer.createTransport(smtpTransportOptions(config, secrets, opts));
  let info: SMTPTransport.SentMessageInfo;
  try {
    info = await transport.sendMail({ envelope, raw: bytes });
  } catch (e) {
    throw smtpError(e, server, config);
  } finally {
    transport.close();
  }

  const accepted = (info.accepted ?? []).map(String);
  const rejected = (info.rejected ?? []).map(String);
  const headerEnd = bytes.indexOf('\r\n\r\n');
  const evidence = {
    server,
    secure: config.secure,
    envelope,
    messageId,
    accepted,
    rejected,
    response: info.response,
    message: {
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sizeBytes: bytes.length,
      headers: bytes.subarray(0, headerEnd < 0 ? bytes.length : headerEnd).toString('utf8'),
    },
  };
  return {
    messageId,
    accepted,
    rejected,
    raw: {
      source: SOURCE,
      contentType: 'application/json',
      body: Buffer.from(JSON.stringify(evidence), 'utf8'),
      collectedAt: new Date().toISOString(),
      recordCount: accepted.length,
      note: `SMTP ${server}: ${firstLine(info.response)}`,
    },
  };
}

function firstLine(s: unknown): string {
  return String(s ?? '').split(/\r?\n/)[0].slice(0, 200);
}

/** nodemailer's error codes turned into what a person can do about them. */
function smtpError(e: unknown, server: string, config: SmtpMailConfig): ConnectorError {
  const err = e as { code?: string; responseCode?: number; response?: string; message?: string; rejected?: string[] };
  const said = err.response ? ` (server said: ${firstLine(err.response)})` : '';
  const code = err.responseCode;
  switch (err.code) {
    case 'EAUTH':
      return new ConnectorError(`SMTP server ${server} rejected the credentials: check the secrets ${config.usernameRef} and ${config.passwordRef}${said}`, { source: SOURCE, status: code, cause: e });
    case 'ETLS':
      return new ConnectorError(`SMTP server ${server}: TLS failed (${firstLine(err.message)}); the server must offer TLS with a certificate valid for ${config.host}`, { source: SOURCE, cause: e });
    case 'ECONNECTION':
    case 'ETIMEDOUT':
    case 'ESOCKET':
    case 'EDNS':
      if (/certificate|self[- ]signed|TLS|SSL/i.test(err.message ?? '')) {
        return new ConnectorError(`SMTP server ${server}: TLS failed (${firstLine(err.message)})`, { source: SOURCE, cause: e });
      }
      return new ConnectorError(`SMTP server ${server} could not be reached: ${firstLine(err.message)}`, { source: SOURCE, retryable: true, cause: e });
    case 'EENVELOPE':
      return new ConnectorError(`SMTP server ${server} refused the recipients ${(err.rejected ?? []).join(', ') || ''}${said}`.replace(/ +\(/, ' ('), {
        source: SOURCE, status: code, retryable: code !== undefined && code >= 400 && code < 500, cause: e,
      });
    default:
      return new ConnectorError(`SMTP server ${server} did not accept the message: ${firstLine(err.message)}${said}`, {
        source: SOURCE, status: code, retryable: code !== undefined && code >= 400 && code < 500, cause: e,
      });
  }
}
