import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { sandboxCustomers } from '../../src/sandbox/sandbox-customers';
import { loadSandboxCustomersFile, writeSandboxCustomersFile, SANDBOX_CUSTOMERS_MARKER } from '../../src/sandbox/sandbox-customers-file';
import { generatedSandboxTenantId, isGeneratedSandboxTenant } from '../../src/sandbox/generated-tenants';
import { twoCustomers } from '../support/customers-fixture';

const endpoints = { graphUrl: 'https://127.0.0.1:3981', authorityHost: 'https://127.0.0.1:3981', serviceNowUrl: 'http://127.0.0.1:3982' };

/** The sandbox does not authenticate anyone, so it runs only on the customers file it generated itself. */
describe('sandbox customers file', () => {
  let root: string;
  let dataDir: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'irbot-sbfile-'));
    dataDir = path.join(root, 'sandbox');
    mkdirSync(dataDir);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const refused = (file: string, why: RegExp) => assert.throws(() => loadSandboxCustomersFile(file, dataDir), (e: Error) => {
    assert.match(e.message, /the sandbox runs only on its own generated customers file/);
    assert.match(e.message, why);
    assert.match(e.message, /real customers need IR_MODE=production$/);
    return true;
  });

  it('accepts the file the sandbox wrote, marker first, inside SANDBOX_DATA_DIR', () => {
    const file = writeSandboxCustomersFile(dataDir, sandboxCustomers(endpoints));
    assert.equal(readFileSync(file, 'utf8').split('\n')[0], SANDBOX_CUSTOMERS_MARKER);
    assert.deepEqual(loadSandboxCustomersFile(file, dataDir).customers.map((c) => c.id), ['contoso', 'fabrikam']);
  });

  it('refuses the generated file copied outside SANDBOX_DATA_DIR, or linked into it from outside', () => {
    const outside = path.join(root, 'customers.yaml');
    writeFileSync(outside, readFileSync(writeSandboxCustomersFile(dataDir, sandboxCustomers(endpoints))));
    refused(outside, /not inside SANDBOX_DATA_DIR/);
    const link = path.join(dataDir, 'linked.yaml');
    symlinkSync(outside, link);
    refused(link, /not inside SANDBOX_DATA_DIR/);
  });

  it('refuses a customers file without the marker line, even inside SANDBOX_DATA_DIR', () => {
    const file = path.join(dataDir, 'customers.yaml');
    writeFileSync(file, stringify(sandboxCustomers(endpoints)));
    refused(file, /does not start with the sandbox marker line/);
  });

  it('refuses a real customer even under a copied marker', () => {
    const real = twoCustomers();
    const file = path.join(dataDir, 'sandbox-customers.yaml');
    const customers = real.customers.map((c) => (c.id === 'fabrikam' ? { ...c, tenantId: '11111111-2222-4333-8444-555555555555' } : c));
    writeFileSync(file, `${SANDBOX_CUSTOMERS_MARKER}\n${stringify({ customers })}`);
    refused(file, /customer fabrikam is not an emulated sandbox tenant/);
  });

  it('accepts tenants generated in the reserved sandbox namespace (load tests), and only those', () => {
    const base = sandboxCustomers(endpoints);
    const generated = (tenantId: string) => ({ ...base.customers[1], id: 'cust-0001', name: 'Customer 1', tenantId, domains: ['cust-0001.example.com'] });
    const file = path.join(dataDir, 'sandbox-customers.yaml');
    writeFileSync(file, `${SANDBOX_CUSTOMERS_MARKER}\n${stringify({ customers: [base.customers[0], generated(generatedSandboxTenantId(1))] })}`);
    assert.deepEqual(loadSandboxCustomersFile(file, dataDir).customers.map((c) => c.tenantId), [base.customers[0].tenantId, '5a4db0c5-0000-4000-8000-000000000001']);
    // one hex digit off the reserved prefix is a real tenant id as far as the guard knows
    writeFileSync(file, `${SANDBOX_CUSTOMERS_MARKER}\n${stringify({ customers: [base.customers[0], generated('5a4db0c6-0000-4000-8000-000000000001')] })}`);
    refused(file, /customer cust-0001 is not an emulated sandbox tenant/);
    assert.equal(isGeneratedSandboxTenant('5A4DB0C5-0000-4000-8000-00000000ABCD'), true);
    assert.throws(() => generatedSandboxTenantId(-1), /out of range/);
  });

  it('refuses a file that does not exist', () => {
    refused(path.join(dataDir, 'missing.yaml'), /cannot resolve it/);
  });
});
