import assert from 'node:assert/strict';
import { parseAoscxInterface, parseAoscxLldp, parseAoscxLog, parseAoscxMacTable, parseAoscxPortAccessClients } from '../../../src/connectors/switch/aoscx-parse';
import { switchErrorLines } from '../../../src/connectors/switch/cli-output';
import { capture, truncated } from './fixtures';

const AOSCX_PAGER = '-- MORE --, next page: Space, next line: Enter, quit: Control-C';

describe('Aruba AOS-CX parsers on real captured outputs', () => {
  it('port-access client status: one session per client, with port, method and role', () => {
    const text = capture('aruba-aoscx', 'show_aaa_authentication_port-access_interface_all_client-status.raw');
    const c = parseAoscxPortAccessClients(text);
    assert.equal(c.length, 17);
    assert.deepEqual(c[0], { interface: '2/1/15', mac: '904c81cf1030', userName: 'ap-0148-0125', ipv4: undefined, method: 'MAC-auth', status: 'mac-auth Authenticated', authorised: true, vlan: undefined, role: 'dur_cx_ap-3116-4' });
    assert.equal(c.find((x) => x.mac === '002085e16e4e')!.userName, 'ups-0148-0003');
    // cut mid-client: the complete ones stay, the cut one (no status yet) is dropped
    const cut = text.slice(0, text.indexOf('Authentication Details', text.indexOf('Client 20:a6:cd:cf:6d:16')));
    assert.deepEqual(parseAoscxPortAccessClients(cut).map((x) => x.interface), ['2/1/15', '1/1/4']);
    // an AOS-CX pager in the middle changes nothing
    const paged = text.replace('    Port         : 1/1/4', `${AOSCX_PAGER}    Port         : 1/1/4`);
    assert.deepEqual(parseAoscxPortAccessClients(paged), c);
  });

  it('mac-address-table: colon MACs, VLAN, type and port', () => {
    const e = parseAoscxMacTable(capture('aruba-aoscx', 'show_mac-address-table.raw'));
    assert.equal(e.length, 6);
    assert.deepEqual(e[5], { mac: '805e0c76edbb', vlan: '2015', type: 'port-access-security', port: '1/1/30' });
    assert.deepEqual(e[0], { mac: '883a30a38680', vlan: '1', type: 'dynamic', port: 'lag100' });
  });

  it('show interface: link and admin state, link time, native VLAN, speed', () => {
    const r = parseAoscxInterface(capture('aruba-aoscx', 'show_interface1.raw'));
    const p = r.find((x) => x.port === '1/1/1')!;
    assert.deepEqual({ ...p }, { port: '1/1/1', description: 'Wifi', status: 'up', linkUp: true, adminUp: true, vlan: '2033', duplex: 'Full-duplex', speed: '100 Mb/s', type: '1GbT', linkState: 'up for 9 months (since Wed Jan 18 15:55:56 CET 2023)' });
    const down = parseAoscxInterface(capture('aruba-aoscx', 'show_interface3.raw')).find((x) => x.port === '1/1/1')!;
    assert.equal(down.linkUp, false);
    assert.equal(down.description, undefined);
    assert.equal(down.linkState, 'down for 14 hours (since Wed Jan 28 18:44:07 GMT 2026)');
    const eight = parseAoscxInterface(capture('aruba-aoscx', 'show_interface8.raw'));
    assert.deepEqual(eight.map((x) => [x.port, x.linkUp, x.description]), [['1/1/10', true, 'Loopback-cable-L3-In']]);
    assert.ok(parseAoscxInterface(truncated(capture('aruba-aoscx', 'show_interface1.raw'), 0.5)).length >= 1);
  });

  it('lldp neighbor-info: neighbour name (chassis or system name), address, remote port', () => {
    const n = parseAoscxLldp(capture('aruba-aoscx', 'show_lldp_neighbors-info_detail.raw'));
    assert.deepEqual(n[0], { protocol: 'lldp', localPort: '1/1/1', deviceId: 'ap-9999-335-fe', address: '10.252.99.12', platform: 'ArubaOS (MODEL: 335), Version Aruba AP', remotePort: '70:3a:0e:cd:41:fe' });
    const m = parseAoscxLldp(capture('aruba-aoscx', 'show_lldp_neighbors-info_detail_issue1453.raw'));
    assert.deepEqual([m[0].localPort, m[0].deviceId, m[0].address], ['1/1/10', 'SYSNAME_TEXT', '123.123.123.123']);
  });

  it('logging: only lines of the port itself (1/1/1 is not 1/1/12) — documented layout, no real capture', () => {
    const text = [
      '2026-11-27T08:41:02.118+00:00 sw-lis-4 intfd[1633]: Event|403|LOG_INFO|AMM|1/1|Link status for interface 1/1/12 is up',
      '2026-11-27T08:41:03.001+00:00 sw-lis-4 intfd[1633]: Event|403|LOG_INFO|AMM|1/1|Link status for interface 1/1/1 is up',
    ].join('\n');
    const l = parseAoscxLog(text, '1/1/12');
    assert.deepEqual(l.map((x) => [x.time, x.tag, x.message]), [['2026-11-27T08:41:02.118+00:00', 'Event|403|LOG_INFO|AMM|1/1', 'Link status for interface 1/1/12 is up']]);
  });

  it('recognises AOS-CX error lines', () => {
    assert.deepEqual(switchErrorLines('Invalid input: foo'), ['Invalid input: foo']);
    assert.deepEqual(switchErrorLines(capture('aruba-aoscx', 'show_interface1.raw')), []);
  });
});
