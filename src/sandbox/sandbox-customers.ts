import { parseCustomers, type CustomersFile } from '../config/customers';
import { CONTOSO, FABRIKAM, MSP, PLAYGROUND_USERS } from './contoso';
import { SANDBOX_TOKEN } from '../config/env';

/** The live addresses of the sandbox's emulators, known only once they have started. */
export interface SandboxEndpoints {
  graphUrl: string;
  authorityHost: string;
  serviceNowUrl: string;
  fortigate?: { port: number; hostKeySha256: string };
  accessSwitch?: { port: number; hostKeySha256: string };
  nas?: { coaPort: number };
  accounting?: { kind: 'detail-local'; directory: string };
  /** Contoso's activeDirectory section, when the sandbox's Samba DC runs */
  activeDirectory?: Record<string, unknown>;
}

/** Environment variables the sandbox customers file refers to (secret references resolve to these). */
export const SANDBOX_SECRETS: Record<string, string> = {
  CONTOSO_GRAPH_SECRET: CONTOSO.graphClientSecret,
  FABRIKAM_GRAPH_SECRET: FABRIKAM.graphClientSecret,
  CONTOSO_FGT_PASSWORD: CONTOSO.fortigate.password,
  CONTOSO_SWITCH_PASSWORD: CONTOSO.accessSwitch.password,
  CONTOSO_NAS_SECRET: CONTOSO.nas.secret,
  CONTOSO_SNOW_USER: CONTOSO.servicenow.username,
  CONTOSO_SNOW_PASSWORD: CONTOSO.servicenow.password,
  CONTOSO_FEED_USER: CONTOSO.feed.username,
  CONTOSO_FEED_PASSWORD: CONTOSO.feed.password,
  // Each customer posts alerts with its own token; in the sandbox both are "sandbox-token" (as the
  // README's examples use) unless these variables are set.
  CONTOSO_WEBHOOK_TOKEN: SANDBOX_TOKEN,
  FABRIKAM_WEBHOOK_TOKEN: SANDBOX_TOKEN,
};

/** The sandbox secrets an operator may set in the environment instead (the rest are the emulators'). */
export const SANDBOX_WEBHOOK_TOKEN_VARS = ['CONTOSO_WEBHOOK_TOKEN', 'FABRIKAM_WEBHOOK_TOKEN'] as const;

/**
 * The customers file of the sandbox: Contoso with every system, Fabrikam with Graph only (so the
 * sandbox always shows that nothing crosses tenants). Built in code because the emulators' ports
 * and host keys are only known at start; `npm start` also writes it to data/ for reading.
 */
export function sandboxCustomers(e: SandboxEndpoints): CustomersFile {
  const graph = (c: typeof CONTOSO | typeof FABRIKAM, secretEnv: string) => ({
    clientId: c.graphClientId,
    credential: { type: 'secret', secretRef: `env:${secretEnv}` },
    authorityHost: e.authorityHost,
    baseUrl: e.graphUrl,
    caCertificateRef: 'env:SANDBOX_GRAPH_CA_PEM',
    auditQueryPath: '/beta/security/auditLog/queries',
    hasP2: c.customerId === 'contoso',
  });
  const contoso: Record<string, unknown> = {
    id: CONTOSO.customerId,
    name: CONTOSO.name,
    tenantId: CONTOSO.tenantId,
    domains: [CONTOSO.domain],
    graph: graph(CONTOSO, 'CONTOSO_GRAPH_SECRET'),
    egressRanges: [CONTOSO.egressRange],
    firewalls: e.fortigate ? [{
      id: CONTOSO.fortigate.id,
      kind: 'fortigate',
      ssh: { host: CONTOSO.fortigate.host, port: e.fortigate.port, username: CONTOSO.fortigate.username, passwordRef: 'env:CONTOSO_FGT_PASSWORD', hostKeySha256: e.fortigate.hostKeySha256 },
      blockGroup: CONTOSO.fortigate.blockGroup,
      // the attacker comes in on wan1 towards the published portal (policy 5 in the story)
      policyLookup: { sourceInterface: 'wan1', destination: '198.51.100.1', port: 443, protocol: 'tcp' },
    }] : [],
    // the switch reports the NAS's address in accounting: a session's NAS-IP-Address finds it
    switches: e.accessSwitch ? [{
      id: CONTOSO.accessSwitch.id,
      kind: 'cisco-ios',
      ssh: { host: CONTOSO.accessSwitch.host, port: e.accessSwitch.port, username: CONTOSO.accessSwitch.username, passwordRef: 'env:CONTOSO_SWITCH_PASSWORD', hostKeySha256: e.accessSwitch.hostKeySha256 },
      nasIp: CONTOSO.nas.ip,
      allowPortShutdown: false,
    }] : [],
    servicenow: {
      instanceUrl: e.serviceNowUrl,
      usernameRef: 'env:CONTOSO_SNOW_USER',
      passwordRef: 'env:CONTOSO_SNOW_PASSWORD',
      requestedByEmail: CONTOSO.contacts.ciso.email,
      callerEmail: CONTOSO.contacts.ciso.email,
    },
    contacts: CONTOSO.contacts,
    // Megan Bowen reads Contoso through the MSP's SOC analysts group (resolved in the Graph emulator).
    readers: { groupIds: [MSP.socAnalystsGroupId] },
    approvers: { objectIds: [PLAYGROUND_USERS.alex.aadObjectId] },
    mail: { via: 'graph' },
    threatFeed: { usernameRef: 'env:CONTOSO_FEED_USER', passwordRef: 'env:CONTOSO_FEED_PASSWORD', ttlDays: 7 },
    intake: { webhookTokenRef: 'env:CONTOSO_WEBHOOK_TOKEN' },
  };
  if (e.activeDirectory) (contoso as Record<string, unknown>).activeDirectory = e.activeDirectory;
  if (e.nas && e.accounting) {
    contoso.radius = {
      accounting: { kind: 'detail-local', directory: e.accounting.directory },
      disconnect: { mode: 'direct', timeoutMs: 2000, retries: 2 },
      nas: [{ id: CONTOSO.nas.id, ip: CONTOSO.nas.ip, coaPort: e.nas.coaPort, secretRef: 'env:CONTOSO_NAS_SECRET' }],
    };
  }
  const fabrikam = {
    id: FABRIKAM.customerId,
    name: FABRIKAM.name,
    tenantId: FABRIKAM.tenantId,
    domains: [FABRIKAM.domain],
    graph: graph(FABRIKAM, 'FABRIKAM_GRAPH_SECRET'),
    contacts: { ciso: { name: 'Fabrikam CISO', email: 'ciso@fabrikam.com' }, onCall: { name: 'Fabrikam on-call', email: 'oncall@fabrikam.com' } },
    approvers: { objectIds: [PLAYGROUND_USERS.alex.aadObjectId] },
    intake: { webhookTokenRef: 'env:FABRIKAM_WEBHOOK_TOKEN' },
  };
  return parseCustomers({ customers: [contoso, fabrikam] }, 'sandbox customers');
}
