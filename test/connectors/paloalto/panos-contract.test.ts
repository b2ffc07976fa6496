import assert from 'node:assert/strict';
import type { FirewallConfig } from '../../../src/config/customers';
import { EnvFileSecretStore } from '../../../src/config/secrets';
import type { FirewallDriver } from '../../../src/connectors/firewall/driver';
import { createFirewallDriver } from '../../../src/connectors/firewall/registry';
import { PanOsApiDriver } from '../../../src/connectors/paloalto/panos-api-driver';
import { parseIp } from '../../../src/domain/net';
import { CONTOSO } from '../../../src/sandbox/contoso';
import { startPanOsApiEmulator, type PanOsApiEmulator } from '../../../src/sandbox/panos/panos-api';
import { recordChange } from '../../../src/sandbox/panos/panos-commit';
import { contosoPanOsState, startPanOsEmulator, type PanOsEmulator, type PanOsState } from '../../../src/sandbox/panos/panos-emulator';
import { FW_USER, firewallConfig, fwSecrets } from '../firewall/helpers';

const API_KEY = 'LUFRPT1-test-api-key=';
const secrets = new EnvFileSecretStore({ FW_PASSWORD: FW_USER.password, PAN_API_KEY: API_KEY });

/** Contoso's PA plus an iPhone named as in Palo Alto's own example: a curly apostrophe and a space. */
function deviceState(): PanOsState {
  const s = contosoPanOsState();
  s.globalProtect.push({ gateway: 'GP-GW-N', domain: 'contoso', user: 'dan.ward', computer: 'Dan’s iPhone', client: 'Apple iOS 17.1', privateIp: '10.31.32.11', publicIp: '198.51.100.77', loginTime: 'Nov.27 08:10:00' });
  return s;
}

const LOOKUP = { fromZone: 'untrust', toZone: 'trust', port: 443, protocol: 'tcp' as const };

interface Rig { state: PanOsState; driver: FirewallDriver; close(): Promise<void> }

const transports: Record<'cli' | 'api', () => Promise<Rig>> = {
  async cli() {
    const emu: PanOsEmulator = await startPanOsEmulator({ users: [FW_USER], state: deviceState() });
    const driver = createFirewallDriver(firewallConfig('paloalto', emu, { globalProtectGateway: 'GP-GW-N', policyLookup: LOOKUP }), { secrets: fwSecrets });
    return { state: emu.state, driver, close: async () => { await driver.close(); await emu.close(); } };
  },
  async api() {
    const emu: PanOsApiEmulator = await startPanOsApiEmulator({ state: deviceState(), keys: { [API_KEY]: FW_USER.username } });
    const config: FirewallConfig = {
      id: 'paloalto-test', kind: 'paloalto', transport: 'api', blockGroup: 'IR-Block', globalProtectGateway: 'GP-GW-N', policyLookup: LOOKUP,
      api: { baseUrl: emu.url, apiKeyRef: 'env:PAN_API_KEY', admin: FW_USER.username, certificateSha256: emu.certificateSha256, vsys: 'vsys1', timeoutMs: 5000 },
    };
    const driver = new PanOsApiDriver(config, { secrets, commitPollMs: 5 });
    assert.ok(createFirewallDriver(config, { secrets }) instanceof PanOsApiDriver, 'the registry picks the API driver for transport api');
    return { state: emu.state, driver, close: async () => { await driver.close(); await emu.close(); } };
  },
};

for (const [transport, start] of Object.entries(transports)) {
  describe(`PAN-OS driver contract (${transport})`, () => {
    let rig: Rig;
    beforeEach(async () => { rig = await start(); });
    afterEach(async () => { await rig.close(); });

    it('names the rule that lets an attacker in, and the zone default when none matches', async () => {
      const q = (src: string, dstPort = 443) => ({ src: parseIp(src), dst: parseIp('198.51.100.1'), dstPort, protocol: 'tcp' as const });
      const r = await rig.driver.matchedPolicy([q('203.0.113.7'), q('2001:db8:bad:cafe::7', 22)]);
      assert.deepEqual(r.matches.map((m) => [m.query.src, m.policyId, m.policyName, m.action, m.allows, m.implicit, m.context]), [
        ['203.0.113.7', '2', 'Inbound HTTPS to DMZ-web', 'allow', true, false, 'from untrust to trust'],
        ['2001:db8:bad:cafe::7', null, 'interzone-default', 'deny', false, true, 'from untrust to trust'],
      ]);
    });

    it('blocks IPv4 and IPv6 into the running block group, idempotently', async () => {
      const ips = [parseIp(CONTOSO.attackerIp), parseIp('2001:DB8:bad:cafe:0:0:0:7')];
      const first = await rig.driver.blockIps(ips, { incidentId: 'IR-20261127-7K3Q' });
      assert.deepEqual(first.added, ['203.0.113.7', '2001:db8:bad:cafe::7']);
      assert.deepEqual(rig.state.running.addressGroup.get('IR-Block')!.static, ['IR-placeholder', 'IR-203.0.113.7', 'IR-2001-db8-bad-cafe--7']);
      assert.deepEqual(rig.state.running.address.get('IR-2001-db8-bad-cafe--7'), { ipNetmask: '2001:db8:bad:cafe::7/128', description: 'incident IR-20261127-7K3Q (teams-ir-bot)' });
      const commits = rig.state.commits;
      const again = await rig.driver.blockIps(ips, { incidentId: 'IR-20261127-7K3Q' });
      assert.deepEqual([again.added, again.alreadyBlocked], [[], ['203.0.113.7', '2001:db8:bad:cafe::7']]);
      assert.equal(rig.state.commits, commits, 'nothing to commit the second time');
      assert.deepEqual((await rig.driver.listBlocked()).ips, ['203.0.113.7', '2001:db8:bad:cafe::7']);
      assert.ok(first.transcript.body.length > 0 && first.transcript.recordCount! > 0);
    });

    it('unblocks: out of the group, object deleted, committed; an absent IP is reported as such', async () => {
      await rig.driver.blockIps([parseIp(CONTOSO.attackerIp)], { incidentId: 'IR-1' });
      const r = await rig.driver.unblockIps([parseIp(CONTOSO.attackerIp), parseIp('192.0.2.99')]);
      assert.deepEqual([r.removed, r.notPresent], [['203.0.113.7'], ['192.0.2.99']]);
      assert.equal(rig.state.running.address.has('IR-203.0.113.7'), false);
      assert.deepEqual(rig.state.running.addressGroup.get('IR-Block')!.static, ['IR-placeholder']);
    });

    it("commits only the bot admin's changes: another admin's pending edit stays in the candidate", async () => {
      rig.state.candidate.address.set('ALICE-new-server', { ipNetmask: '10.9.9.9/32' });
      recordChange(rig.state, 'alice', 'address', 'ALICE-new-server');
      await rig.driver.blockIps([parseIp(CONTOSO.attackerIp)], { incidentId: 'IR-1' });
      assert.equal(rig.state.running.address.has('IR-203.0.113.7'), true);
      assert.equal(rig.state.running.address.has('ALICE-new-server'), false, "alice's change was not committed");
      assert.equal(rig.state.candidate.address.has('ALICE-new-server'), true);
      assert.deepEqual([...rig.state.pendingChanges.keys()], ['alice']);
    });

    it('lists GlobalProtect users and logs out only that user', async () => {
      const listed = await rig.driver.listVpnSessions('adele.vance@contoso.com');
      assert.deepEqual(listed.sessions.map((s) => [s.user, s.sourceIp, s.tunnelIp, s.handle.gateway, s.handle.computer]), [
        ['adele.vance', CONTOSO.attackerIp, '10.31.32.5', 'GP-GW-N', 'ADELE-LT01'],
      ]);
      const r = await rig.driver.revokeVpnSessions('adele.vance');
      assert.equal(r.revoked.length, 1);
      assert.deepEqual(rig.state.globalProtect.map((u) => u.user), ['megan.bowen', 'dan.ward']);
    });

    // The CLI driver still refuses a computer name outside [A-Za-z0-9._-] before it reaches a CLI
    // line; the device-name quoting of cli-values (another change) lets it through quoted.
    it('cuts a session of a computer named `Dan’s iPhone` (apostrophe and space)', async () => {
      const listed = await rig.driver.listVpnSessions('dan.ward');
      assert.deepEqual(listed.sessions.map((s) => s.handle.computer), ['Dan’s iPhone']);
      const r = await rig.driver.revokeVpnSessions('dan.ward');
      assert.deepEqual(r.revoked.map((s) => s.handle.computer), ['Dan’s iPhone']);
      assert.deepEqual(rig.state.globalProtect.map((u) => u.user), ['adele.vance', 'megan.bowen']);
    });

    it('reads the session table by source and destination', async () => {
      const r = await rig.driver.sessionTable([parseIp(CONTOSO.attackerIp)]);
      assert.deepEqual(r.sessions.map((s) => `${s.id} ${s.application} ${s.proto} ${s.src}:${s.srcPort}->${s.dst}:${s.dstPort}`), [
        '49183 ssl tcp 203.0.113.7:51234->198.51.100.1:443',
        '49201 dns-base udp 10.0.10.5:53->203.0.113.7:40000',
      ]);
    });

    it('fails clearly on a commit the device refuses, quoting it, and nothing reaches the running config', async () => {
      rig.state.candidate.addressGroup.get('IR-Block')!.static.push('IR-ghost');
      await assert.rejects(rig.driver.blockIps([parseIp(CONTOSO.attackerIp)], { incidentId: 'IR-1' }), (e: Error) => {
        assert.match(e.message, /address-group -> IR-Block -> static 'IR-ghost' is not a valid reference/);
        return true;
      });
      assert.equal(rig.state.running.address.has('IR-203.0.113.7'), false);
    });

    it('says so when the block group does not exist, and changes nothing', async () => {
      rig.state.candidate.addressGroup.delete('IR-Block');
      rig.state.running.addressGroup.delete('IR-Block');
      await assert.rejects(rig.driver.blockIps([parseIp(CONTOSO.attackerIp)], { incidentId: 'IR-1' }), /the address-group IR-Block does not exist/);
      assert.equal(rig.state.candidate.address.has('IR-203.0.113.7'), false);
    });
  });
}
