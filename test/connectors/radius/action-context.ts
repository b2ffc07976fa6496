import { randomUUID } from 'node:crypto';
import { customerSchema, type CustomerConfig, type RadiusConfig } from '../../../src/config/customers';
import type { SecretStore } from '../../../src/config/secrets';
import type { ActionContext } from '../../../src/connectors/types';
import { log } from '../../../src/log';
import { CONTOSO } from '../../../src/sandbox/contoso';

/** A Contoso customer with the given RADIUS section, validated by the real schema. */
export function contosoWithRadius(radius: unknown): CustomerConfig {
  return customerSchema.parse({
    id: CONTOSO.customerId,
    name: CONTOSO.name,
    tenantId: CONTOSO.tenantId,
    domains: [CONTOSO.domain],
    graph: { clientId: CONTOSO.graphClientId, credential: { type: 'secret', secretRef: 'env:GRAPH_SECRET' } },
    contacts: CONTOSO.contacts,
    approvers: { objectIds: ['00000000-0000-4000-8000-000000000020'] },
    radius,
  });
}

export function actionContext(customer: CustomerConfig, secrets: SecretStore, over: Partial<ActionContext> = {}): ActionContext {
  return {
    customer, secrets, incidentId: 'IR-TEST-0001', idempotencyKey: randomUUID(), mayHaveRun: false,
    log, now: () => new Date(), ...over,
  };
}

export type { RadiusConfig };
