import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSid, sidFromBuffer, sidToBuffer, splitSid } from '../../../src/connectors/active-directory/sid';

describe('SIDs', () => {
  it('encodes BUILTIN\\Administrators as the bytes Windows uses', () => {
    assert.equal(sidToBuffer('S-1-5-32-544').toString('hex'), '010200000000000520000000' + '20020000');
    assert.equal(sidFromBuffer(Buffer.from('01020000000000052000000020020000', 'hex')), 'S-1-5-32-544');
  });

  it('round-trips any valid SID', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 15 }), (auth, subs) => {
      const sid = `S-1-${auth}-${subs.join('-')}`;
      assert.equal(sidFromBuffer(sidToBuffer(sid)), sid);
    }));
  });

  it('normalises case and refuses what is not a SID', () => {
    assert.equal(parseSid('s-1-5-21-1-2-3-1112'), 'S-1-5-21-1-2-3-1112');
    for (const bad of ['', 'S-1-5', 'S-2-5-21-1', 'S-1-5-21-abc', 'S-1-5-21-4294967296', 'S-1-5-21-1)(objectSid=*', '*', 'S-1-5-21-1\0', 42, null]) {
      assert.throws(() => parseSid(bad), /not a SID/, String(bad));
    }
    assert.throws(() => sidFromBuffer(Buffer.from('0105', 'hex')), /not a SID/);
  });

  it('splits an account SID into domain and RID', () => {
    assert.deepEqual(splitSid('S-1-5-21-1-2-3-512'), { domainSid: 'S-1-5-21-1-2-3', rid: 512 });
  });
});
