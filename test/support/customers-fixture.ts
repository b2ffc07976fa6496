import { parseCustomers, type CustomersFile } from '../../src/config/customers';
import { CONTOSO, FABRIKAM } from '../../src/sandbox/contoso';

/** A valid two-customer file (Contoso, Fabrikam) for tests that need customers but no emulators. */
export function twoCustomers(overrides: { contoso?: Record<string, unknown>; fabrikam?: Record<string, unknown> } = {}): CustomersFile {
  const base = (c: typeof CONTOSO | typeof FABRIKAM, extra: Record<string, unknown> = {}) => ({
    id: c.customerId,
    name: c.name,
    tenantId: c.tenantId,
    domains: [c.domain],
    graph: { clientId: c.graphClientId, credential: { type: 'secret', secretRef: `env:${c.customerId.toUpperCase()}_GRAPH_SECRET` } },
    contacts: { ciso: { name: 'CISO', email: `ciso@${c.domain}` }, onCall: { name: 'On call', email: `oncall@${c.domain}` } },
    approvers: { objectIds: ['00000000-0000-4000-8000-000000000020'] },
    ...extra,
  });
  return parseCustomers({ customers: [base(CONTOSO, { egressRanges: [CONTOSO.egressRange], ...overrides.contoso }), base(FABRIKAM, overrides.fabrikam)] });
}
