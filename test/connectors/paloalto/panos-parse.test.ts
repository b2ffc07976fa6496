import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSecurityPolicyMatch } from '../../../src/connectors/paloalto/panos-parse';
import { PanOsCli, contosoPanOsState } from '../../../src/sandbox/panos/panos-emulator';

// Real capture, source in test/fixtures/panos/SOURCES.md.
const fixture = (name: string) => readFileSync(join(__dirname, '../../fixtures/panos', name), 'utf8');

describe('PAN-OS test security-policy-match parser', () => {
  it('reads the rules of the ntc-templates capture in order, names with spaces included', () => {
    assert.deepEqual(parseSecurityPolicyMatch(fixture('test-security-policy-match.txt')), [
      { name: 'Allow 10.125.100.58-To-Google DNS', index: 1, action: 'allow', from: 'Internal', to: 'External' },
      { name: 'Allow 10.125.100.58-To-1.1.1.1', index: 2, action: 'allow', from: 'Internal', to: 'External' },
    ]);
  });

  it('reads nothing from an empty answer or an error', () => {
    assert.deepEqual(parseSecurityPolicyMatch(''), []);
    assert.deepEqual(parseSecurityPolicyMatch('Invalid syntax.'), []);
  });

  it('the emulator answers in the capture layout: first match, the deny once the IP is in IR-Block', () => {
    const state = contosoPanOsState();
    const cli = new PanOsCli(state, 'ir-bot');
    const ask = 'test security-policy-match from untrust to trust source 203.0.113.7 destination 198.51.100.1 protocol 6 destination-port 443';
    const out = cli.handle(ask).output;
    const key = (t: string) => t.split('\n').map((l) => l.trim().split(/[ :]/)[0]);
    assert.deepEqual(key(out).slice(1), key(fixture('test-security-policy-match.txt').split('\n\n')[0]).slice(1));
    assert.deepEqual(parseSecurityPolicyMatch(out).map((r) => [r.name, r.index, r.action]), [['Inbound HTTPS to DMZ-web', 2, 'allow']]);
    state.running.address.set('IR-203.0.113.7', { ipNetmask: '203.0.113.7/32' });
    state.running.addressGroup.get('IR-Block')!.static.push('IR-203.0.113.7');
    assert.deepEqual(parseSecurityPolicyMatch(cli.handle(ask).output).map((r) => [r.name, r.action]), [['IR-Block-deny', 'deny']]);
    assert.equal(cli.handle(ask.replace('203.0.113.7', '203.0.113.9').replace('443', '22')).output, '', 'no rule: nothing printed');
    assert.equal(cli.handle('test security-policy-match source 203.0.113.7; reboot').output, 'Invalid syntax.');
  });
});
