import type { Mailer, MailerDeps } from '../mail/mailer';
import type { OutgoingMail } from '../mail/message';
import { ConnectorError } from '../types';
import { sendMailViaGraph } from './send-mail';

/** Graph sendMail from the MSP's own mailbox (MSP_*). */
export class GraphMailer implements Mailer {
  readonly via = 'graph';
  constructor(private readonly deps: MailerDeps) {}

  describe(): string {
    return `Graph, from ${this.deps.msp?.mailbox ?? '(MSP mailbox not configured)'}`;
  }

  problems(): string[] {
    return this.deps.msp ? [] : ['The MSP mailbox (MSP_*) is not configured: sending will fail'];
  }

  async send(message: OutgoingMail) {
    const msp = this.deps.msp;
    if (!msp) throw new ConnectorError('the MSP mailbox is not configured (MSP_TENANT_ID, MSP_GRAPH_CLIENT_ID, MSP_GRAPH_CLIENT_SECRET, MSP_MAILBOX)', { source: 'graph.sendMail' });
    const raw = await sendMailViaGraph({
      tenantId: msp.tenantId, clientId: msp.clientId, credential: msp.credentialRef as never, authorityHost: msp.authorityHost,
      baseUrl: msp.baseUrl, caCertificateRef: msp.caCertificateRef as never, mailbox: msp.mailbox,
      message: { subject: message.subject, bodyText: message.bodyText, to: message.to, cc: message.cc },
    }, this.deps.mspSecrets ?? this.deps.secrets);
    return { raw };
  }
}
