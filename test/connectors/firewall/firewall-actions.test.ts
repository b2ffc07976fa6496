import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createFirewallActions, firewallActions } from '../../../src/connectors/firewall';
import type { ActionDef } from '../../../src/connectors/types';
import { CONTOSO, FABRIKAM } from '../../../src/sandbox/contoso';
import { contosoFortiGateState, startFortiOsEmulator, type FortiOsEmulator } from '../../../src/sandbox/fortios/fortios-emulator';
import { contosoPanOsState, startPanOsEmulator, type PanOsEmulator } from '../../../src/sandbox/panos/panos-emulator';
import { FW_USER, firewallConfig } from './helpers';
import { actionContext, customer } from './customers';

const action = (name: string): ActionDef<any, any> => firewallActions.find((a) => a.name === name)!;

// Every line the bot may send, per vendor. Anything else reaching a device is a bug.
const FORTIOS_LINES = [
  /^show firewall (addrgrp6?|address6?) [A-Za-z0-9.\-]+$/,
  /^config firewall (address6?|addrgrp6?)$/,
  /^edit "IR-[0-9a-f.\-]+"$/, /^edit "IR-Block6?"$/,
  /^set subnet (\d{1,3}\.){3}\d{1,3}\/32$/, /^set ip6 [0-9a-f:]+\/128$/,
  /^set comment "incident IR-20261127-7K3Q \(teams-ir-bot\)"$/,
  /^(next|end)$/, /^append member( "IR-[0-9a-f.\-]+")+$/,
  /^get vpn ssl monitor$/, /^execute vpn sslvpn del-(tunnel|web) \d+$/,
  /^diagnose sys session6? (filter (clear|(src|dst) [0-9a-f.:]+)|list)$/,
  // never a bare `clear` (that ends every tunnel of the device)
  /^diagnose vpn ike gateway (list|(list|clear) name [A-Za-z0-9._\-]+)$/,
  /^diagnose firewall iprope lookup (\d{1,3}\.){3}\d{1,3} 0 (\d{1,3}\.){3}\d{1,3} \d{1,5} (tcp|udp) wan1$/,
  /^show firewall policy \d+$/,
];
const PANOS_LINES = [
  /^set cli scripting-mode on$/, /^set cli pager off$/, /^configure$/, /^exit$/, /^commit partial admin ir-bot$/,
  /^show address-group IR-Block$/,
  /^set address IR-[0-9a-f.\-]+ ip-netmask [0-9a-f.:]+\/(32|128)$/,
  /^set address IR-[0-9a-f.\-]+ description "incident IR-20261127-7K3Q \(teams-ir-bot\)"$/,
  /^set address-group IR-Block static \[( IR-[0-9a-f.\-]+)+ \]$/,
  /^show global-protect-gateway current-user$/,
  // device names are double-quoted: no quote, backslash or control character inside
  /^request global-protect-gateway client-logout gateway "GP-GW-N" user "[^"\\\u0000-\u001f\u007f-\u009f\u2028\u2029]+" reason force-logout( computer "[^"\\\u0000-\u001f\u007f-\u009f\u2028\u2029]+")?$/,
  /^show session all filter (source|destination) [0-9a-f.:]+$/,
  /^test security-policy-match from untrust to trust source [0-9a-f.:]+ destination [0-9a-f.:]+ protocol (6|17) destination-port \d{1,5}$/,
];
const wellFormed = (lines: string[], allowed: RegExp[]) => lines.filter((l) => !allowed.some((re) => re.test(l)));

describe('firewall actions (FortiGate + PAN-OS emulators, production path)', function () {
  this.timeout(60_000);
  let fgt: FortiOsEmulator;
  let pan: PanOsEmulator;
  let fabrikamFgt: FortiOsEmulator;
  const contoso = () => customer(CONTOSO, [
    firewallConfig('fortigate', fgt, { id: 'contoso-fgt-1', policyLookup: { sourceInterface: 'wan1', destination: '198.51.100.1', port: 443, protocol: 'tcp' } }),
    firewallConfig('paloalto', pan, { id: 'contoso-pa-1', policyLookup: { fromZone: 'untrust', toZone: 'trust', destination: '198.51.100.1', port: 443, protocol: 'tcp' } }),
  ]);
  const fabrikam = () => customer(FABRIKAM, [firewallConfig('fortigate', fabrikamFgt, { id: 'fabrikam-fgt-1' })]);

  beforeEach(async () => {
    fgt = await startFortiOsEmulator({ users: [FW_USER], hostname: 'FGT-CONTOSO', state: contosoFortiGateState() });
    pan = await startPanOsEmulator({ users: [FW_USER], state: contosoPanOsState() });
    fabrikamFgt = await startFortiOsEmulator({ users: [FW_USER], hostname: 'FGT-FABRIKAM', state: contosoFortiGateState() });
  });
  afterEach(async () => { await Promise.all([fgt.close(), pan.close(), fabrikamFgt.close()]); });

  it('previews each IP x device, each VPN session to cut, the egress exclusion and the feed expiry', async () => {
    const input = action('firewall.block').input.parse({ ips: ['203.0.113.7', '198.51.100.23'], user: 'adele.vance', incidentId: 'IR-20261127-7K3Q' });
    const p = await action('firewall.block').preview!(input, actionContext(contoso()));
    assert.deepEqual(p.changes, [
      'Block 203.0.113.7 on contoso-fgt-1 (fortigate): address object IR-203.0.113.7 in group IR-Block, listed on the threat feed until 2026-12-04T09:00:00.000Z; the deny goes in front of rule 5 "WAN-to-DMZ-HTTPS" (accept), which lets 203.0.113.7 reach 198.51.100.1:443/tcp today',
      'Cut the SSL-VPN web login of adele.vance from 203.0.113.7 (index 0) on contoso-fgt-1',
      'Cut the SSL-VPN tunnel of adele.vance from 203.0.113.7 (index 0) on contoso-fgt-1',
      'Cut the IPsec dial-up connection of adele.vance from 203.0.113.7 (IKE gateway FCT-Dialup_0) on contoso-fgt-1',
      'Block 203.0.113.7 on contoso-pa-1 (paloalto): address object IR-203.0.113.7 in group IR-Block, listed on the threat feed until 2026-12-04T09:00:00.000Z; the deny goes in front of rule 2 "Inbound HTTPS to DMZ-web" (allow), which lets 203.0.113.7 reach 198.51.100.1:443/tcp today',
      'Cut the GlobalProtect session of adele.vance from 203.0.113.7 (gateway GP-GW-N, computer ADELE-LT01) on contoso-pa-1',
    ]);
    assert.deepEqual(p.notChanged, [{ item: '198.51.100.23', reason: "inside Contoso's own egress range 198.51.100.0/24" }]);
    assert.equal(p.nothingToDo, false);
    assert.equal(fgt.state.address.has('IR-203.0.113.7'), false, 'a preview changes nothing');
    assert.equal(pan.state.commits, 0);
  });

  it('blocks on every firewall of the customer, cuts the VPN sessions, and only touches that customer', async () => {
    // no threat feed in the context: the block returns the feed entries for the threatFeed.list step
    const block = action('firewall.block');
    const input = block.input.parse({ ips: ['203.0.113.7', CONTOSO.attackerIpv6], user: 'adele.vance@contoso.com', incidentId: 'IR-20261127-7K3Q' });
    const r = await block.run(input, actionContext(contoso())) as { output: any; summary: string; raw: any[] };
    assert.deepEqual(r.output.devices.map((d: any) => [d.firewallId, d.added, d.vpnSessionsCut.length]), [
      ['contoso-fgt-1', ['203.0.113.7', '2001:db8:bad:cafe::7'], 3],
      ['contoso-pa-1', ['203.0.113.7', '2001:db8:bad:cafe::7'], 1],
    ]);
    assert.equal(r.summary, 'Blocked 2 IP(s) on 2 firewall(s) (4 added, 0 already blocked); cut 4 VPN session(s) of adele.vance@contoso.com');
    assert.deepEqual(fgt.state.ipsec.dialup.map((g) => [g.name, g.user]), [['FCT-Dialup_1', 'megan.bowen']], "adele's dial-up instance is cleared, megan's stays");
    assert.deepEqual(fgt.state.addrgrp.get('IR-Block')!.member, ['none', 'IR-203.0.113.7']);
    assert.deepEqual(fgt.state.addrgrp6.get('IR-Block6')!.member, ['none', 'IR-2001-db8-bad-cafe--7']);
    assert.deepEqual(pan.state.running.addressGroup.get('IR-Block')!.static, ['IR-placeholder', 'IR-203.0.113.7', 'IR-2001-db8-bad-cafe--7']);
    assert.deepEqual(fgt.state.sslvpn.logins.map((l) => l.user), ['megan.bowen']);
    assert.deepEqual(pan.state.globalProtect.map((u) => u.user), ['megan.bowen']);
    assert.deepEqual(r.output.feedEntries, [
      { customerId: 'contoso', ip: '203.0.113.7', incidentId: 'IR-20261127-7K3Q', addedAt: '2026-11-27T09:00:00.000Z', expiresAt: '2026-12-04T09:00:00.000Z' },
      { customerId: 'contoso', ip: '2001:db8:bad:cafe::7', incidentId: 'IR-20261127-7K3Q', addedAt: '2026-11-27T09:00:00.000Z', expiresAt: '2026-12-04T09:00:00.000Z' },
    ]);
    assert.deepEqual(r.raw.map((x) => x.source), ['fortigate.cli', 'fortigate.cli', 'paloalto.cli', 'paloalto.cli']);
    assert.deepEqual(wellFormed(fgt.received, FORTIOS_LINES), []);
    assert.deepEqual(wellFormed(pan.received, PANOS_LINES), []);
    assert.equal(fabrikamFgt.connections, 0, "Fabrikam's firewall was never contacted");
    assert.equal(fabrikamFgt.received.length, 0);
  });

  it('is idempotent on a retry that may have run: nothing appended twice, no second commit', async () => {
    const input = action('firewall.block').input.parse({ ips: ['203.0.113.7'], incidentId: 'IR-20261127-7K3Q' });
    await action('firewall.block').run(input, actionContext(contoso()));
    const fFrom = fgt.received.length;
    const r = await action('firewall.block').run(input, actionContext(contoso(), { mayHaveRun: true }));
    assert.deepEqual(r.output.devices.map((d: any) => [d.added, d.alreadyBlocked]), [[[], ['203.0.113.7']], [[], ['203.0.113.7']]]);
    assert.deepEqual(fgt.received.slice(fFrom), ['show firewall addrgrp IR-Block']);
    assert.equal(fgt.received.filter((l) => l.startsWith('append member')).length, 1);
    assert.equal(pan.state.commits, 1);
  });

  it('fails the action with the device line quoted and names the firewall', async () => {
    pan.state.candidate.addressGroup.get('IR-Block')!.static.push('IR-ghost');
    const input = action('firewall.block').input.parse({ ips: ['203.0.113.7'], incidentId: 'IR-20261127-7K3Q' });
    await assert.rejects(action('firewall.block').run(input, actionContext(contoso())),
      /blocking failed on 1 of 2 firewall\(s\): contoso-pa-1: contoso-pa-1 \(127\.0\.0\.1:\d+\) refused "commit partial admin ir-bot": "Commit failed" .*IR-ghost.* \(done on contoso-fgt-1\)/);
  });

  it('lists VPN sessions and the session table across both vendors', async () => {
    const v = await action('firewall.vpnSessions').run({ user: 'adele.vance' }, actionContext(contoso()));
    assert.deepEqual(v.output.sessions.map((s: any) => `${s.firewallId} ${s.kind} ${s.sourceIp}`), [
      'contoso-fgt-1 sslvpn-web 203.0.113.7', 'contoso-fgt-1 sslvpn-tunnel 203.0.113.7', 'contoso-fgt-1 ipsec-dialup 203.0.113.7', 'contoso-pa-1 globalprotect 203.0.113.7',
    ]);
    const s = await action('firewall.sessions').run({ ips: ['203.0.113.7'] }, actionContext(contoso()));
    assert.equal(s.output.sessions.filter((x: any) => x.firewallId === 'contoso-fgt-1').length, 2);
    assert.equal(s.output.sessions.filter((x: any) => x.firewallId === 'contoso-pa-1').length, 2);
    assert.equal(s.raw.length, 2);
  });

  it('firewall.matchedPolicy: per IP per firewall the rule that lets it in, one line each for the timeline', async () => {
    const r = await action('firewall.matchedPolicy').run(action('firewall.matchedPolicy').input.parse({ ips: ['203.0.113.7', CONTOSO.attackerIpv6] }), actionContext(contoso()));
    assert.deepEqual(r.output.matches.map((m: any) => [m.firewallId, m.query.src, m.policyName, m.allows]), [
      ['contoso-fgt-1', '203.0.113.7', 'WAN-to-DMZ-HTTPS', true],
      ['contoso-pa-1', '203.0.113.7', 'Inbound HTTPS to DMZ-web', true],
    ]);
    assert.equal(r.summary, [
      '203.0.113.7 → 198.51.100.1:443/tcp on contoso-fgt-1 (from wan1): rule 5 "WAN-to-DMZ-HTTPS" (accept)',
      '203.0.113.7 → 198.51.100.1:443/tcp on contoso-pa-1 (from untrust to trust): rule 2 "Inbound HTTPS to DMZ-web" (allow)',
      '2001:db8:bad:cafe::7 on contoso-fgt-1: not looked up (the destination 198.51.100.1 is IPv4: no IPv6 flow to look up)',
      '2001:db8:bad:cafe::7 on contoso-pa-1: not looked up (the destination 198.51.100.1 is IPv4: no IPv6 flow to look up)',
    ].join('; '));
    const v6 = await action('firewall.matchedPolicy').run({ ips: [CONTOSO.attackerIpv6], destination: '2001:db8:c0::10' }, actionContext(contoso()));
    assert.deepEqual(v6.output.matches.map((m: any) => [m.firewallId, m.policyName]), [['contoso-pa-1', 'interzone-default']]);
    assert.match(v6.summary, /on contoso-fgt-1: not looked up \(the FortiOS policy lookup \(diagnose firewall iprope lookup\) takes IPv4 flows only\)/);
    assert.deepEqual(r.raw.map((x: any) => x.source), ['fortigate.cli', 'paloalto.cli']);
    assert.deepEqual(wellFormed(fgt.received, FORTIOS_LINES), []);
    assert.deepEqual(wellFormed(pan.received, PANOS_LINES), []);
    await assert.rejects(action('firewall.matchedPolicy').run({ ips: ['203.0.113.7'], destination: '198.51.100.1\nexecute reboot' }, actionContext(contoso())), /destination: not an IPv4 or IPv6 address/);
  });

  it('refuses an invalid IP or user with a clear error before any connection', async () => {
    for (const [name, input, msg] of [
      ['firewall.block', { ips: ['203.0.113.7\nexecute factoryreset'], incidentId: 'IR-1' }, /ips\.0: not an IPv4 or IPv6 address: "203\.0\.113\.7\\nexecute factoryreset"/],
      ['firewall.vpnSessions', { user: 'adele\nexecute shutdown' }, /user: not a usable user name \(contains a control character or line break: "adele\\nexecute shutdown"\)/],
      ['firewall.vpnSessions', { user: '  ' }, /user: not a usable user name \(empty\)/],
      ['firewall.sessions', { ips: ['10.0.0.1/8'] }, /not an IPv4 or IPv6 address/],
    ] as const) {
      await assert.rejects(action(name).run(input as any, actionContext(contoso())), msg);
    }
    assert.equal(fgt.connections + pan.connections, 0);
  });

  it("blocks the IPs whatever the user name: an apostrophe, DOMAIN\\user and non-ASCII are looked up, a line break only costs the VPN cut", async () => {
    fgt.state.sslvpn.tunnels.push({ index: 7, user: "CONTOSO\\o'brien", group: 'SSLVPN-Users', sourceIp: '203.0.113.7', duration: 60, bytesIn: 1, bytesOut: 2, tunnelIp: '10.212.134.201' });
    pan.state.globalProtect.push({ gateway: 'GP-GW-N', domain: 'contoso', user: "o'brien", computer: "O'Brien's MacBook Pro", client: 'macOS', privateIp: '10.31.32.50', publicIp: '203.0.113.7', loginTime: 'Nov.27 08:00:00' });
    const r = await action('firewall.block').run(action('firewall.block').input.parse({ ips: ['203.0.113.7'], user: "o'brien@contoso.com", incidentId: 'IR-20261127-7K3Q' }), actionContext(contoso()));
    assert.deepEqual(r.output.devices.map((d: any) => [d.firewallId, d.added, d.vpnSessionsCut.map((s: any) => s.user)]), [
      ['contoso-fgt-1', ['203.0.113.7'], ["CONTOSO\\o'brien"]],
      ['contoso-pa-1', ['203.0.113.7'], ["o'brien"]],
    ]);
    assert.deepEqual(r.output.skipped, []);
    assert.ok(pan.received.includes(`request global-protect-gateway client-logout gateway "GP-GW-N" user "o'brien" reason force-logout computer "O'Brien's MacBook Pro"`));
    assert.deepEqual(wellFormed(fgt.received, FORTIOS_LINES), []);
    assert.deepEqual(wellFormed(pan.received, PANOS_LINES), []);

    for (const user of ['CONTOSO\\adele.vance', 'Zoë.Æsir@contoso.com', 'adele"; execute shutdown']) {
      const ok = await action('firewall.block').run(action('firewall.block').input.parse({ ips: ['198.18.0.1'], user, incidentId: 'IR-20261127-7K3Q' }), actionContext(contoso()));
      assert.deepEqual(ok.output.skipped, [], user);
    }
    const bad = await action('firewall.block').run(action('firewall.block').input.parse({ ips: ['192.0.2.77'], user: 'adele\nexecute shutdown', incidentId: 'IR-20261127-7K3Q' }), actionContext(contoso()));
    assert.deepEqual(bad.output.devices.map((d: any) => d.added), [['192.0.2.77'], ['192.0.2.77']]);
    assert.equal(bad.output.skipped.length, 1);
    assert.match(bad.output.skipped[0].reason, /^VPN sessions not cut: user: not a usable user name \(contains a control character/);
    assert.match(bad.summary, /^Blocked 1 IP\(s\) on 2 firewall\(s\) \(2 added, 0 already blocked\); skipped 1: VPN sessions of "adele\\nexecute shutdown": VPN sessions not cut/);
    assert.ok(fgt.state.addrgrp.get('IR-Block')!.member.includes('IR-192.0.2.77'));
  });

  it('one GlobalProtect row PAN-OS cannot take is skipped with its reason on the timeline; the IPs and every other row are done', async () => {
    pan.state.globalProtect.push({ gateway: 'GP-GW-N', domain: 'contoso', user: 'adele.vance', computer: "Adele's MacBook Pro", client: 'macOS', privateIp: '10.31.32.51', publicIp: '203.0.113.7', loginTime: 'Nov.27 08:01:00' });
    // the device lists a second gateway's row whose name it cannot take back on a line
    pan.state.globalProtect.push({ gateway: 'GP"odd', domain: 'contoso', user: 'adele.vance', computer: 'ADELE-LT02', client: 'Windows', privateIp: '10.31.32.52', publicIp: '203.0.113.7', loginTime: 'Nov.27 08:02:00' });
    const r = await action('firewall.block').run(action('firewall.block').input.parse({ ips: ['203.0.113.7'], user: 'adele.vance@contoso.com', incidentId: 'IR-20261127-7K3Q' }), actionContext(contoso()));
    const pa = r.output.devices.find((d: any) => d.firewallId === 'contoso-pa-1');
    assert.deepEqual(pa.added, ['203.0.113.7']);
    assert.deepEqual(pa.vpnSessionsCut.map((s: any) => s.handle.computer), ['ADELE-LT01', "Adele's MacBook Pro"]);
    assert.deepEqual(r.output.skipped.map((k: any) => [k.firewallId, k.reason]), [['contoso-pa-1', 'gateway: contains a double quote or a backslash, which the PAN-OS CLI cannot quote: "GP\\"odd"']]);
    assert.match(r.summary, /cut 5 VPN session\(s\) of adele\.vance@contoso\.com; skipped 1: contoso-pa-1: GlobalProtect session of adele\.vance from 203\.0\.113\.7 \(gateway GP"odd, computer ADELE-LT02\): gateway: contains a double quote/);
    assert.deepEqual(wellFormed(pan.received, PANOS_LINES), []);
  });

  it('property: whatever an alert puts where an IP or a user goes, only well-formed lines reach the devices', async () => {
    const hostile = fc.constantFrom('\n', '\r', '"', "'", ';', ' ', '\u0000', '\u001b[A', '\\', '$(reboot)', '`id`', ' # ', '/32');
    const ipLike = fc.oneof(fc.ipV4(), fc.ipV6(), fc.tuple(fc.ipV4(), hostile).map(([a, b]) => a + b), fc.tuple(hostile, fc.ipV6()).map(([a, b]) => a + b), fc.string({ maxLength: 40 }));
    const userLike = fc.oneof(fc.constant('adele.vance'), fc.stringMatching(/^[a-z][a-z.]{0,12}$/), fc.tuple(fc.constant('adele'), hostile).map(([a, b]) => a + b), fc.string({ maxLength: 30 }));
    let valid = 0;
    await fc.assert(fc.asyncProperty(fc.array(ipLike, { minLength: 1, maxLength: 3 }), fc.option(userLike, { nil: undefined }), async (ips, user) => {
      const before = fgt.connections + pan.connections;
      const parsed = action('firewall.block').input.safeParse({ ips, user, incidentId: 'IR-20261127-7K3Q' });
      if (!parsed.success) {
        // only the IPs can make the block invalid: the user name is never a reason to block nothing
        assert.ok(parsed.error.issues.every((i) => i.path[0] === 'ips'), JSON.stringify(parsed.error.issues));
        await assert.rejects(action('firewall.block').run({ ips, user, incidentId: 'IR-20261127-7K3Q' } as any, actionContext(contoso())), /not an IPv4 or IPv6|Array must contain/);
        assert.equal(fgt.connections + pan.connections, before, 'no connection for an invalid input');
        return;
      }
      valid++;
      // Own-egress and every other valid address: run for real on both devices.
      const r = await action('firewall.block').run(parsed.data, actionContext(contoso()));
      if (user !== undefined && /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(user)) assert.match(r.output.skipped[0]?.reason ?? '', /^VPN sessions not cut/);
      assert.deepEqual(wellFormed(fgt.received, FORTIOS_LINES), []);
      assert.deepEqual(wellFormed(pan.received, PANOS_LINES), []);
    }), { numRuns: 60, seed: 20261127 });
    assert.ok(valid > 5, `the property exercised valid inputs too (${valid})`);
  });
});
