import assert from 'node:assert/strict';
import { switchErrorLines } from '../../../src/connectors/switch/cli-output';
import { parseIosAuthSessions, parseIosCdpDetail, parseIosInterfaceStatus, parseIosLog, parseIosMacTable } from '../../../src/connectors/switch/ios-parse';
import { capture, truncated, withIosPager } from './fixtures';

describe('Cisco IOS parsers on real captured outputs', () => {
  describe('show authentication sessions ... details', () => {
    it('reads each session of the IOS-XE capture with its VLAN and the method that succeeded', () => {
      const s = parseIosAuthSessions(capture('cisco-ios', 'cisco_ios_show_authentication_sessions_method_mab_details_01.raw'));
      assert.deepEqual(s.map((x) => [x.interface, x.vlan]), [['TenGigabitEthernet2/0/39', '1133'], ['GigabitEthernet1/0/21', '1000'], ['GigabitEthernet2/0/1', '1133']]);
      assert.deepEqual(
        { interface: s[0].interface, mac: s[0].mac, userName: s[0].userName, ipv4: s[0].ipv4, status: s[0].status, authorised: s[0].authorised, domain: s[0].domain, vlan: s[0].vlan, method: s[0].method, sessionId: s[0].sessionId },
        { interface: 'TenGigabitEthernet2/0/39', mac: '0060aaaabbbb', userName: '00-60-AA-AA-BB-BB', ipv4: '10.11.11.117', status: 'Authorized', authorised: true, domain: 'VOICE', vlan: '1133', method: '802.1X', sessionId: '123414AC000066635A83835D' },
      );
      assert.equal(s[1].mac, '707db9aabbcc');
    });

    it('takes MAB as the method when dot1x stopped', () => {
      const [s] = parseIosAuthSessions(capture('cisco-ios', 'cisco_ios_show_authentication_sessions_method_mab_details_02.raw'));
      assert.equal(s.interface, 'GigabitEthernet1/0/31');
      assert.equal(s.method, 'MAB');
      assert.equal(s.vlan, '1011');
      assert.equal(s.userName, 'CC-96-AA-BB-CC-DD');
    });

    it('keeps the complete sessions of a truncated reply and drops the half-printed one', () => {
      const full = capture('cisco-ios', 'cisco_ios_show_authentication_sessions_method_mab_details_01.raw');
      const cut = full.slice(0, full.indexOf('Status:  Authorized', full.indexOf('GigabitEthernet1/0/21')));
      const s = parseIosAuthSessions(cut);
      assert.deepEqual(s.map((x) => x.interface), ['TenGigabitEthernet2/0/39']);
      assert.deepEqual(parseIosAuthSessions(truncated(full, 0.05)), []);
    });

    it('reads through a --More-- pager in the middle', () => {
      const full = capture('cisco-ios', 'cisco_ios_show_authentication_sessions_method_mab_details_02.raw');
      assert.deepEqual(parseIosAuthSessions(withIosPager(full, 8)), parseIosAuthSessions(full));
      assert.equal(parseIosAuthSessions(withIosPager(full, 8))[0].status, 'Authorized');
    });
  });

  describe('show mac address-table', () => {
    it('reads the Catalyst layout (Vlan Mac Address Type Ports)', () => {
      const e = parseIosMacTable(capture('cisco-ios', 'cisco_ios_show_mac-address-table6.raw'));
      assert.ok(e.length >= 6);
      assert.deepEqual(e.find((x) => x.mac === 'c869cd541f71'), { mac: 'c869cd541f71', vlan: '2', type: 'dynamic', port: 'Gi1/0/7' });
      assert.deepEqual(e.filter((x) => x.vlan === 'All').map((x) => x.port), ['CPU', 'CPU', 'CPU']);
    });

    it('reads the 6500 layouts (protocols column; learn and age columns with a * flag)', () => {
      const a = parseIosMacTable(capture('cisco-ios', 'cisco_ios_show_mac-address-table12.raw'));
      assert.deepEqual(a[2], { mac: '0012b67e1212', vlan: '10', type: 'dynamic', port: 'GigabitEthernet0/48' });
      const b = parseIosMacTable(capture('cisco-ios', 'cisco_ios_show_mac-address-table2.raw'));
      assert.deepEqual(b.find((x) => x.vlan === '777'), { mac: '000030a30167', vlan: '777', type: 'static', port: 'Router' });
      assert.deepEqual(parseIosMacTable(capture('cisco-ios', 'cisco_ios_show_mac-address-table9.raw'))[0], { mac: '000000004500', vlan: '75', type: 'dynamic', port: 'Te2/5/4' });
    });

    it('reads the 2900XL layout (VLAN after the type)', () => {
      const e = parseIosMacTable(capture('cisco-ios', 'cisco_ios_show_mac-address-table.raw'));
      assert.equal(e.length, 9);
      assert.deepEqual(e[1], { mac: '00107b001540', vlan: '2', type: 'dynamic', port: 'FastEthernet0/5' });
    });

    it('drops a row cut before its port', () => {
      const full = capture('cisco-ios', 'cisco_ios_show_mac-address-table6.raw');
      const cut = full.slice(0, full.indexOf('Gi1/0/7'));
      const e = parseIosMacTable(cut);
      assert.ok(!e.some((x) => x.mac === 'c869cd541f71'));
      assert.equal(e.length, 3);
    });
  });

  describe('show interfaces status', () => {
    it('cuts columns where the header puts them (names with spaces and keywords)', () => {
      const r = parseIosInterfaceStatus(capture('cisco-ios', 'cisco_ios_show_interfaces_status.raw'));
      assert.deepEqual(r.find((x) => x.port === 'Gi1/0/6'), { port: 'Gi1/0/6', description: 'Spaced Example', status: 'connected', linkUp: true, adminUp: true, vlan: '8', duplex: 'a-full', speed: 'a-100', type: '10/100/1000BaseTX' });
      assert.equal(r.find((x) => x.port === 'Gi1/0/7')!.vlan, 'trunk');
      const k = parseIosInterfaceStatus(capture('cisco-ios', 'cisco_ios_show_interfaces_status_with_keywords_in_name.raw'));
      assert.deepEqual(k.map((x) => [x.port, x.description, x.status]), [
        ['Fa0/1', '*** connected to U', 'notconnect'], ['Fa0/2', 'funky trunk port', 'notconnect'], ['Fa0/3', 'routed magic', 'notconnect'],
        ['Fa0/4', 'uplink', 'notconnect'], ['Fa0/5', 'downlink', 'notconnect'], ['Fa0/6', 'suspended customer', 'disabled'],
      ]);
      assert.equal(k[5].adminUp, false);
    });

    it('reads private-VLAN rows and two-letter-plus names', () => {
      const r = parseIosInterfaceStatus(capture('cisco-ios', 'cisco_ios_show_interfaces_status_pvlan.raw'));
      assert.equal(r.find((x) => x.port === 'Twe1/0/17')!.vlan, 'pvlan prom');
      assert.equal(r.find((x) => x.port === 'Twe1/0/4')!.vlan, '123,1234');
    });
  });

  describe('show logging | include', () => {
    it("keeps the port's link lines and nothing of another port", () => {
      const text = capture('cisco-ios', 'cisco_ios_show_logging_1.raw');
      const l = parseIosLog(text, 'GigabitEthernet2/0/3');
      assert.equal(l.length, 4);
      assert.deepEqual(l[2], { time: 'Jun 19 03:02:32', tag: 'LINK-3-UPDOWN', message: 'Interface GigabitEthernet2/0/3, changed state to down', raw: '022702: Jun 19 03:02:32: %LINK-3-UPDOWN: Interface GigabitEthernet2/0/3, changed state to down' });
      assert.deepEqual(parseIosLog(text, 'GigabitEthernet2/0/30'), []);
    });

    it('matches the short port name of 802.1X / MAB events', () => {
      const l = parseIosLog(capture('cisco-ios', 'cisco_ios_show_logging_4.raw'), 'GigabitEthernet8/39');
      assert.deepEqual(l.map((x) => x.tag), ['MAB-5-SUCCESS', 'AUTHMGR-5-FAIL', 'AUTHMGR-5-START']);
      assert.equal(l[0].time, 'Dec  4 11:01:38.694 EST');
    });
  });

  describe('show cdp neighbors detail', () => {
    it('reads each neighbour with its local and remote port', () => {
      const n = parseIosCdpDetail(capture('cisco-ios', 'cisco_ios_show_cdp_neighbors_detail.raw'));
      assert.ok(n.length >= 2);
      assert.deepEqual(n[0], { protocol: 'cdp', localPort: 'GigabitEthernet1/0/16', deviceId: 'desktop-switch', remotePort: 'GigabitEthernet0/1', address: '10.1.1.2', platform: 'cisco WS-C2960-8TC-L' });
      const [one] = parseIosCdpDetail(capture('cisco-ios', 'cisco_ios_show_cdp_neighbors_detail2.raw'));
      assert.deepEqual([one.deviceId, one.localPort, one.platform], ['switchxxxxx', 'GigabitEthernet0/3', 'cisco WS-C3560X-24P']);
    });
  });

  it("recognises IOS error lines (and not a normal reply)", () => {
    assert.deepEqual(switchErrorLines("show foo\n     ^\n% Invalid input detected at '^' marker.\n"), ["% Invalid input detected at '^' marker."]);
    assert.deepEqual(switchErrorLines('% Incomplete command.'), ['% Incomplete command.']);
    assert.deepEqual(switchErrorLines(capture('cisco-ios', 'cisco_ios_show_interfaces_status.raw')), []);
  });
});
