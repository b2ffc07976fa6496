import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson, computeEventHash, GENESIS_HASH, verifyChain, type HashableTimelineEvent } from '../../src/domain/timeline-hash';

function chain(n: number): Array<HashableTimelineEvent & { hash: string }> {
  const out: Array<HashableTimelineEvent & { hash: string }> = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const e = { incidentId: 'IR-20261127-7K3Q', seq, at: '2026-11-27T09:15:00.000Z', source: 'bot', kind: 'k', summary: `event ${seq}`,
      sourceTime: null, actor: null, data: { seq }, prevHash };
    const hash = computeEventHash(e);
    out.push({ ...e, hash });
    prevHash = hash;
  }
  return out;
}

describe('timeline hash chain (pure)', () => {
  it('canonicalJson sorts keys at every depth and matches JSON.stringify otherwise', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: null } }), '{"a":{"c":null,"d":[3,{"z":1}]},"b":1}');
    assert.equal(canonicalJson([undefined, NaN, new Date('2026-01-01T00:00:00.000Z')]), '[null,null,"2026-01-01T00:00:00.000Z"]');
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      assert.deepEqual(JSON.parse(canonicalJson(v)), JSON.parse(JSON.stringify(v)));
    }));
  });

  it('canonicalJson does not depend on key insertion order', () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
      const reversed = Object.fromEntries(Object.entries(obj).reverse());
      assert.equal(canonicalJson(reversed), canonicalJson(obj));
    }));
  });

  it('hash = sha256(prevHash + canonical JSON of the event without hash), genesis is 64 zeros', () => {
    const [first] = chain(1);
    assert.equal(first.prevHash, '0'.repeat(64));
    const { hash, ...rest } = first;
    assert.equal(hash, createHash('sha256').update(first.prevHash + canonicalJson(rest)).digest('hex'));
    // extra properties are not part of the hash
    assert.equal(computeEventHash({ ...rest, extra: 1 } as HashableTimelineEvent), hash);
  });

  it('verifyChain accepts an intact chain and names the first broken seq', () => {
    assert.deepEqual(verifyChain(chain(5)), { ok: true });
    assert.deepEqual(verifyChain([]), { ok: true });

    const edited = chain(5);
    edited[2] = { ...edited[2], summary: 'event 3!' };
    assert.deepEqual(verifyChain(edited), { ok: false, seq: 3, reason: 'hash does not match the content: the event was changed after it was recorded' });

    const rehashed = chain(5);
    rehashed[1] = { ...rehashed[1], summary: 'forged' };
    rehashed[1].hash = computeEventHash(rehashed[1]); // a forger who recomputes one hash breaks the next link
    const verdict = verifyChain(rehashed);
    assert.equal(verdict.ok, false);
    assert.equal(!verdict.ok && verdict.seq, 3);

    const gap = chain(5);
    gap.splice(1, 1);
    assert.equal((verifyChain(gap) as { seq: number }).seq, 3);
  });
});
