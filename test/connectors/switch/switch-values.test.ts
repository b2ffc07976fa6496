import assert from 'node:assert/strict';
import { formatMac, parseMac, parseSwitchPort } from '../../../src/connectors/switch/switch-values';

describe('switch port names and MACs from RADIUS', () => {
  it('normalises Cisco IOS port names from NAS-Port-Id to the full and short forms', () => {
    assert.deepEqual(parseSwitchPort('cisco-ios', 'GigabitEthernet1/0/12'), { kind: 'cisco-ios', full: 'GigabitEthernet1/0/12', short: 'Gi1/0/12' });
    assert.deepEqual(parseSwitchPort('cisco-ios', 'gi1/0/012'), { kind: 'cisco-ios', full: 'GigabitEthernet1/0/12', short: 'Gi1/0/12' });
    assert.equal(parseSwitchPort('cisco-ios', 'Twe1/0/17').full, 'TwentyFiveGigE1/0/17');
    assert.equal(parseSwitchPort('cisco-ios', 'TenGigabitEthernet2/0/39').short, 'Te2/0/39');
  });

  it('refuses anything outside the grammar, naming the field', () => {
    for (const bad of ['GigabitEthernet1/0/12 ; reload', 'Gi1/0/12\nshutdown', 'Port-channel1', 'Vlan20', 'Gi1/0/12.100', 'Foo1/0/1', '', '1/1/12']) {
      assert.throws(() => parseSwitchPort('cisco-ios', bad), /^InvalidInputError: nasPortId: not a Cisco IOS Ethernet port name/);
    }
    assert.throws(() => parseSwitchPort('cisco-ios', 42), /nasPortId: not a port name/);
  });

  it('AOS-CX: member/slot/port, split-port lane, nothing else', () => {
    assert.deepEqual(parseSwitchPort('aruba-aoscx', '1/1/12'), { kind: 'aruba-aoscx', full: '1/1/12', short: '1/1/12' });
    assert.equal(parseSwitchPort('aruba-aoscx', '1/1/49:1').full, '1/1/49:1');
    for (const bad of ['GigabitEthernet1/0/12', '1/1/12 ', 'lag1', '1/1/12;no page']) assert.throws(() => parseSwitchPort('aruba-aoscx', bad), /not an Aruba AOS-CX port name/);
  });

  it('reads the Calling-Station-Id spellings and writes each vendor format', () => {
    for (const s of ['3C-22-FB-12-34-56', '3c:22:fb:12:34:56', '3c22.fb12.3456', '3C22FB123456']) assert.equal(parseMac(s), '3c22fb123456');
    assert.equal(formatMac('cisco-ios', parseMac('3C-22-FB-12-34-56')), '3c22.fb12.3456');
    assert.equal(formatMac('aruba-aoscx', parseMac('3C-22-FB-12-34-56')), '3c:22:fb:12:34:56');
    for (const bad of ['3C-22-FB-12-34', '3C-22:FB-12-34-56', '3c22.fb12.345g', 'adele.vance']) assert.throws(() => parseMac(bad), /callingStationId: not a MAC address/);
  });
});
