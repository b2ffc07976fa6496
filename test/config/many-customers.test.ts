import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadCustomersFile, parseCustomers } from '../../src/config/customers';
import { customerId, manyCustomerEntries, manyCustomersYaml } from '../support/many-customers';

describe('customers file: a thousand customers', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'irbot-many-customers-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads 1,000 customers, each with its own tenant, credentials and devices', () => {
    const file = join(dir, 'customers.json');
    writeFileSync(file, JSON.stringify({ customers: manyCustomerEntries(1000) }));
    const { customers } = loadCustomersFile(file);
    assert.equal(customers.length, 1000);
    assert.equal(new Set(customers.map((c) => c.tenantId)).size, 1000);
    const last = customers[999];
    assert.equal(last.id, customerId(1000));
    assert.equal(last.firewalls.length, 2);
    assert.equal(last.radius?.nas[1].secretRef, 'env:CUST_1000_NAS2_SECRET');
    assert.equal(last.graph.timeoutMs, 30000, 'defaults applied');
    assert.ok(Object.isFrozen(last.firewalls[0]), 'the loaded configuration is read-only');
  });

  it('reads the same customers from YAML', () => {
    const file = join(dir, 'customers.yaml');
    writeFileSync(file, manyCustomersYaml(40));
    assert.deepEqual(loadCustomersFile(file), parseCustomers({ customers: manyCustomerEntries(40) }));
  });

  it("refuses a customer that refers to another customer's credential, naming both and the key", () => {
    const raw = manyCustomerEntries(1000, {
      edit: (c, i) => {
        if (i !== 700) return c;
        const radius = c.radius as { nas: Array<Record<string, unknown>> };
        radius.nas[1] = { ...radius.nas[1], secretRef: 'env:CUST_0003_NAS_SECRET' };
        return c;
      },
    });
    assert.throws(() => parseCustomers({ customers: raw }, 'customers.yaml'), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, 'customers.yaml: customer "cust-0700", key "radius.nas.1.secretRef": env:CUST_0003_NAS_SECRET is customer "cust-0003"\'s credential: a credential belongs to one customer and never crosses to another');
      return true;
    });
  });

  for (const [what, edit] of [
    ['Graph app secret', (c: Record<string, unknown>) => { (c.graph as { credential: { secretRef: string } }).credential.secretRef = 'env:CUST_0001_GRAPH_SECRET'; }],
    ['firewall SSH password', (c: Record<string, unknown>) => { (c.firewalls as Array<{ ssh?: { passwordRef: string } }>)[0].ssh!.passwordRef = 'env:CUST_0001_FGT_PASSWORD'; }],
    ['ServiceNow password', (c: Record<string, unknown>) => { (c.servicenow as { passwordRef: string }).passwordRef = 'env:CUST_0001_SNOW_PASSWORD'; }],
    ['threat feed user, in another field', (c: Record<string, unknown>) => { (c.threatFeed as { usernameRef: string }).usernameRef = 'env:CUST_0001_SNOW_USER'; }],
  ] as const) {
    it(`refuses a ${what} shared with another customer`, () => {
      const raw = manyCustomerEntries(3, { edit: (c, i) => { if (i === 3) edit(c); return c; } });
      assert.throws(() => parseCustomers({ customers: raw }), /customer "cust-0003".*is customer "cust-0001"'s credential/);
    });
  }

  it('accepts what may be shared: a CA, an intake token for several customers, the MSP SMTP relay login, one customer using a reference twice', () => {
    const raw = manyCustomerEntries(3, {
      edit: (c) => ({
        ...c,
        graph: { ...(c.graph as object), caCertificateRef: 'env:SHARED_CA' },
        intake: { webhookTokenRef: 'env:SHARED_WEBHOOK_TOKEN' },
        mail: { via: 'smtp', host: 'smtp.msp.example', usernameRef: 'env:MSP_SMTP_USER', passwordRef: 'env:MSP_SMTP_PASSWORD', from: 'soc@msp.example' },
        threatFeed: { usernameRef: `env:${String(c.id).toUpperCase().replace(/-/g, '_')}_FEED`, passwordRef: `env:${String(c.id).toUpperCase().replace(/-/g, '_')}_FEED` },
      }),
    });
    assert.equal(parseCustomers({ customers: raw }).customers.length, 3);
  });
});
