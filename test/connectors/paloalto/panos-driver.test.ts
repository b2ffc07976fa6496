import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PanOsDriver } from '../../../src/connectors/paloalto/panos-driver';
import { parseIp } from '../../../src/domain/net';
import { contosoPanOsState, startPanOsEmulator, type PanOsEmulator } from '../../../src/sandbox/panos/panos-emulator';
import { FW_USER, firewallConfig, fwSecrets, since } from '../firewall/helpers';

describe('PanOsDriver against the PAN-OS emulator', () => {
  let emu: PanOsEmulator;
  let driver: PanOsDriver;
  beforeEach(async () => {
    emu = await startPanOsEmulator({ users: [FW_USER], state: contosoPanOsState() });
    driver = new PanOsDriver(firewallConfig('paloalto', emu), { secrets: fwSecrets });
  });
  afterEach(async () => { await driver.close(); await emu.close(); });

  it('blocks IPv4 and IPv6 in the candidate and commits, with exactly these lines', async () => {
    const r = await driver.blockIps([parseIp('203.0.113.7'), parseIp('2001:DB8:bad:cafe:0:0:0:7')], { incidentId: 'IR-20261127-7K3Q' });
    assert.deepEqual(r.added, ['203.0.113.7', '2001:db8:bad:cafe::7']);
    assert.deepEqual(emu.received, [
      'set cli scripting-mode on',
      'set cli pager off',
      'configure',
      'show address-group IR-Block',
      'set address IR-203.0.113.7 ip-netmask 203.0.113.7/32',
      'set address IR-203.0.113.7 description "incident IR-20261127-7K3Q (teams-ir-bot)"',
      'set address IR-2001-db8-bad-cafe--7 ip-netmask 2001:db8:bad:cafe::7/128',
      'set address IR-2001-db8-bad-cafe--7 description "incident IR-20261127-7K3Q (teams-ir-bot)"',
      'set address-group IR-Block static [ IR-203.0.113.7 IR-2001-db8-bad-cafe--7 ]',
      'commit partial admin ir-bot',
      'show address-group IR-Block',
      'exit',
    ]);
    assert.deepEqual(emu.state.running.addressGroup.get('IR-Block')!.static, ['IR-placeholder', 'IR-203.0.113.7', 'IR-2001-db8-bad-cafe--7']);
    assert.equal(emu.state.running.address.get('IR-2001-db8-bad-cafe--7')!.ipNetmask, '2001:db8:bad:cafe::7/128');
    assert.match(r.transcript.body.toString(), /ir-bot@PA-3220# commit partial admin ir-bot\n[\s\S]*Configuration committed successfully/);
  });

  it('is idempotent: nothing set and no commit the second time', async () => {
    await driver.blockIps([parseIp('203.0.113.7')], { incidentId: 'IR-1' });
    const from = emu.received.length;
    const again = await driver.blockIps([parseIp('203.0.113.7')], { incidentId: 'IR-1' });
    assert.deepEqual([again.added, again.alreadyBlocked], [[], ['203.0.113.7']]);
    assert.deepEqual(since(emu.received, from), ['configure', 'show address-group IR-Block', 'exit']);
    assert.equal(emu.state.commits, 1);
  });

  it('unblocks (group member, then object) and commits', async () => {
    await driver.blockIps([parseIp('203.0.113.7')], { incidentId: 'IR-1' });
    const from = emu.received.length;
    const r = await driver.unblockIps([parseIp('203.0.113.7')]);
    assert.deepEqual(r.removed, ['203.0.113.7']);
    assert.deepEqual(since(emu.received, from), [
      'configure', 'show address-group IR-Block',
      'delete address-group IR-Block static IR-203.0.113.7',
      'show address IR-203.0.113.7',
      'delete address IR-203.0.113.7',
      'commit partial admin ir-bot', 'exit',
    ]);
    assert.equal(emu.state.running.address.has('IR-203.0.113.7'), false);
    assert.deepEqual(emu.state.running.addressGroup.get('IR-Block')!.static, ['IR-placeholder']);
  });

  it('fails the step on a commit failure, quoting the device lines', async () => {
    // Someone left a dangling member in the candidate: the commit validation refuses it.
    emu.state.candidate.addressGroup.get('IR-Block')!.static.push('IR-ghost');
    await assert.rejects(driver.blockIps([parseIp('203.0.113.7')], { incidentId: 'IR-1' }), (e: Error) => {
      assert.equal(e.message, `paloalto-test (127.0.0.1:${emu.port}) refused "commit partial admin ir-bot": "Commit failed" ("address-group -> IR-Block -> static 'IR-ghost' is not a valid reference")`);
      return true;
    });
    assert.equal(emu.state.running.address.has('IR-203.0.113.7'), false, 'nothing reached the running config');
  });

  it('lists GlobalProtect users and logs out only that user', async () => {
    const listed = await driver.listVpnSessions('adele.vance@contoso.com');
    assert.deepEqual(listed.sessions.map((s) => [s.user, s.sourceIp, s.tunnelIp, s.handle.gateway, s.handle.computer]), [
      ['adele.vance', '203.0.113.7', '10.31.32.5', 'GP-GW-N', 'ADELE-LT01'],
    ]);
    const from = emu.received.length;
    const r = await driver.revokeVpnSessions('adele.vance@contoso.com');
    assert.equal(r.revoked.length, 1);
    assert.deepEqual(since(emu.received, from), [
      'show global-protect-gateway current-user',
      'request global-protect-gateway client-logout gateway "GP-GW-N" user "adele.vance" reason force-logout computer "ADELE-LT01"',
      'show global-protect-gateway current-user',
    ]);
    assert.deepEqual(emu.state.globalProtect.map((u) => u.user), ['megan.bowen']);
  });

  const gp = (user: string, computer: string, publicIp = '203.0.113.7') => ({
    gateway: 'GP-GW-N', domain: 'contoso', user, computer, client: 'macOS 14', privateIp: '10.31.32.44', publicIp, loginTime: 'Nov.27 07:50:00',
  });

  it("quotes device names (Adele's MacBook Pro, Dan’s iPhone) instead of refusing them, and logs every session out", async () => {
    emu.state.globalProtect.push(gp('adele.vance', "Adele's MacBook Pro"), gp('adele.vance', 'Dan’s iPhone; reboot'), gp('adele.vance', 'José [büro] $(id)'));
    const from = emu.received.length;
    const r = await driver.revokeVpnSessions("adele.vance@contoso.com");
    assert.deepEqual(r.skipped, []);
    assert.deepEqual(r.revoked.map((s) => s.handle.computer), ['ADELE-LT01', "Adele's MacBook Pro", 'Dan’s iPhone; reboot', 'José [büro] $(id)']);
    assert.deepEqual(since(emu.received, from).filter((l) => l.startsWith('request')), [
      'request global-protect-gateway client-logout gateway "GP-GW-N" user "adele.vance" reason force-logout computer "ADELE-LT01"',
      `request global-protect-gateway client-logout gateway "GP-GW-N" user "adele.vance" reason force-logout computer "Adele's MacBook Pro"`,
      'request global-protect-gateway client-logout gateway "GP-GW-N" user "adele.vance" reason force-logout computer "Dan’s iPhone; reboot"',
      'request global-protect-gateway client-logout gateway "GP-GW-N" user "adele.vance" reason force-logout computer "José [büro] $(id)"',
    ]);
    assert.deepEqual(emu.state.globalProtect.map((u) => u.user), ['megan.bowen']);
  });

  it("a computer name PAN-OS cannot quote is left out of the logout; a user it cannot quote is skipped with the reason, the rest goes on", async () => {
    emu.state.globalProtect.push(gp('adele.vance', 'Lab "7"'), gp('o"brien', 'OB-LT'));
    const r = await driver.revokeVpnSessions('adele.vance');
    assert.deepEqual(r.revoked.map((s) => s.handle.computer), ['ADELE-LT01', 'Lab "7"']);
    assert.ok(emu.received.includes('request global-protect-gateway client-logout gateway "GP-GW-N" user "adele.vance" reason force-logout'));
    assert.deepEqual(emu.state.globalProtect.map((u) => u.user), ['megan.bowen', 'o"brien']);
    const odd = await driver.revokeVpnSessions('o"brien@contoso.com');
    assert.deepEqual(odd.revoked, []);
    assert.equal(odd.skipped.length, 1);
    assert.match(odd.skipped[0].reason, /^GlobalProtect user: contains a double quote or a backslash, which the PAN-OS CLI cannot quote: "o\\"brien"$/);
    assert.ok(!emu.received.some((l) => l.includes('brien') && l.startsWith('request')), 'nothing unquotable reached the device');
  });

  it('property: any computer name never throws out of the cut, never puts an unquoted or control character on a line, and the other sessions are still cut', async () => {
    const LOGOUT = /^request global-protect-gateway client-logout gateway "GP-GW-N" user "adele\.vance" reason force-logout( computer "[^"\\\u0000-\u001f\u007f-\u009f\u2028\u2029]+")?$/;
    await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), fc.constantFrom("Adele's MacBook Pro", 'Dan’s iPhone', 'a"b', 'a\\b', 'x\ty', ' ')), async (computer) => {
      emu.state.globalProtect.splice(0, Infinity, gp('adele.vance', 'ADELE-LT01'), gp('adele.vance', computer, '198.51.100.99'), gp('megan.bowen', 'MEGAN-LT07', '192.0.2.8'));
      const from = emu.received.length;
      const r = await driver.revokeVpnSessions('adele.vance');
      const sent = since(emu.received, from).filter((l) => l.startsWith('request'));
      for (const l of sent) assert.match(l, LOGOUT);
      assert.ok(r.revoked.some((s) => s.handle.computer === 'ADELE-LT01'), 'the plain session is always cut');
      assert.equal(emu.state.globalProtect.some((u) => u.computer === 'ADELE-LT01'), false);
      assert.equal(emu.state.globalProtect.filter((u) => u.user === 'megan.bowen').length, 1, "another user's session is never touched");
      // every line sent is one row cut or one row the device refused; nothing else reached it
      assert.equal(sent.length, r.revoked.length + r.skipped.filter((k) => /refused the logout/.test(k.reason)).length);
    }), { numRuns: 40, seed: 20261127 });
  });

  it('reads the session table by source and destination', async () => {
    const r = await driver.sessionTable([parseIp('203.0.113.7')]);
    assert.deepEqual(r.sessions.map((s) => `${s.id} ${s.application} ${s.proto} ${s.src}:${s.srcPort}->${s.dst}:${s.dstPort}`), [
      '49183 ssl tcp 203.0.113.7:51234->198.51.100.1:443',
      '49201 dns-base udp 10.0.10.5:53->203.0.113.7:40000',
    ]);
    assert.deepEqual(emu.received.slice(2), ['show session all filter source 203.0.113.7', 'show session all filter destination 203.0.113.7']);
  });

  it('asks test security-policy-match per IP and reads the first rule; the default rule when none prints', async () => {
    await driver.close();
    driver = new PanOsDriver(firewallConfig('paloalto', emu, { policyLookup: { fromZone: 'untrust', toZone: 'trust', port: 443, protocol: 'tcp' } }), { secrets: fwSecrets });
    const q = (src: string, dstPort = 443) => ({ src: parseIp(src), dst: parseIp('198.51.100.1'), dstPort, protocol: 'tcp' as const });
    const r = await driver.matchedPolicy([q('203.0.113.7'), q('2001:db8:bad:cafe::7', 22)]);
    assert.deepEqual(r.matches.map((m) => [m.query.src, m.policyId, m.policyName, m.action, m.allows, m.implicit, m.context]), [
      ['203.0.113.7', '2', 'Inbound HTTPS to DMZ-web', 'allow', true, false, 'from untrust to trust'],
      ['2001:db8:bad:cafe::7', null, 'interzone-default', 'deny', false, true, 'from untrust to trust'],
    ]);
    assert.deepEqual(emu.received.slice(2), [
      'test security-policy-match from untrust to trust source 203.0.113.7 destination 198.51.100.1 protocol 6 destination-port 443',
      'test security-policy-match from untrust to trust source 2001:db8:bad:cafe::7 destination 198.51.100.1 protocol 6 destination-port 22',
    ]);
    assert.match(r.transcript.body.toString(), /action allow;/);
  });

  it('refuses a forged flow before any line is sent, and asks nothing without zones', async () => {
    await assert.rejects(driver.matchedPolicy([{ src: '203.0.113.7; reboot' as never, dst: parseIp('198.51.100.1'), dstPort: 443, protocol: 'tcp' }]), /not an IPv4 or IPv6 address/);
    await assert.rejects(driver.matchedPolicy([{ src: parseIp('203.0.113.7'), dst: parseIp('198.51.100.1'), dstPort: 70000, protocol: 'tcp' }]), /dstPort: not a port/);
    const r = await driver.matchedPolicy([{ src: parseIp('203.0.113.7'), dst: parseIp('198.51.100.1'), dstPort: 443, protocol: 'tcp' }]);
    assert.match(r.skipped[0].reason, /no policyLookup\.fromZone\/toZone configured/);
    assert.equal(emu.connections, 0);
  });
});
