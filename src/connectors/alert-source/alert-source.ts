import type { CustomerConfig } from '../../config/customers';
import type { SecretStore } from '../../config/secrets';
import type { RawPayload } from '../types';
import type { GraphTenants } from '../graph/graph-tenants';

/**
 * Where a customer's alerts come from, and what the bot writes back to them: a comment (the ticket
 * number) and the resolution when the incident is closed. Defender XDR today.
 */
export interface AlertSource {
  readonly kind: string;
  get(alertId: string): Promise<{ alert: Record<string, unknown>; raw: RawPayload[] }>;
  comment(alertId: string, text: string): Promise<{ raw: RawPayload[] }>;
  resolve(alertId: string): Promise<{ raw: RawPayload[] }>;
}

export interface AlertSourceDeps {
  secrets: SecretStore;
  signal?: AbortSignal;
  now?: () => Date;
  /** the process's per-customer Graph cache */
  graphTenants?: GraphTenants;
}

export type AlertSourceFactory = (customer: CustomerConfig, deps: AlertSourceDeps) => AlertSource;
