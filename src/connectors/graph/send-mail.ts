import type { SecretStore } from '../../config/secrets';
import type { RawPayload } from '../types';
import { segment } from './graph-session';
import { mspGraphSession, type MspGraphSettings } from './msp-graph';

/**
 * Sends mail from the MSP's own mailbox with the MSP's app registration (Mail.Send), not a
 * customer's. Returns the request (attachments summarised) and Graph's 202 as evidence.
 */
export interface SendMailOptions extends MspGraphSettings {
  mailbox: string;
  message: {
    subject: string;
    bodyText: string;
    to: string[];
    cc?: string[];
    attachments?: Array<{ name: string; contentType: string; bytes: Buffer }>;
  };
}

export async function sendMailViaGraph(opts: SendMailOptions, secrets: SecretStore): Promise<RawPayload[]> {
  const s = mspGraphSession(opts, secrets, 'MSP mailbox');
  const m = opts.message;
  const recipients = (list: string[] = []) => list.map((address) => ({ emailAddress: { address } }));
  const attachments = (m.attachments ?? []).map((a) => ({
    '@odata.type': '#microsoft.graph.fileAttachment', name: a.name, contentType: a.contentType, contentBytes: a.bytes.toString('base64'),
  }));
  const body = {
    message: {
      subject: m.subject, body: { contentType: 'Text', content: m.bodyText },
      toRecipients: recipients(m.to), ccRecipients: recipients(m.cc), attachments,
    },
    saveToSentItems: false,
  };
  const forEvidence = {
    ...body,
    message: { ...body.message, attachments: attachments.map((a, i) => ({ ...a, contentBytes: `[${m.attachments?.[i].bytes.length ?? 0} bytes, kept as separate evidence]` })) },
  };
  const r = await s.call('POST', `/v1.0/users/${segment(opts.mailbox)}/sendMail`, {
    source: 'graph.sendMail', body, bodyForEvidence: forEvidence,
    op: { does: `send mail from ${opts.mailbox}`, permissions: ['Mail.Send'], object: `mailbox ${opts.mailbox}` },
  });
  return r.raw;
}
