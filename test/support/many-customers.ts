import { stringify } from 'yaml';

/**
 * N customers as an MSP's customers file holds them: each with its own Graph app, a FortiGate over
 * SSH, a Palo Alto over its XML API, an access switch, a RADIUS NAS, a ServiceNow instance, a threat
 * feed and an intake token — every credential its own secret reference. For the thousand-customer
 * tests and bench/customers-validation.ts. Deterministic: customer i is always the same.
 */
export interface ManyCustomersOptions {
  /** customer i's raw entry is passed through this before it is returned (to break one on purpose) */
  edit?: (customer: Record<string, unknown>, i: number) => Record<string, unknown>;
}

const HOST_KEY = 'SHA256:' + 'nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8';
const PAN_FINGERPRINT = 'AB:'.repeat(31) + 'CD';

export function customerId(i: number): string {
  return `cust-${String(i).padStart(4, '0')}`;
}

/** a UUID unique to (customer, purpose): the tenant id, the Graph app id */
function guid(i: number, purpose: number): string {
  const hex = (i * 16 + purpose).toString(16).padStart(12, '0');
  return `${purpose.toString(16).padStart(8, '0')}-0000-4000-8000-${hex}`;
}

export function manyCustomerEntries(n: number, opts: ManyCustomersOptions = {}): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 1; i <= n; i++) {
    const id = customerId(i);
    const ref = (what: string) => `env:${id.toUpperCase().replace(/-/g, '_')}_${what}`;
    const domain = `${id}.example.com`;
    const net = `10.${Math.floor(i / 250) % 250}.${i % 250}`;
    const entry: Record<string, unknown> = {
      id,
      name: `Customer ${i} Ltd`,
      tenantId: guid(i, 1),
      domains: [domain, `${id}.onmicrosoft.com`],
      graph: { clientId: guid(i, 2), credential: { type: 'secret', secretRef: ref('GRAPH_SECRET') }, hasP2: i % 3 === 0 },
      egressRanges: [`${net}.0/24`],
      firewalls: [
        { id: 'fgt-edge', kind: 'fortigate', ssh: { host: `fgt.${domain}`, username: 'irbot', passwordRef: ref('FGT_PASSWORD'), hostKeySha256: HOST_KEY }, vdom: 'root' },
        { id: 'pa-dc', kind: 'paloalto', transport: 'api', api: { baseUrl: `https://pa.${domain}`, apiKeyRef: ref('PAN_KEY'), admin: 'irbot', certificateSha256: PAN_FINGERPRINT } },
      ],
      switches: [{ id: 'sw-1', kind: 'cisco-ios', ssh: { host: `sw1.${domain}`, username: 'irbot', privateKeyRef: ref('SWITCH_KEY'), hostKeySha256: HOST_KEY }, nasIp: `${net}.2` }],
      radius: {
        accounting: { kind: 'detail-ssh', ssh: { host: `radius.${domain}`, username: 'irbot', privateKeyRef: ref('RADIUS_SSH_KEY'), hostKeySha256: HOST_KEY } },
        nas: [{ id: 'nas-1', ip: `${net}.2`, secretRef: ref('NAS_SECRET') }, { id: 'nas-2', ip: `${net}.3`, secretRef: ref('NAS2_SECRET') }],
      },
      servicenow: { instanceUrl: `https://${id}.service-now.com`, usernameRef: ref('SNOW_USER'), passwordRef: ref('SNOW_PASSWORD') },
      contacts: { ciso: { name: `CISO ${i}`, email: `ciso@${domain}` }, onCall: { name: `On call ${i}`, email: `oncall@${domain}` } },
      readers: { groupIds: [guid(i, 3)] },
      approvers: { objectIds: ['00000000-0000-4000-8000-000000000020'], groupIds: [guid(i, 4)], twoPersonSteps: i % 10 === 0 ? ['contain'] : [] },
      threatFeed: { usernameRef: ref('FEED_USER'), passwordRef: ref('FEED_PASSWORD') },
      intake: { webhookTokenRef: ref('WEBHOOK_TOKEN') },
    };
    out.push(opts.edit ? opts.edit(entry, i) : entry);
  }
  return out;
}

/** The customers file of N customers, as YAML text. */
export function manyCustomersYaml(n: number, opts: ManyCustomersOptions = {}): string {
  return `# ${n} generated customers (test/support/many-customers.ts)\n${stringify({ customers: manyCustomerEntries(n, opts) })}`;
}
