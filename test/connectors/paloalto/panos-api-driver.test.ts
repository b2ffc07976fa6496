import assert from 'node:assert/strict';
import type { FirewallConfig } from '../../../src/config/customers';
import { firewallSchema } from '../../../src/config/customers';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import { PanOsApiDriver } from '../../../src/connectors/paloalto/panos-api-driver';
import { parseIp } from '../../../src/domain/net';
import { generateSandboxTls } from '../../../src/sandbox/graph/self-signed-tls';
import { startPanOsApiEmulator, type PanOsApiEmulator } from '../../../src/sandbox/panos/panos-api';
import { contosoPanOsState } from '../../../src/sandbox/panos/panos-emulator';

const KEY = 'LUFRPT1-secret-key=';

describe('PanOsApiDriver: what only the XML API transport has', () => {
  let emu: PanOsApiEmulator;
  beforeEach(async () => { emu = await startPanOsApiEmulator({ state: contosoPanOsState(), keys: { [KEY]: 'ir-bot' } }); });
  afterEach(async () => { await emu.close(); });

  const config = (api: Partial<NonNullable<FirewallConfig['api']>> = {}): FirewallConfig => ({
    id: 'pa-api', kind: 'paloalto', transport: 'api', blockGroup: 'IR-Block', globalProtectGateway: 'GP-GW-N',
    api: { baseUrl: emu.url, apiKeyRef: 'env:PAN_KEY', admin: 'ir-bot', certificateSha256: emu.certificateSha256, vsys: 'vsys1', timeoutMs: 5000, ...api },
  });
  const driver = (c: FirewallConfig, env: Record<string, string> = { PAN_KEY: KEY, PAN_CA: emu.tls.caPem }) =>
    new PanOsApiDriver(c, { secrets: new EnvFileSecretStore(env), commitPollMs: 5 });

  it('sends commit partial for the bot admin and polls the job; the key is in no request and no transcript', async () => {
    const r = await driver(config()).blockIps([parseIp('203.0.113.7')], { incidentId: 'IR-1' });
    const commit = emu.requests.find((p) => p.type === 'commit');
    assert.equal(commit?.cmd, '<commit><partial><admin><member>ir-bot</member></admin></partial></commit>');
    assert.ok(emu.requests.some((p) => p.type === 'op' && p.cmd === '<show><jobs><id>1</id></jobs></show>'));
    const text = r.transcript.body.toString('utf8');
    assert.match(text, /Commit job enqueued with jobid 1/);
    assert.ok(!text.includes(KEY) && !JSON.stringify(emu.requests).includes(KEY));
  });

  it('trusts a pinned CA as well as a pinned fingerprint', async () => {
    const r = await driver(config({ certificateSha256: undefined, caCertificateRef: 'env:PAN_CA' })).listBlocked();
    assert.deepEqual(r.ips, []);
  });

  it('sends nothing to a device whose certificate is not the pinned one', async () => {
    const wrong = '00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF';
    await assert.rejects(driver(config({ certificateSha256: wrong })).listBlocked(), /the certificate presented is not the pinned one .*nothing was sent/);
    const otherCa = generateSandboxTls().caPem;
    await assert.rejects(driver(config({ certificateSha256: undefined, caCertificateRef: 'env:PAN_CA' }), { PAN_KEY: KEY, PAN_CA: otherCa }).listBlocked(), /not trusted by the pinned CA/);
    assert.equal(emu.requests.length, 0);
  });

  it("quotes the API's msg when it refuses: a wrong key, an error status", async () => {
    await assert.rejects(driver(config(), { PAN_KEY: 'wrong' }).listBlocked(), (e: Error) =>
      /refused config get address-group.* \(HTTP 403\) \[code 403\]: "Invalid Credential"/.test(e.message));
    emu.state.candidate.address.set('IR-203.0.113.9', { ipNetmask: '203.0.113.9/32' });
    emu.state.candidate.addressGroup.get('IR-Block')!.static.push('IR-203.0.113.9');
    emu.state.candidate.rules.push({ name: 'keep', source: ['IR-203.0.113.9'], action: 'deny' });
    await assert.rejects(driver(config()).unblockIps([parseIp('203.0.113.9')]), (e: Error) =>
      /the XML API refused config delete .*\[code 12\]: "IR-203.0.113.9 cannot be deleted because of references from: .*rulebase -> security -> rules -> keep -> source"/.test(e.message));
  });

  it('XML-escapes every device value sent back: a computer name with markup reaches the device as text', async () => {
    emu.state.globalProtect.push({ gateway: 'GP-GW-N', domain: 'contoso', user: 'eve', computer: "x</computer><user>adele.vance</user>&'\"", client: 'c', privateIp: '10.0.0.9', publicIp: '192.0.2.9', loginTime: 'Nov.27 08:00:00' });
    const r = await driver(config()).revokeVpnSessions('eve');
    assert.equal(r.revoked.length, 1);
    assert.deepEqual(emu.state.globalProtect.map((u) => u.user), ['adele.vance', 'megan.bowen'], 'only eve was logged out');
    const sent = emu.requests.find((p) => p.cmd?.includes('client-logout'))!.cmd;
    assert.match(sent, /<computer>x&lt;\/computer&gt;&lt;user&gt;adele\.vance&lt;\/user&gt;&amp;&apos;&quot;<\/computer>/);
  });

  it('the customers file: transport api needs the api section, exactly one pin, https, paloalto', () => {
    const base = { id: 'pa-api', kind: 'paloalto', transport: 'api', api: { baseUrl: 'https://fw.example.net', apiKeyRef: 'env:K', admin: 'ir-bot', certificateSha256: 'ab'.repeat(32) } };
    assert.equal(firewallSchema.safeParse(base).success, true);
    assert.equal(firewallSchema.safeParse({ ...base, api: undefined }).success, false);
    assert.equal(firewallSchema.safeParse({ ...base, kind: 'fortigate' }).success, false);
    assert.equal(firewallSchema.safeParse({ ...base, api: { ...base.api, baseUrl: 'http://fw.example.net' } }).success, false);
    assert.equal(firewallSchema.safeParse({ ...base, api: { ...base.api, certificateSha256: undefined } }).success, false);
    assert.equal(firewallSchema.safeParse({ ...base, api: { ...base.api, caCertificateRef: 'env:CA' } }).success, false, 'not both pins');
    assert.equal(firewallSchema.safeParse({ ...base, api: { ...base.api, apiKeyRef: 'LUFRPT1literal' } }).success, false, 'no literal key');
    assert.equal(firewallSchema.safeParse({ id: 'pa-cli', kind: 'paloalto' }).success, false, 'cli needs ssh');
  });
});
