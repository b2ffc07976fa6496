import type { CustomerConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import type { RawPayload } from '../types';
import type { OutgoingMail } from './message';

/** The MSP's own mailbox (env MSP_*), used when a customer's mail goes via Graph. */
export interface MspMailbox {
  tenantId: string;
  clientId: string;
  /** secret reference of the client secret, e.g. env:MSP_GRAPH_CLIENT_SECRET */
  credentialRef: string;
  mailbox: string;
  authorityHost?: string;
  baseUrl?: string;
  caCertificateRef?: string;
}

/**
 * How a customer's email leaves. `send` validates the message (nothing goes out if any part is
 * refused) and returns what was sent as evidence. Mail has no idempotency on the far side: the
 * caller remembers the attempt.
 */
export interface Mailer {
  readonly via: string;
  /** for the approval card: "SMTP relay.contoso.com", "Graph, from soc@msp.example" */
  describe(): string;
  /** why sending would fail before trying (a missing mailbox), for the approval card */
  problems(): string[];
  send(message: OutgoingMail, opts: { now: () => Date }): Promise<{ raw: RawPayload[]; messageId?: string }>;
}

export interface MailerDeps {
  secrets: SecretStore;
  /** the MSP mailbox and its secrets (Graph sendMail) */
  msp?: MspMailbox;
  mspSecrets?: SecretStore;
}

export type MailerFactory = (customer: CustomerConfig, deps: MailerDeps) => Mailer;
