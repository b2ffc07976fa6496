import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AlertIp } from '../../src/domain/alert';
import { nonPublicReason, selectIpsToBlock } from '../../src/domain/ip-selection';
import { parseIp } from '../../src/domain/net';

const ip = (ip: string, verdict: string | null, roles: string[] = []): AlertIp => ({ ip, verdict, roles, countryLetterCode: null });
const policy = { customerName: 'Contoso', egressRanges: ['198.51.100.0/24', '2001:db8:c0::/48'] };

describe('ip selection (which IPs to block)', () => {
  it('blocks suspicious, malicious and attacker-role IPs; explains every other one', () => {
    const r = selectIpsToBlock([
      ip('203.0.113.7', 'suspicious'),
      ip('203.0.113.8', 'unknown', ['Attacker']),
      ip('2001:DB8:BAD:CAFE:0:0:0:7', 'malicious'),
      ip('198.51.100.23', 'malicious', ['attacker']),
      ip('2001:db8:c0::5', 'suspicious'),
      ip('192.0.2.10', 'noThreatsFound', ['destination']),
      ip('10.1.2.3', 'malicious'),
      ip('127.0.0.1', 'malicious'),
      ip('169.254.1.1', 'suspicious'),
      ip('fe80::1', 'suspicious'),
      ip('::ffff:192.168.1.9', 'suspicious'),
      ip('203.0.113.7; rm -rf /', 'malicious'),
    ], policy);
    assert.deepEqual(r.block, ['203.0.113.7', '203.0.113.8', '2001:db8:bad:cafe::7']);
    const why = Object.fromEntries(r.notBlocked.map((n) => [n.ip, n.reason]));
    assert.equal(why['198.51.100.23'], 'inside Contoso egress 198.51.100.0/24');
    assert.equal(why['2001:db8:c0::5'], 'inside Contoso egress 2001:db8:c0::/48');
    assert.equal(why['192.0.2.10'], 'not marked suspicious by the alert');
    assert.equal(why['10.1.2.3'], 'a private address (10.0.0.0/8): never blocked at the perimeter');
    assert.equal(why['127.0.0.1'], 'a loopback address (127.0.0.0/8): never blocked at the perimeter');
    assert.equal(why['169.254.1.1'], 'a link-local address (169.254.0.0/16): never blocked at the perimeter');
    assert.equal(why['fe80::1'], 'a link-local address (fe80::/10): never blocked at the perimeter');
    assert.match(why['::ffff:c0a8:109'], /private address \(192\.168\.0\.0\/16\)/);
    assert.match(why['203.0.113.7; rm -rf /'], /^not a valid IP address: /);
  });

  it('the same IP twice is one decision, suspicious if any evidence says so', () => {
    const r = selectIpsToBlock([ip('203.0.113.7', null), ip('203.0.113.7', 'suspicious')], policy);
    assert.deepEqual(r, { block: ['203.0.113.7'], notBlocked: [] });
  });

  it('never blocks an address inside an egress range or a non-public one (property)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.ipV4(), fc.constantFrom('suspicious', 'malicious', null), fc.boolean()), { maxLength: 20 }), (items) => {
      const r = selectIpsToBlock(items.map(([a, v, att]) => ip(a, v, att ? ['attacker'] : [])), policy);
      for (const b of r.block) {
        assert.equal(nonPublicReason(parseIp(b)), null);
        assert.ok(!b.startsWith('198.51.100.'));
      }
      assert.equal(r.block.length + new Set(r.notBlocked.map((n) => n.ip)).size, new Set(items.map(([a]) => parseIp(a))).size);
    }));
  });
});
