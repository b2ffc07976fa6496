import { CONTOSO, FABRIKAM } from '../../src/sandbox/contoso';
import { customerSchema, type CustomerConfig } from '../../src/config/customers';
import { EnvFileSecretStore, type SecretStore } from '../../src/config/secrets';
import type { GraphEmulator } from '../../src/sandbox/graph/emulator';
import type { ActionContext } from '../../src/connectors/types';
import { log } from '../../src/log';

/** Customer configs and secrets pointing at a running Graph emulator (for the Graph tests and the bench). */
export function graphSandboxCustomers(emu: GraphEmulator, overrides: { contoso?: Partial<CustomerConfig['graph']>; fabrikam?: Partial<CustomerConfig['graph']> } = {}): {
  contoso: CustomerConfig; fabrikam: CustomerConfig; secrets: SecretStore;
} {
  const secrets = new EnvFileSecretStore({
    CONTOSO_GRAPH_SECRET: CONTOSO.graphClientSecret,
    FABRIKAM_GRAPH_SECRET: FABRIKAM.graphClientSecret,
    GRAPH_SANDBOX_CA: emu.caPem,
  });
  const base = (c: typeof CONTOSO | typeof FABRIKAM, secretRef: string, o: Partial<CustomerConfig['graph']> = {}) => customerSchema.parse({
    id: c.customerId, name: c.name, tenantId: c.tenantId, domains: [c.domain],
    graph: {
      clientId: c.graphClientId, credential: { type: 'secret', secretRef }, authorityHost: emu.authorityHost, baseUrl: emu.url,
      caCertificateRef: 'env:GRAPH_SANDBOX_CA', hasP2: c === CONTOSO, timeoutMs: 5000, ...o,
    },
    contacts: { ciso: { name: 'CISO', email: `ciso@${c.domain}` }, onCall: { name: 'On call', email: `oncall@${c.domain}` } },
    approvers: { objectIds: ['00000000-0000-4000-8000-000000000020'] },
  });
  return {
    contoso: base(CONTOSO, 'env:CONTOSO_GRAPH_SECRET', overrides.contoso),
    fabrikam: base(FABRIKAM, 'env:FABRIKAM_GRAPH_SECRET', overrides.fabrikam),
    secrets,
  };
}

export function graphActionContext(customer: CustomerConfig, secrets: SecretStore, extra: Partial<ActionContext> = {}): ActionContext {
  return {
    customer, secrets, incidentId: 'IR-TEST-0001', idempotencyKey: 'IR-TEST-0001:contain', mayHaveRun: false,
    log, now: () => new Date(), ...extra,
  };
}
