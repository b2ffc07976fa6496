import type { SecretRef, SecretStore } from '../../config/secrets';
import { customerSchema } from '../../config/customers';
import type { RawPayload } from '../types';
import { GraphSession, segment } from './graph-session';

/**
 * Sends mail from the MSP's own mailbox with the MSP's app registration (Mail.Send), not a
 * customer's. Returns the request (attachments summarised) and Graph's 202 as evidence.
 */
export interface SendMailOptions {
  tenantId: string;
  clientId: string;
  /** secret reference of the client secret */
  credential: SecretRef;
  authorityHost?: string;
  baseUrl?: string;
  /** secret reference of a CA to trust for authorityHost/baseUrl only (sandbox) */
  caCertificateRef?: SecretRef;
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
  // The MSP is modelled as a customer record so the same tenant-scoped session code is used.
  const msp = customerSchema.parse({
    id: 'msp', name: 'MSP mailbox', tenantId: opts.tenantId, domains: [opts.mailbox.split('@')[1] ?? 'msp.example'],
    graph: { clientId: opts.clientId, credential: { type: 'secret', secretRef: opts.credential }, authorityHost: opts.authorityHost, baseUrl: opts.baseUrl, caCertificateRef: opts.caCertificateRef },
    contacts: { ciso: { name: 'n/a', email: opts.mailbox }, onCall: { name: 'n/a', email: opts.mailbox } },
    approvers: { objectIds: ['00000000-0000-4000-8000-000000000000'] },
  });
  const s = new GraphSession(msp, secrets);
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
