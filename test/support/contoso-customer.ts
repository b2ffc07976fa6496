import { customerSchema, type CustomerConfig } from '../../src/config/customers';
import { CONTOSO } from '../../src/sandbox/contoso';

/**
 * The sandbox's Contoso as a validated customer record, with Graph behind an env: reference and
 * Alex Wilber as approver; `extra` adds the section a connector test needs (servicenow, AD, …).
 */
export function contosoCustomer(extra: Record<string, unknown> = {}): CustomerConfig {
  return customerSchema.parse({
    id: CONTOSO.customerId,
    name: CONTOSO.name,
    tenantId: CONTOSO.tenantId,
    domains: [CONTOSO.domain],
    graph: { clientId: CONTOSO.graphClientId, credential: { type: 'secret', secretRef: 'env:CONTOSO_GRAPH_SECRET' } },
    contacts: CONTOSO.contacts,
    approvers: { objectIds: ['00000000-0000-4000-8000-000000000020'] },
    ...extra,
  });
}
