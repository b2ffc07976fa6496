import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseIkeGateways, parseIpropeLookup, parsePolicy } from '../../../src/connectors/fortigate/fortios-parse';
import { FortiOsCli, contosoFortiGateState } from '../../../src/sandbox/fortios/fortios-emulator';

// Real captures, sources in test/fixtures/fortios/SOURCES.md.
const fixture = (name: string) => readFileSync(join(__dirname, '../../fixtures/fortios', name), 'utf8');

describe('FortiOS parsers on real captured output', () => {
  it('reads an IKEv1 XAuth dial-up instance from a FortiOS 7.6 `diagnose vpn ike gateway list`', () => {
    assert.deepEqual(parseIkeGateways(fixture('ike-gateway-list-xauth-7.6.txt')), [{
      name: 'test-p1_0', user: 'testuser', remoteIp: '192.168.171.129', assignedIp: '10.10.10.10', createdSeconds: 696, ikeSa: '7d01eaf19d732e02/4b0d2cd61ab79746',
    }]);
  });

  it('reads an IKEv2 EAP user (over TCP) and the 7.4 guide layout with `->` glued to the address', () => {
    assert.deepEqual(parseIkeGateways(fixture('ike-gateway-list-eap-tcp.txt')), [{
      name: 'v2_psk-120_0', user: 'ipsec', remoteIp: '10.152.35.193', assignedIp: '9.5.6.7', createdSeconds: 592, ikeSa: '93b6803bff7cff00/f89d6f9965fbf3a7',
    }]);
    assert.deepEqual(parseIkeGateways(fixture('ike-gateway-list-xauth-7.4-guide.txt')).map((g) => [g.name, g.user, g.remoteIp, g.ikeSa]), [
      ['for_client_0', 'vpnuser1', '172.20.120.254', 'b40a32d878d5e262/8bba553563a498f4'],
    ]);
  });

  it('leaves out gateways without a user (site-to-site) and keeps several blocks apart', () => {
    const siteToSite = 'vd: root/0\nname: to-branch\nversion: 1\ninterface: port1 3\naddr: 10.0.0.1:500 -> 10.0.0.2:500\ncreated: 50s ago\n';
    const both = `${siteToSite}\n${fixture('ike-gateway-list-xauth-7.4-guide.txt')}\n${fixture('ike-gateway-list-eap-tcp.txt')}`;
    assert.deepEqual(parseIkeGateways(both).map((g) => g.name), ['for_client_0', 'v2_psk-120_0']);
    assert.deepEqual(parseIkeGateways(''), []);
  });

  it('the emulator prints dial-up instances in a layout the real-capture parser reads the same way', () => {
    const cli = new FortiOsCli(contosoFortiGateState());
    const out = cli.handle('diagnose vpn ike gateway list').output;
    // same field order as the 7.6 capture, up to the first user line
    const keys = (t: string) => t.split('\n').filter((l) => /^[a-z0-9]/i.test(l)).map((l) => l.split(':')[0]);
    assert.deepEqual(keys(out).slice(0, 11), keys(fixture('ike-gateway-list-xauth-7.6.txt')).slice(1, 12));
    assert.deepEqual(parseIkeGateways(out).map((g) => [g.name, g.user, g.remoteIp]), [['FCT-Dialup_0', 'adele.vance', '203.0.113.7'], ['FCT-Dialup_1', 'megan.bowen', '198.51.100.23']]);
  });

  it('reads the policy id of `diagnose firewall iprope lookup`, names or numbers as protocol', () => {
    const lines = fixture('iprope-lookup.txt').split('\n').filter((l) => l.startsWith('<'));
    assert.deepEqual(lines.map(parseIpropeLookup), [0, 2, 1]);
    assert.equal(parseIpropeLookup("command parse error before 'x'"), undefined);
  });

  it('reads name and action from `show firewall policy`; no `set action` is the default deny', () => {
    const show = fixture('show-firewall-policy.txt');
    assert.deepEqual(parsePolicy(show, 2), { name: 'any-allow', action: 'accept' });
    assert.deepEqual(parsePolicy(show, 1), { name: 'clientToServer', action: 'accept' });
    assert.equal(parsePolicy(show, 3), undefined);
    assert.deepEqual(parsePolicy('config firewall policy\n    edit 4\n        set name "drop it"\n        set srcaddr "all"\n    next\nend', 4), { name: 'drop it', action: 'deny' });
  });
});
