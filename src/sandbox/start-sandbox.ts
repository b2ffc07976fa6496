import { mkdirSync } from 'node:fs';
import type { CustomersFile } from '../config/customers';
import type { Logger } from '../log';
import { startGraphEmulator, type GraphEmulator } from './graph/emulator';
import { startServiceNowEmulator, type ServiceNowEmulator } from './servicenow/emulator';
import { startFortiOsEmulator, contosoFortiGateState, type FortiOsEmulator } from './fortios/fortios-emulator';
import { startIosSwitchEmulator, contosoAccessSwitchState, type IosSwitchEmulator } from './switch/switch-emulator';
import { startSandboxSamba, SambaUnavailableError, type SandboxSamba } from './samba';
import { linkOnPremisesAccount, type EmulatorState } from './graph/state';
import { CONTOSO_AD } from './samba/contoso-directory';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSandboxRadius, FreeRadiusUnavailableError, type SandboxRadius } from './radius/start-sandbox-radius';
import { CONTOSO, MSP } from './contoso';
import { sandboxCustomers, SANDBOX_SECRETS, type SandboxEndpoints } from './sandbox-customers';
import { writeSandboxCustomersFile } from './sandbox-customers-file';

/** Fixed sandbox ports, so the URLs in the README and the Playground stay the same run to run. */
export const SANDBOX_PORTS: { graph: number; serviceNow: number; fortigate: number; accessSwitch: number; nas: number } = {
  graph: 3981, serviceNow: 3982, fortigate: CONTOSO.fortigate.port, accessSwitch: CONTOSO.accessSwitch.port, nas: CONTOSO.nas.coaPort,
};

export interface Sandbox {
  customers: CustomersFile;
  graph: GraphEmulator;
  serviceNow: ServiceNowEmulator;
  fortigate: FortiOsEmulator;
  /** Contoso's Lisbon access switch (Cisco IOS CLI over SSH) */
  accessSwitch: IosSwitchEmulator;
  radius?: SandboxRadius;
  /** Contoso's on-premises DC (Samba), when installed */
  samba?: SandboxSamba;
  warnings: string[];
  /** secrets and settings the sandbox customers file and MSP mailbox refer to (env:NAME) */
  env: Record<string, string>;
  /** Defender raises an alert in the emulated tenant (so the bot can read and comment it later). */
  raiseAlert(alert: Record<string, unknown>): { ok: true } | { ok: false; reason: string };
  close(): Promise<void>;
}

/**
 * Brings up the emulated customer: Contoso's Graph tenant, ServiceNow instance, FortiGate, access switch and
 * (when Debian's freeradius is installed) a real FreeRADIUS as its NAS. Secrets are sandbox values
 * put into this process's environment, so the customers file holds only references, as in
 * production.
 */
export async function startSandbox(opts: {
  dataDir: string; log: Logger; ports?: Partial<typeof SANDBOX_PORTS>; samba?: boolean;
  /**
   * How Contoso's on-premises domain is reached: 'ldap' (the Samba DC, the default) or 'mdi'
   * (Defender for Identity in the Graph emulator: its identityAccounts/invokeAction, no DC needed).
   */
  adDriver?: 'ldap' | 'mdi';
}): Promise<Sandbox> {
  const ports = { ...SANDBOX_PORTS, ...opts.ports };
  const warnings: string[] = [];
  mkdirSync(opts.dataDir, { recursive: true });
  // The sandbox's secrets and MSP mailbox settings, for this app only (never the process-wide
  // environment: two sandboxes in one process, as in the tests, must not see each other's values).
  const env: Record<string, string> = { ...SANDBOX_SECRETS };

  const graph = await startGraphEmulator({ port: ports.graph, host: '127.0.0.1' });
  env.SANDBOX_GRAPH_CA_PEM = graph.caPem;
  // The MSP's own mailbox (CISO emails) lives in the same emulator, in the MSP tenant.
  Object.assign(env, {
    MSP_TENANT_ID: MSP.tenantId,
    MSP_GRAPH_CLIENT_ID: MSP.clientId,
    MSP_GRAPH_CLIENT_SECRET: MSP.clientSecret,
    MSP_MAILBOX: MSP.mailbox,
    MSP_GRAPH_AUTHORITY_HOST: graph.authorityHost,
    MSP_GRAPH_BASE_URL: graph.url,
  });
  const serviceNow = await startServiceNowEmulator({
    port: ports.serviceNow,
    users: [{ username: CONTOSO.servicenow.username, password: CONTOSO.servicenow.password, roles: ['sn_si.basic', 'sn_si.write'] }],
  });
  const fortigate = await startFortiOsEmulator({
    port: ports.fortigate,
    hostname: 'FGT-CONTOSO-01',
    users: [{ username: CONTOSO.fortigate.username, password: CONTOSO.fortigate.password }],
    state: contosoFortiGateState(),
  });
  const accessSwitch = await startIosSwitchEmulator({
    port: ports.accessSwitch,
    users: [{ username: CONTOSO.accessSwitch.username, password: CONTOSO.accessSwitch.password }],
    state: contosoAccessSwitchState(),
  });

  let radius: SandboxRadius | undefined;
  const endpoints: SandboxEndpoints = {
    graphUrl: graph.url,
    authorityHost: graph.authorityHost,
    serviceNowUrl: serviceNow.url,
    fortigate: { port: fortigate.port, hostKeySha256: fortigate.hostKeySha256 },
    accessSwitch: { port: accessSwitch.port, hostKeySha256: accessSwitch.hostKeySha256 },
  };
  try {
    radius = await startSandboxRadius({ nasPort: ports.nas, accounting: true });
    endpoints.nas = { coaPort: radius.nasPort };
    if (radius.accountingDir) endpoints.accounting = { kind: 'detail-local', directory: radius.accountingDir };
  } catch (e) {
    warnings.push(e instanceof FreeRadiusUnavailableError
      ? 'freeradius is not installed (apt-get install freeradius freeradius-utils): Contoso has no NAS in this sandbox, so its RADIUS steps are skipped'
      : `the sandbox NAS did not start (${(e as Error).message.split('\n')[0]}): Contoso has no NAS in this sandbox`);
  }

  let samba: SandboxSamba | undefined;
  // With the mdi driver the domain is Defender for Identity's (in the Graph emulator): no DC to start.
  if (opts.samba !== false && opts.adDriver !== 'mdi') {
    try {
      samba = await startSandboxSamba({ dataDir: opts.dataDir });
      endpoints.activeDirectory = samba.activeDirectory;
      Object.assign(env, samba.env);
      syncAdmAvanceToEntra(graph.state, samba.admAvance);
      // not a secret: `npm run alert -- mdi` reads it to name the account as Defender for Identity would
      writeFileSync(join(opts.dataDir, 'samba', 'adm-avance.json'), JSON.stringify({ sid: samba.admAvance.sid, dn: samba.admAvance.dn }));
    } catch (e) {
      warnings.push(e instanceof SambaUnavailableError
        ? 'samba is not installed (apt-get install samba samba-dsdb-modules samba-vfs-modules samba-ad-provision ldb-tools): Contoso has no on-premises domain controller in this sandbox, so its Active Directory steps are skipped'
        : `the sandbox Samba DC did not start (${(e as Error).message.split('\n')[0]}): Contoso has no on-premises domain controller in this sandbox`);
    }
  }

  if (opts.adDriver === 'mdi') {
    // Contoso's domain through Defender for Identity: the same domains, no DC, no service account.
    endpoints.activeDirectory = { domains: [{ netbios: CONTOSO_AD.netbios, dns: CONTOSO_AD.dns, upnSuffixes: [...CONTOSO_AD.upnSuffixes] }], driver: 'mdi' };
    // `npm run alert -- mdi` names the account by the SID Defender for Identity knows it by.
    const contosoTenant = graph.state.tenants.get(CONTOSO.tenantId.toLowerCase())!;
    const sid = [...(contosoTenant.identityAccounts?.values() ?? [])][0]?.onPremisesSecurityIdentifier ?? CONTOSO.admAvance.exampleSid;
    mkdirSync(join(opts.dataDir, 'samba'), { recursive: true });
    writeFileSync(join(opts.dataDir, 'samba', 'adm-avance.json'), JSON.stringify({ sid, dn: CONTOSO.admAvance.distinguishedName }));
  }

  const customers = sandboxCustomers(endpoints);
  writeSandboxCustomersFile(opts.dataDir, customers);
  for (const w of warnings) opts.log.warn(w);

  const raiseAlert = (alert: Record<string, unknown>): { ok: true } | { ok: false; reason: string } => {
    const tenant = typeof alert.tenantId === 'string' ? graph.state.tenants.get(alert.tenantId.toLowerCase()) : undefined;
    if (!tenant) return { ok: false, reason: 'tenantId is not a tenant of the sandbox' };
    if (typeof alert.id !== 'string' || !/^[A-Za-z0-9_\-:.$]{1,200}$/.test(alert.id)) return { ok: false, reason: 'id must be an alert id' };
    tenant.alerts.set(alert.id, { ...alert, comments: Array.isArray(alert.comments) ? alert.comments : [] });
    return { ok: true };
  };
  return {
    customers, graph, serviceNow, fortigate, accessSwitch, radius, samba, warnings, raiseAlert, env,
    close: async () => {
      await Promise.allSettled([graph.close(), serviceNow.close(), fortigate.close(), accessSwitch.close(), radius?.close(), samba?.close()]);
    },
  };
}

/** Entra's copy of adm-avance carries the SID Samba generated at provisioning (synced 17 minutes ago). */
export function syncAdmAvanceToEntra(state: EmulatorState, admAvance: { sid: string; dn: string }): void {
  const contosoTenant = state.tenants.get(CONTOSO.tenantId.toLowerCase())!;
  linkOnPremisesAccount(contosoTenant, CONTOSO.admAvance.upn, {
    syncEnabled: true, securityIdentifier: admAvance.sid, samAccountName: CONTOSO.admAvance.samAccountName,
    domainName: 'contoso.local', distinguishedName: admAvance.dn, lastSyncDateTime: new Date(Date.now() - 17 * 60_000).toISOString(),
  });
}
