import assert from 'node:assert/strict';
import { FortiGateDriver } from '../../../src/connectors/fortigate/fortigate-driver';
import { parseIp } from '../../../src/domain/net';
import { contosoFortiGateState, startFortiOsEmulator, type FortiOsEmulator } from '../../../src/sandbox/fortios/fortios-emulator';
import { FW_USER, firewallConfig, fwSecrets, since } from '../firewall/helpers';

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

  it('lists and cuts the SSL-VPN sessions of one user only', async () => {
    const listed = await driver.listVpnSessions('adele.vance@contoso.com');
    assert.deepEqual(listed.sessions.map((s) => [s.kind, s.user, s.sourceIp, s.handle.index]), [
      ['sslvpn-web', 'adele.vance', '203.0.113.7', 0],
      ['sslvpn-tunnel', 'adele.vance', '203.0.113.7', 0],
    ]);
    const tunnel = listed.sessions[1];
    assert.equal(tunnel.tunnelIp, '10.212.134.200');
    assert.equal(tunnel.durationSeconds, 1195);
    assert.deepEqual([tunnel.bytesIn, tunnel.bytesOut], [27311, 14426]);
    const from = emu.received.length;
    const r = await driver.revokeVpnSessions('adele.vance');
    assert.equal(r.revoked.length, 2);
    assert.deepEqual(since(emu.received, from), ['get vpn ssl monitor', 'execute vpn sslvpn del-tunnel 0', 'execute vpn sslvpn del-web 0', 'get vpn ssl monitor']);
    assert.deepEqual(emu.state.sslvpn.logins.map((l) => l.user), ['megan.bowen']);
    assert.deepEqual(emu.state.sslvpn.tunnels, []);
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
