import { join } from 'node:path';
import { CONTOSO_AD } from './contoso-directory';
import { ensureSambaTemplate, pickLoopbackAddress, SambaUnavailableError, startSambaDc, type SambaDc } from './samba-dc';

export { SambaUnavailableError };

export interface SandboxSamba {
  dc: SambaDc;
  /** Contoso's `activeDirectory` section for the sandbox customers file */
  activeDirectory: Record<string, unknown>;
  /** adm-avance as provisioned: the SID Samba generated, for the Graph emulator's synced copy */
  admAvance: { sid: string; dn: string; upn: string };
  /** the secrets its references name (sandbox values, generated at provisioning) */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * Contoso's domain controller for `npm start`: the template is provisioned once into the data
 * folder (10–35 s the first time, kept afterwards); each start runs a fresh copy of it, so the story
 * starts again with adm-avance enabled. The DC runs with its stdin a pipe from this process and
 * exits when the sandbox does. Throws SambaUnavailableError when Samba is not installed: the caller
 * says so and skips the on-premises steps.
 */
export async function startSandboxSamba(opts: { dataDir: string; ip?: string }): Promise<SandboxSamba> {
  const template = await ensureSambaTemplate(join(opts.dataDir, 'samba', 'template'));
  const ip = opts.ip ?? (await pickLoopbackAddress('127.0.0.2'));
  const dc = await startSambaDc(template, { dir: join(opts.dataDir, 'samba', 'dc1'), ip });
  return { ...contosoDirectoryOn(dc), dc, close: () => dc.stop() };
}

/**
 * What the bot needs to reach Contoso's domain on a running DC: the customers file's
 * activeDirectory section, the secrets it names and adm-avance as provisioned. The sandbox uses it
 * for its own DC; the crash tests for the DC they start beside a bot process.
 */
export function contosoDirectoryOn(dc: SambaDc): Omit<SandboxSamba, 'dc' | 'close'> {
  const { template } = dc;
  const adm = template.accounts['adm-avance'];
  return {
    admAvance: { sid: adm.sid, dn: adm.dn, upn: adm.upn },
    activeDirectory: {
      domains: [{ netbios: CONTOSO_AD.netbios, dns: CONTOSO_AD.dns, upnSuffixes: [...CONTOSO_AD.upnSuffixes] }],
      driver: 'ldap',
      dcs: [{ host: dc.ip, servername: dc.servername, port: dc.port }],
      bindUpn: `${CONTOSO_AD.serviceAccount}@${CONTOSO_AD.dns}`,
      passwordRef: 'env:SANDBOX_AD_BIND_PASSWORD',
      caCertificateRef: 'env:SANDBOX_AD_CA_PEM',
      baseDn: CONTOSO_AD.baseDn,
    },
    env: {
      SANDBOX_AD_BIND_PASSWORD: template.accounts[CONTOSO_AD.serviceAccount].password,
      SANDBOX_AD_CA_PEM: template.caPem,
    },
  };
}
