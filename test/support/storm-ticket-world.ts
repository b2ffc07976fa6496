import { startGraphEmulator, type GraphEmulator } from '../../src/sandbox/graph/emulator';
import { startServiceNowEmulator, type ServiceNowEmulator } from '../../src/sandbox/servicenow/emulator';
import { contosoFortiGateState, startFortiOsEmulator, type FortiOsEmulator } from '../../src/sandbox/fortios/fortios-emulator';
import { CONTOSO, MSP } from '../../src/sandbox/contoso';
import { customerSchema, type CustomerConfig } from '../../src/config/customers';
import { EnvFileSecretStore } from '../../src/config/secrets';
import { graphActions } from '../../src/connectors/graph/actions';
import { radiusActions } from '../../src/connectors/radius/actions';
import { createFirewallActions } from '../../src/connectors/firewall/actions';
import { switchActions } from '../../src/connectors/switch';
import { threatFeedActions } from '../../src/connectors/threat-feed';
import { alertSourceActions } from '../../src/connectors/alert-source/actions';
import { serviceNowActions } from '../../src/connectors/servicenow/actions';
import { activeDirectoryActions } from '../../src/connectors/active-directory/actions';
import { createIdentityActions } from '../../src/connectors/identity/actions';
import { createEvidenceActions } from '../../src/evidence/actions';
import { ActionRegistry } from '../../src/engine/action-registry';
import type { Store } from '../../src/store/store';
import { graphSandboxCustomers } from './graph-sandbox';

/**
 * What the storm ticket tests (storm-ticket-email, storm-ticket-rounds) run against: the Graph,
 * ServiceNow and FortiOS emulators, Contoso with storms at 2 accounts, ServiceNow and a FortiGate,
 * and the full action registry with the evidence actions on `store`.
 */
export interface StormTicketWorld {
  emu: GraphEmulator;
  snow: ServiceNowEmulator;
  fgt: FortiOsEmulator;
  customer: CustomerConfig;
  registry: ActionRegistry;
  secrets: EnvFileSecretStore;
  close(): Promise<void>;
}

export async function startStormTicketWorld(store: Store): Promise<StormTicketWorld> {
  const emu = await startGraphEmulator();
  const snow = await startServiceNowEmulator({ port: 0 });
  const fgt = await startFortiOsEmulator({ port: 0, hostname: 'FGT-CONTOSO-01', users: [{ username: CONTOSO.fortigate.username, password: CONTOSO.fortigate.password }], state: contosoFortiGateState() });
  const g = graphSandboxCustomers(emu);
  const secrets = new EnvFileSecretStore({
    CONTOSO_GRAPH_SECRET: CONTOSO.graphClientSecret, GRAPH_SANDBOX_CA: emu.caPem, MSP_SECRET: MSP.clientSecret,
    SNOW_USER: CONTOSO.servicenow.username, SNOW_PASSWORD: CONTOSO.servicenow.password, FGT_PASSWORD: CONTOSO.fortigate.password,
  });
  const customer = customerSchema.parse({
    ...g.contoso,
    contacts: CONTOSO.contacts,
    storm: { enabled: true, minUsers: 2, windowMinutes: 10 },
    servicenow: { instanceUrl: snow.url, usernameRef: 'env:SNOW_USER', passwordRef: 'env:SNOW_PASSWORD' },
    firewalls: [{
      id: CONTOSO.fortigate.id, kind: 'fortigate', blockGroup: CONTOSO.fortigate.blockGroup,
      ssh: { host: '127.0.0.1', port: fgt.port, username: CONTOSO.fortigate.username, passwordRef: 'env:FGT_PASSWORD', hostKeySha256: fgt.hostKeySha256, timeoutMs: 5000 },
    }],
  });
  const registry = new ActionRegistry(
    graphActions, radiusActions, createFirewallActions(), switchActions, threatFeedActions, alertSourceActions, serviceNowActions, activeDirectoryActions,
    createIdentityActions({ adActions: activeDirectoryActions, graph: graphActions }),
    createEvidenceActions({
      store, customers: (id) => (id === customer.id ? customer : undefined),
      msp: { tenantId: MSP.tenantId, clientId: MSP.clientId, credentialRef: 'env:MSP_SECRET', mailbox: MSP.mailbox, authorityHost: emu.authorityHost, baseUrl: emu.url, caCertificateRef: 'env:GRAPH_SANDBOX_CA' },
      mspOnCall: { name: 'MSP on-call', email: 'oncall@msp.example' },
      serviceNow: { maxRetries: 0 },
    }),
  );
  return {
    emu, snow, fgt, customer, registry, secrets,
    close: async () => {
      await emu.close();
      await snow.close();
      await fgt.close();
    },
  };
}
