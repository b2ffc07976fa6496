import { contosoCustomer } from '../../support/contoso-customer';
import pino from 'pino';
import { type CustomerConfig } from '../../../src/config/customers';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import type { ActionContext } from '../../../src/connectors/types';
import { CONTOSO } from '../../../src/sandbox/contoso';

/** The Contoso customer pointed at a ServiceNow emulator, with its credentials behind env: references. */
export function contosoWithServiceNow(instanceUrl: string, servicenow: Record<string, unknown> = {}): CustomerConfig {
  return contosoCustomer({
    servicenow: {
      instanceUrl,
      usernameRef: 'env:SNOW_USER',
      passwordRef: 'env:SNOW_PASSWORD',
      severityHigh: '1',
      requestedByEmail: CONTOSO.contacts.ciso.email,
      callerEmail: CONTOSO.contacts.ciso.email,
      ...servicenow,
    },
  });
}

export function serviceNowContext(
  customer: CustomerConfig,
  opts: { incidentId?: string; username?: string; password?: string; signal?: AbortSignal } = {},
): ActionContext {
  const secrets = new EnvFileSecretStore({
    SNOW_USER: opts.username ?? CONTOSO.servicenow.username,
    SNOW_PASSWORD: opts.password ?? CONTOSO.servicenow.password,
  });
  return {
    customer,
    secrets,
    incidentId: opts.incidentId ?? 'IR-20261127-7K3Q',
    idempotencyKey: `${opts.incidentId ?? 'IR-20261127-7K3Q'}:servicenow.openIncident`,
    mayHaveRun: false,
    log: pino({ level: 'silent' }),
    now: () => new Date(),
    signal: opts.signal,
  };
}
