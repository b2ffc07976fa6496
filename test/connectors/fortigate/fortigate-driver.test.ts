import assert from 'node:assert/strict';
import { FortiGateDriver } from '../../../src/connectors/fortigate/fortigate-driver';
import { parseIp } from '../../../src/domain/net';
import { FortiOsCli, contosoFortiGateState, startFortiOsEmulator, type FortiOsEmulator } from '../../../src/sandbox/fortios/fortios-emulator';
import { FW_USER, firewallConfig, fwSecrets, since } from '../firewall/helpers';

const CONTOSO_V6 = '2001:db8:bad:cafe::7';

describe('FortiGateDriver against the FortiOS emulator', () => {
  let emu: FortiOsEmulator;
  let driver: FortiGateDriver;
  beforeEach(async () => {
    emu = await startFortiOsEmulator({ users: [FW_USER], hostname: 'FGT-CONTOSO', state: contosoFortiGateState() });
    driver = new FortiGateDriver(firewallConfig('fortigate', emu), { secrets: fwSecrets });
  });
  afterEach(async () => { await driver.close(); await emu.close(); });

  it('blocks an IPv4 and an IPv6 address with exactly the documented commands', async () => {
    const r = await driver.blockIps([parseIp('203.0.113.7'), parseIp('2001:db8:bad:cafe::7')], { incidentId: 'IR-20261127-7K3Q' });
    assert.deepEqual(r.added, ['203.0.113.7', '2001:db8:bad:cafe::7']);
    assert.deepEqual(r.alreadyBlocked, []);
    assert.deepEqual(emu.received, [
      'show firewall addrgrp IR-Block',
      'config firewall address',
      'edit "IR-203.0.113.7"',
      'set subnet 203.0.113.7/32',
      'set comment "incident IR-20261127-7K3Q (teams-ir-bot)"',
      'next',
      'end',
      'config firewall addrgrp',
      'edit "IR-Block"',
      'append member "IR-203.0.113.7"',
      'next',
      'end',
      'show firewall addrgrp IR-Block',
      'show firewall addrgrp6 IR-Block6',
      'config firewall address6',
      'edit "IR-2001-db8-bad-cafe--7"',
      'set ip6 2001:db8:bad:cafe::7/128',
      'set comment "incident IR-20261127-7K3Q (teams-ir-bot)"',
      'next',
      'end',
      'config firewall addrgrp6',
      'edit "IR-Block6"',
      'append member "IR-2001-db8-bad-cafe--7"',
      'next',
      'end',
      'show firewall addrgrp6 IR-Block6',
    ]);
    assert.deepEqual(emu.state.addrgrp.get('IR-Block')!.member, ['none', 'IR-203.0.113.7']);
    assert.deepEqual(emu.state.address.get('IR-203.0.113.7'), { subnet: '203.0.113.7 255.255.255.255', comment: 'incident IR-20261127-7K3Q (teams-ir-bot)' });
    assert.deepEqual(emu.state.addrgrp6.get('IR-Block6')!.member, ['none', 'IR-2001-db8-bad-cafe--7']);
    assert.equal(r.transcript.source, 'fortigate.cli');
    assert.match(r.transcript.body.toString(), /FGT-CONTOSO \(IR-Block\) # append member "IR-203.0.113.7"/);
  });

  it('is idempotent: a second run reads the group and sends no change', async () => {
    const ips = [parseIp('203.0.113.7'), parseIp('2001:db8:bad:cafe::7')];
    await driver.blockIps(ips, { incidentId: 'IR-1' });
    const from = emu.received.length;
    const again = await driver.blockIps(ips, { incidentId: 'IR-1' });
    assert.deepEqual(again.added, []);
    assert.deepEqual(again.alreadyBlocked, ['203.0.113.7', '2001:db8:bad:cafe::7']);
    assert.deepEqual(since(emu.received, from), ['show firewall addrgrp IR-Block', 'show firewall addrgrp6 IR-Block6']);
    assert.equal(emu.received.filter((l) => l.startsWith('append member')).length, 2);
  });

  it('unblocks: out of the group first, then deletes the object', async () => {
    await driver.blockIps([parseIp('203.0.113.7')], { incidentId: 'IR-1' });
    const from = emu.received.length;
    const r = await driver.unblockIps([parseIp('203.0.113.7'), parseIp('198.51.100.99')]);
    assert.deepEqual(r.removed, ['203.0.113.7']);
    assert.deepEqual(r.notPresent, ['198.51.100.99']);
    assert.deepEqual(since(emu.received, from), [
      'show firewall addrgrp IR-Block',
      'config firewall addrgrp', 'edit "IR-Block"', 'unselect member "IR-203.0.113.7"', 'next', 'end',
      'show firewall address IR-203.0.113.7',
      'show firewall address IR-198.51.100.99',
      'config firewall address', 'delete "IR-203.0.113.7"', 'end',
    ]);
    assert.equal(emu.state.address.has('IR-203.0.113.7'), false);
    assert.deepEqual(emu.state.addrgrp.get('IR-Block')!.member, ['none']);
  });

  it('lists and cuts the SSL-VPN sessions and IPsec dial-up instances of one user only', async () => {
    const listed = await driver.listVpnSessions('adele.vance@contoso.com');
    assert.deepEqual(listed.sessions.map((s) => [s.kind, s.user, s.sourceIp, s.handle.index ?? s.handle.gateway]), [
      ['sslvpn-web', 'adele.vance', '203.0.113.7', 0],
      ['sslvpn-tunnel', 'adele.vance', '203.0.113.7', 0],
      ['ipsec-dialup', 'adele.vance', '203.0.113.7', 'FCT-Dialup_0'],
    ]);
    const tunnel = listed.sessions[1];
    assert.equal(tunnel.tunnelIp, '10.212.134.200');
    assert.equal(tunnel.durationSeconds, 1195);
    assert.deepEqual([tunnel.bytesIn, tunnel.bytesOut], [27311, 14426]);
    const dialup = listed.sessions[2];
    assert.deepEqual([dialup.tunnelIp, dialup.durationSeconds, dialup.handle.ikeSa], ['10.212.140.10', 1130, '7d01eaf19d732e02/4b0d2cd61ab79746']);
    const from = emu.received.length;
    const r = await driver.revokeVpnSessions('adele.vance');
    assert.equal(r.revoked.length, 3);
    assert.deepEqual(since(emu.received, from), [
      'get vpn ssl monitor', 'diagnose vpn ike gateway list',
      // the index is read again right before each delete
      'get vpn ssl monitor', 'execute vpn sslvpn del-tunnel 0',
      'get vpn ssl monitor', 'execute vpn sslvpn del-web 0',
      // the instance is read again by name: still adele's, same IKE SA
      'diagnose vpn ike gateway list name FCT-Dialup_0', 'diagnose vpn ike gateway clear name FCT-Dialup_0',
      'get vpn ssl monitor', 'diagnose vpn ike gateway list',
    ]);
    assert.deepEqual(emu.state.sslvpn.logins.map((l) => l.user), ['megan.bowen']);
    assert.deepEqual(emu.state.sslvpn.tunnels, []);
    assert.deepEqual(emu.state.ipsec.dialup.map((g) => g.user), ['megan.bowen']);
  });

  it('reads the SSL-VPN index again before each del-tunnel: indexes renumber after a delete and an old index would cut somebody else', async () => {
    const row = (index: number, user: string, tunnelIp: string) => ({ index, user, group: 'SSLVPN-Users', sourceIp: user === 'megan.bowen' ? '198.51.100.23' : '203.0.113.7', duration: 60, bytesIn: 1, bytesOut: 2, tunnelIp });
    emu.state.sslvpn.tunnels = [row(0, 'adele.vance', '10.212.134.200'), row(1, 'adele.vance', '10.212.134.201'), row(2, 'megan.bowen', '10.212.134.202')];
    emu.state.sslvpn.logins = [];
    emu.state.ipsec.dialup = [];
    // What cutting by the indexes of ONE read does on this device: del 0, then del 1 — which,
    // after the renumbering, is megan's tunnel.
    const stale = new FortiOsCli(structuredClone(emu.state));
    stale.handle('execute vpn sslvpn del-tunnel 0');
    stale.handle('execute vpn sslvpn del-tunnel 1');
    assert.match(stale.handle('get vpn ssl monitor').output, /\b0\s+adele\.vance\b.*10\.212\.134\.201/, 'the old way leaves adele connected...');
    assert.doesNotMatch(stale.handle('get vpn ssl monitor').output, /megan/, '...and cuts megan');

    const r = await driver.revokeVpnSessions('adele.vance');
    assert.deepEqual(r.revoked.map((s) => s.tunnelIp), ['10.212.134.200', '10.212.134.201']);
    assert.deepEqual(r.skipped, []);
    assert.deepEqual(emu.state.sslvpn.tunnels.map((t) => [t.index, t.user]), [[0, 'megan.bowen']]);
    assert.deepEqual(emu.received.filter((l) => l.startsWith('execute')), ['execute vpn sslvpn del-tunnel 0', 'execute vpn sslvpn del-tunnel 0']);
  });

  it('does not clear a dial-up instance name that now belongs to another connection', async () => {
    emu.state.sslvpn = { logins: [], tunnels: [] };
    // Between the first read and the clear, adele's FCT-Dialup_0 goes away and megan reconnects under that name.
    const orig = emu.state.ipsec.dialup;
    let reads = 0;
    emu.state.ipsec = {
      get dialup() {
        if (++reads > 1 && orig[0]?.user === 'adele.vance') orig.splice(0, 1, { ...orig[1], name: 'FCT-Dialup_0', cookies: 'aaaa000000000001/bbbb000000000002' });
        return orig;
      },
    } as typeof emu.state.ipsec;
    const r = await driver.revokeVpnSessions('adele.vance');
    assert.deepEqual(r.revoked, []);
    assert.ok(!emu.received.some((l) => l.startsWith('diagnose vpn ike gateway clear')), 'nothing cleared');
    assert.equal(orig[0].user, 'megan.bowen');
  });

  it('fails, naming the instance, when a cleared dial-up instance is still listed', async () => {
    emu.state.sslvpn = { logins: [], tunnels: [] };
    const keep = [...emu.state.ipsec.dialup];
    // a device that answers `clear` without clearing
    const cli = FortiOsCli.prototype as unknown as { ikeGateway(t: string[]): string };
    const real = cli.ikeGateway;
    cli.ikeGateway = function (this: unknown, t: string[]) { return t[0] === 'clear' ? '' : real.call(this, t); };
    try {
      await assert.rejects(driver.revokeVpnSessions('adele.vance'), /1 session\(s\) of adele\.vance still listed after the cut: IKE gateway FCT-Dialup_0/);
    } finally { cli.ikeGateway = real; }
    assert.deepEqual(emu.state.ipsec.dialup, keep);
  });

  it('asks which policy matches each IP (iprope lookup, then the policy for its name and action)', async () => {
    await driver.close();
    driver = new FortiGateDriver(firewallConfig('fortigate', emu, { policyLookup: { sourceInterface: 'wan1', port: 443, protocol: 'tcp' } }), { secrets: fwSecrets });
    const q = (src: string, dst = '198.51.100.1', dstPort = 443) => ({ src: parseIp(src), dst: parseIp(dst), dstPort, protocol: 'tcp' as const });
    const r = await driver.matchedPolicy([q('203.0.113.7'), q('203.0.113.8', '198.51.100.1', 22), q(CONTOSO_V6)]);
    assert.deepEqual(r.matches.map((m) => [m.query.src, m.policyId, m.policyName, m.action, m.allows, m.implicit, m.context]), [
      ['203.0.113.7', '5', 'WAN-to-DMZ-HTTPS', 'accept', true, false, 'from wan1'],
      ['203.0.113.8', '0', 'implicit deny', 'deny', false, true, 'from wan1'],
    ]);
    assert.deepEqual(r.skipped.map((k) => [k.query.src, k.reason]), [[CONTOSO_V6, 'the FortiOS policy lookup (diagnose firewall iprope lookup) takes IPv4 flows only']]);
    assert.deepEqual(emu.received, [
      'diagnose firewall iprope lookup 203.0.113.7 0 198.51.100.1 443 tcp wan1',
      'show firewall policy 5',
      'diagnose firewall iprope lookup 203.0.113.8 0 198.51.100.1 22 tcp wan1',
    ]);
    // once blocked, the same flow meets the deny policy (shown without `set action`: deny is the default)
    await driver.blockIps([parseIp('203.0.113.7')], { incidentId: 'IR-1' });
    const after = await driver.matchedPolicy([q('203.0.113.7')]);
    assert.deepEqual(after.matches.map((m) => [m.policyId, m.policyName, m.action, m.allows]), [['1', 'IR-Block-deny', 'deny', false]]);
  });

  it('asks nothing when no source interface is configured, and says so', async () => {
    const r = await driver.matchedPolicy([{ src: parseIp('203.0.113.7'), dst: parseIp('198.51.100.1'), dstPort: 443, protocol: 'tcp' }]);
    assert.deepEqual(r.matches, []);
    assert.match(r.skipped[0].reason, /has no policyLookup\.sourceInterface configured/);
    assert.equal(emu.connections, 0);
  });

  it('reads the session table by source and destination, both families', async () => {
    const r = await driver.sessionTable([parseIp('203.0.113.7'), parseIp('2001:db8:bad:cafe::7')]);
    const flows = r.sessions.map((s) => `${s.proto} ${s.src}:${s.srcPort}->${s.dst}:${s.dstPort} ${s.durationSeconds}s ${s.bytesOriginal}/${s.bytesReply}`).sort();
    assert.deepEqual(flows, [
      '17 10.0.10.5:53->203.0.113.7:40000 12s 300/120'.replace('17', 'udp'),
      'tcp 2001:db8:bad:cafe::7:40111->2001:db8:c0::10:443 33s 5120/88000',
      'tcp 203.0.113.7:51234->198.51.100.1:443 1195s 27311/14426',
    ].sort());
    assert.ok(emu.received.includes('diagnose sys session filter dst 203.0.113.7'));
    assert.ok(emu.received.includes('diagnose sys session6 filter src 2001:db8:bad:cafe::7'));
    assert.equal(emu.received[emu.received.length - 1], 'diagnose sys session6 filter clear');
  });

  it('refuses to block, naming the group, when the block group does not exist', async () => {
    emu.state.addrgrp.delete('IR-Block');
    await assert.rejects(driver.blockIps([parseIp('203.0.113.7')], { incidentId: 'IR-1' }), /block group IR-Block does not exist in firewall addrgrp/);
  });

  it('quotes the FortiOS error line when a command is refused, and keeps the transcript', async () => {
    // A group without the placeholder member: taking out the last member is refused by FortiOS.
    emu.state.addrgrp.set('IR-Block', { member: [] });
    emu.state.address.set('IR-203.0.113.7', { subnet: '203.0.113.7 255.255.255.255' });
    emu.state.addrgrp.get('IR-Block')!.member.push('IR-203.0.113.7');
    await assert.rejects(driver.unblockIps([parseIp('203.0.113.7')]), (e: Error & { transcript?: { body: Buffer } }) => {
      assert.equal(e.message, `fortigate-test (127.0.0.1:${emu.port}) refused "next": "Attribute 'member' MUST be set." ("Command fail. Return code -56")`);
      assert.match(e.transcript!.body.toString(), /unselect member "IR-203\.0\.113\.7"\n.*# next\nAttribute 'member' MUST be set\./);
      return true;
    });
    assert.ok(emu.state.address.has('IR-203.0.113.7'), 'nothing deleted after the refusal');
  });

  it('enters the VDOM when one is configured', async () => {
    await driver.close();
    emu.state.vdoms = ['root', 'cust1'];
    driver = new FortiGateDriver(firewallConfig('fortigate', emu, { vdom: 'cust1' }), { secrets: fwSecrets });
    await driver.blockIps([parseIp('203.0.113.7')], { incidentId: 'IR-1' });
    assert.deepEqual(emu.received.slice(0, 3), ['config vdom', 'edit cust1', 'show firewall addrgrp IR-Block']);
    assert.equal(emu.received[emu.received.length - 1], 'end');
    assert.deepEqual(emu.state.addrgrp.get('IR-Block')!.member, ['none', 'IR-203.0.113.7']);
  });
});
