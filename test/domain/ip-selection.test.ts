import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AlertIp } from '../../src/domain/alert';
import { nonPublicReason, selectIpsToBlock } from '../../src/domain/ip-selection';
import { parseCidr, parseIp } from '../../src/domain/net';

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
    assert.match(why['192.168.1.9'], /private address \(192\.168\.0\.0\/16\)/);
    assert.match(why['203.0.113.7; rm -rf /'], /^not a valid IP address: /);
  });

  it('IPv6 forms that embed an IPv4 egress address are excluded as egress and shown as that IPv4', () => {
    const forms = ['::ffff:c633:6407', '::ffff:198.51.100.7', '::FFFF:C633:6407', '64:ff9b::c633:6407', '64:ff9b::198.51.100.7', '2002:c633:6407::1', '2002:c633:6407:1234::', '::198.51.100.7', '::ffff:0:198.51.100.7'];
    for (const f of forms) {
      const r = selectIpsToBlock([ip(f, 'malicious', ['attacker'])], policy);
      assert.deepEqual(r, { block: [], notBlocked: [{ ip: '198.51.100.7', reason: 'inside Contoso egress 198.51.100.0/24' }] }, f);
    }
    // a private IPv4 in NAT64 or 6to4 clothing is still private; a public one is blocked as IPv4
    assert.match(selectIpsToBlock([ip('64:ff9b::a01:203', 'malicious')], policy).notBlocked[0].reason, /private address \(10\.0\.0\.0\/8\)/);
    assert.match(selectIpsToBlock([ip('2002:7f00:1::', 'malicious')], policy).notBlocked[0].reason, /loopback/);
    assert.deepEqual(selectIpsToBlock([ip('::ffff:cb00:7107', 'malicious'), ip('203.0.113.7', 'malicious')], policy), { block: ['203.0.113.7'], notBlocked: [] });
    // an egress range written in an embedding form is the IPv4 range it names
    const v6written = { customerName: 'Contoso', egressRanges: ['::ffff:198.51.100.0/120', '2002:cb00:7100::/40'] };
    assert.deepEqual(selectIpsToBlock([ip('198.51.100.9', 'malicious'), ip('203.0.113.7', 'malicious')], v6written).block, []);
    // :: and ::1 are not IPv4-compatible forms
    assert.match(nonPublicReason(parseIp('::1'))!, /loopback address \(::1\/128\)/);
    assert.match(nonPublicReason(parseIp('::'))!, /unspecified/);
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

describe('net: IPv6 forms that embed IPv4', () => {
  it('parseIp returns the embedded IPv4 for every such form and leaves other IPv6 alone', () => {
    assert.equal(parseIp('::ffff:c633:6407'), '198.51.100.7');
    assert.equal(parseIp('64:ff9b::cb00:7107'), '203.0.113.7');
    assert.equal(parseIp('2002:cb00:7107::42'), '203.0.113.7');
    assert.equal(parseIp('2001:db8:bad:cafe::7'), '2001:db8:bad:cafe::7');
    assert.equal(parseIp('64:ff9b:1::cb00:7107'), '64:ff9b:1::cb00:7107', 'the local-use NAT64 prefix has no fixed place for the IPv4');
    assert.equal(parseIp('::1'), '::1');
  });

  it('property: any IPv4 in any embedding form parses to the same IPv4 (so one host is one decision)', () => {
    fc.assert(fc.property(fc.ipV4(), fc.integer({ min: 0, max: 0xffff }), (v4, tail) => {
      const b = v4.split('.').map(Number);
      const hex = `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
      const want = parseIp(v4);
      for (const form of [`::ffff:${v4}`, `::ffff:${hex}`, `64:ff9b::${hex}`, `2002:${hex}::${tail.toString(16)}`, `::ffff:0:${hex}`]) assert.equal(parseIp(form), want, form);
    }));
  });

  it('refuses an embedding range that would cover most of IPv4', () => {
    assert.throws(() => parseCidr('::ffff:0:0/96', 'egressRanges'), /egressRanges: "::ffff:0:0\/96" is an IPv4-mapped range covering \/0 of IPv4: write the IPv4 range itself/);
    assert.throws(() => parseCidr('64:ff9b::/96'), /NAT64 range covering \/0/);
    assert.deepEqual(parseCidr('2002:c633:6400::/40'), { network: [198, 51, 100, 0], prefix: 24, family: 4, text: '198.51.100.0/24' });
    assert.equal(parseCidr('2001:db8:c0::/48').family, 6);
  });
});
