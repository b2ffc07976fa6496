import type { SecretRef, SecretStore } from '../../config/secrets';
import { customerSchema } from '../../config/customers';
import { GraphSession, type GraphSessionOptions } from './graph-session';

/** The MSP's own Graph app (the tenant its SOC engineers sign in to), as main.ts configures it. */
export interface MspGraphSettings {
  tenantId: string;
  clientId: string;
  /** secret reference of the client secret */
  credential: SecretRef;
  authorityHost?: string;
  baseUrl?: string;
  /** secret reference of a CA to trust for authorityHost/baseUrl only (sandbox) */
  caCertificateRef?: SecretRef;
}

/**
 * A Graph session in the MSP's own tenant. The MSP is modelled as a customer record so the same
 * tenant-scoped session code (token cache, pinned origin, retries) serves it.
 */
export function mspGraphSession(msp: MspGraphSettings, secrets: SecretStore, name: string, options?: GraphSessionOptions): GraphSession {
  const asCustomer = customerSchema.parse({
    id: 'msp', name, tenantId: msp.tenantId, domains: ['msp.example'],
    graph: { clientId: msp.clientId, credential: { type: 'secret', secretRef: msp.credential }, authorityHost: msp.authorityHost, baseUrl: msp.baseUrl, caCertificateRef: msp.caCertificateRef },
    contacts: { ciso: { name: 'MSP', email: 'soc@msp.example' }, onCall: { name: 'MSP', email: 'soc@msp.example' } },
    approvers: { objectIds: ['00000000-0000-4000-8000-000000000000'] },
  });
  return new GraphSession(asCustomer, secrets, options);
}
