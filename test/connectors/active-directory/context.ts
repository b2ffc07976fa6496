import { contosoCustomer } from '../../support/contoso-customer';
import pino from 'pino';
import { activeDirectorySchema, type ActiveDirectoryConfig, type CustomerConfig, type LdapDirectoryConfig } from '../../../src/config/customers';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import type { ActionContext } from '../../../src/connectors/types';
import { CONTOSO_AD } from '../../../src/sandbox/samba/contoso-directory';
import type { SambaDc } from '../../support/samba-dc';

/** Contoso's activeDirectory section pointed at a test DC, binding as svc-irbot (secrets behind env: references). */
export function adConfig(dc: SambaDc, overrides: Partial<Record<keyof LdapDirectoryConfig, unknown>> = {}): LdapDirectoryConfig {
  return activeDirectorySchema.parse({
    domains: [{ netbios: CONTOSO_AD.netbios, dns: CONTOSO_AD.dns, upnSuffixes: CONTOSO_AD.upnSuffixes }],
    driver: 'ldap',
    dcs: [{ host: dc.ip, servername: dc.servername, port: 636 }],
    bindUpn: `svc-irbot@${CONTOSO_AD.dns}`,
    passwordRef: 'env:AD_BIND_PASSWORD',
    caCertificateRef: 'env:AD_CA_PEM',
    baseDn: CONTOSO_AD.baseDn,
    timeoutMs: 10000,
    ...overrides,
  }) as LdapDirectoryConfig;
}

export function adSecrets(dc: SambaDc, opts: { password?: string; caPem?: string; extra?: Record<string, string> } = {}): EnvFileSecretStore {
  return new EnvFileSecretStore({
    AD_BIND_PASSWORD: opts.password ?? dc.template.accounts['svc-irbot'].password,
    AD_CA_PEM: opts.caPem ?? dc.caPem,
    ...opts.extra,
  });
}

export function contosoWithAd(ad: ActiveDirectoryConfig | undefined): CustomerConfig {
  return contosoCustomer(ad ? { activeDirectory: ad } : {});
}

export function adContext(dc: SambaDc, opts: { ad?: ActiveDirectoryConfig | null; mayHaveRun?: boolean; intentAt?: Date; password?: string; extraSecrets?: Record<string, string> } = {}): ActionContext {
  const ad = opts.ad === null ? undefined : (opts.ad ?? adConfig(dc));
  return {
    customer: contosoWithAd(ad),
    secrets: adSecrets(dc, { password: opts.password, extra: opts.extraSecrets }),
    incidentId: 'IR-20261201-AD01',
    idempotencyKey: 'IR-20261201-AD01:step',
    mayHaveRun: opts.mayHaveRun ?? false,
    intentAt: opts.intentAt,
    log: pino({ level: 'silent' }),
    now: () => new Date(),
  };
}
