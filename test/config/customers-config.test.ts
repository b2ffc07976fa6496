import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadCustomersFile, ConfigError } from '../../src/config/customers';
import { twoCustomers } from '../support/customers-fixture';

const dir = mkdtempSync(join(tmpdir(), 'irbot-config-'));
function writeYaml(obj: unknown): string {
  const p = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(p, stringify(obj));
  return p;
}
const plain = () => JSON.parse(JSON.stringify(twoCustomers()));

describe('customers file', () => {
  it('loads a valid file, frozen', () => {
    const c = loadCustomersFile(writeYaml(plain()));
    assert.equal(c.customers[0].id, 'contoso');
    assert.ok(Object.isFrozen(c.customers[0].graph));
  });

  const cases: Array<[string, (f: ReturnType<typeof plain>) => void, RegExp]> = [
    ['a literal secret instead of a reference', (f) => { f.customers[0].graph.credential.secretRef = 'hunter2'; }, /customer "contoso", key "graph\.credential\.secretRef": must be a secret reference/],
    ['a bad tenant id', (f) => { f.customers[1].tenantId = 'fabrikam'; }, /customer "fabrikam", key "tenantId": must be a GUID/],
    ['a duplicate tenant', (f) => { f.customers[1].tenantId = f.customers[0].tenantId; }, /customer "fabrikam", key "tenantId": duplicate tenantId \(also used by contoso\)/],
    ['no approvers', (f) => { f.customers[0].approvers = { objectIds: [], groupIds: [] }; }, /customer "contoso", key "approvers": at least one approver/],
    ['a firewall without a pinned host key', (f) => { f.customers[0].firewalls = [{ id: 'fgt', kind: 'fortigate', ssh: { host: '10.0.0.1', username: 'ir', passwordRef: 'env:X' } }]; }, /customer "contoso", key "firewalls\.0\.ssh\.hostKeySha256": Required/],
    ['a bad egress range', (f) => { f.customers[0].egressRanges = ['198.51.100.0/40']; }, /customer "contoso", key "egressRanges\.0": must be an IP address or CIDR range/],
    ['an unknown firewall kind', (f) => { f.customers[0].firewalls = [{ id: 'asa', kind: 'cisco-asa' }]; }, /customer "contoso", key "firewalls\.0\.kind"/],
  ];
  for (const [what, mutate, message] of cases) {
    it(`stops start-up with one message naming customer and key: ${what}`, () => {
      const f = plain();
      mutate(f);
      assert.throws(() => loadCustomersFile(writeYaml(f)), (e: Error) => e instanceof ConfigError && message.test(e.message) && e.message.split('\n').length === 1);
    });
  }

  it('says so when the file is missing or not YAML', () => {
    assert.throws(() => loadCustomersFile(join(dir, 'missing.yaml')), /cannot read the customers file/);
    const p = join(dir, 'bad.yaml');
    writeFileSync(p, 'customers: [\n  - id: "x\n');
    assert.throws(() => loadCustomersFile(p), /not valid YAML/);
  });
});

describe('customers file: intake credentials', () => {
  it('customers declare their own intake credentials by reference only', () => {
    const f = plain();
    f.customers[0].intake = { webhookTokenRef: 'env:CONTOSO_WEBHOOK_TOKEN', hmacSecretRef: 'file:/run/secrets/contoso-hmac' };
    assert.equal(loadCustomersFile(writeYaml(f)).customers[0].intake.webhookTokenRef, 'env:CONTOSO_WEBHOOK_TOKEN');
    assert.deepEqual(loadCustomersFile(writeYaml(plain())).customers[1].intake, {});
    f.customers[0].intake = { webhookTokenRef: 'literal-token-literal-token' };
    assert.throws(() => loadCustomersFile(writeYaml(f)), /customer "contoso", key "intake\.webhookTokenRef": must be a secret reference/);
  });
});
